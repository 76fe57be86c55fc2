//! The JSON report: `{"machine": {...}, "rows": [{...}, ...]}`, the format
//! other tools and checks read. Optional fields are left out, not null.

use std::path::Path;

use super::Report;

/// Writes `report` to `path` (pretty-printed), creating parent folders.
pub(crate) fn write(report: &Report, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::Row;
    use super::*;
    use crate::machine::Machine;
    use serde_json::Value;

    fn report() -> Report {
        let row = |p99_ns| Row {
            experiment: "idgen".into(),
            case: "next".into(),
            impl_name: "baton".into(),
            threads: 8,
            ops_per_sec: 2e8,
            ns_per_op: 5.0,
            p99_ns,
            ..Row::default()
        };
        Report {
            machine: Machine {
                cores: 2,
                cpu_model: "cpu".into(),
                os: "os".into(),
                rustc: "rustc 1.0".into(),
            },
            rows: vec![row(None), row(Some(40.0))],
        }
    }

    #[test]
    fn field_names_are_exact_and_absent_options_omitted() {
        let v: Value = serde_json::to_value(report()).unwrap();
        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&v), ["machine", "rows"]);
        assert_eq!(keys(&v["machine"]), ["cores", "cpu_model", "os", "rustc"]);
        assert_eq!(
            keys(&v["rows"][0]),
            [
                "case",
                "experiment",
                "impl",
                "ns_per_op",
                "ops_per_sec",
                "threads"
            ]
        );
        assert_eq!(
            keys(&v["rows"][1]),
            [
                "case",
                "experiment",
                "impl",
                "ns_per_op",
                "ops_per_sec",
                "p99_ns",
                "threads"
            ]
        );
        assert_eq!(v["rows"][0]["impl"], "baton");
        assert_eq!(v["rows"][0]["threads"], 8);
    }

    #[test]
    fn loaded_rows_carry_load_and_loaded_vs_quiet() {
        let mut r = report();
        r.rows[1].load = Some(2);
        r.rows[1].loaded_vs_quiet = Some(0.5);
        let v: Value = serde_json::to_value(&r).unwrap();
        assert!(
            v["rows"][0].get("load").is_none(),
            "quiet rows have no load"
        );
        assert_eq!(v["rows"][1]["load"], 2);
        assert_eq!(v["rows"][1]["loaded_vs_quiet"], 0.5);
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn round_trips_through_a_file() {
        let path = std::env::temp_dir()
            .join(format!("baton-lab-json-{}", std::process::id()))
            .join("r.json");
        write(&report(), &path).unwrap();
        let back: Report = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, report());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
