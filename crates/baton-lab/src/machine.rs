//! The machine a report was measured on: figures mean little without it.

use serde::{Deserialize, Serialize};

/// The `machine` object of the JSON report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Machine {
    /// Cores this process may use (`available_parallelism`).
    pub(crate) cores: usize,
    /// The CPU's model name, as the OS reports it.
    pub(crate) cpu_model: String,
    /// Operating system, release and kernel.
    pub(crate) os: String,
    /// The compiler that built the lab (`rustc -V`, taken at build time).
    pub(crate) rustc: String,
}

impl Machine {
    /// Describes the machine this process runs on.
    pub(crate) fn detect() -> Self {
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_owned()),
            os: os(),
            rustc: env!("BATON_LAB_RUSTC").to_owned(),
        }
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            matches!(key.trim(), "model name" | "Processor" | "cpu model")
                .then(|| value.trim().to_owned())
        })
        .filter(|model| !model.is_empty())
}

fn os() -> String {
    let name = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|release| {
            release.lines().find_map(|line| {
                let value = line.strip_prefix("PRETTY_NAME=")?;
                Some(value.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    match std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        Ok(kernel) => format!("{name}, kernel {}", kernel.trim()),
        Err(_) => name,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn detect_fills_every_field() {
        let m = Machine::detect();
        assert!(m.cores >= 1);
        assert!(!m.cpu_model.is_empty());
        assert!(!m.os.is_empty());
        assert!(m.rustc.starts_with("rustc "), "{}", m.rustc);
    }
}
