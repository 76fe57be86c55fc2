//! Finding a Go toolchain (>= 1.21) for the Go peers, or installing one.
//!
//! Search order: `$BATON_GO`, then `go` on `PATH`, then Debian's versioned
//! packages (`/usr/lib/go-1.NN/bin/go`, newest first), which install there
//! without touching `PATH`. Every `go` command runs with an environment that
//! needs no network and no home directory (see [`configure`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest Go minor version the harness builds with (`go 1.21` in go.mod).
const MIN_MINOR: u32 = 21;

/// The install script, found through the source tree the lab was built from.
const INSTALL_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/install-go.sh");

/// A usable `go` binary.
#[derive(Clone, Debug)]
pub(crate) struct Toolchain {
    pub(crate) go: PathBuf,
    /// `go env GOVERSION`, e.g. `go1.23.4`.
    pub(crate) version: String,
}

/// Sets the environment every `go` command of the lab runs with: the local
/// toolchain only (`GOTOOLCHAIN=local`: never download another), no module
/// proxy (`GOPROXY=off`; the harness is stdlib only), a build cache under
/// `work`, and a `GOPATH` there too when there is no home directory to
/// default to (CI may run without `HOME`).
pub(crate) fn configure(cmd: &mut Command, work: &Path) {
    cmd.env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOCACHE", work.join("go-cache"));
    let no_home = std::env::var_os("HOME").map_or(true, |h| h.is_empty());
    if no_home && std::env::var_os("GOPATH").is_none() {
        cmd.env("GOPATH", work.join("go-path"));
    }
}

/// The first usable Go in the search order, or why there is none.
pub(crate) fn find(work: &Path) -> Result<Toolchain, String> {
    let mut notes = Vec::new();
    if let Some(go) = std::env::var_os("BATON_GO").filter(|g| !g.is_empty()) {
        match check(Path::new(&go), work) {
            Ok(t) => return Ok(t),
            Err(e) => notes.push(format!("$BATON_GO: {e}")),
        }
    }
    for go in on_path("go").into_iter().chain(debian_versions()) {
        match check(&go, work) {
            Ok(t) => return Ok(t),
            Err(e) => notes.push(e),
        }
    }
    if notes.is_empty() {
        notes.push("no Go found".to_owned());
    }
    Err(notes.join("; "))
}

/// Whether this process may install Go itself: running as root on a system
/// with apt-get, and the install script is where the build left it.
pub(crate) fn can_install() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0");
    root && on_path("apt-get").is_some() && Path::new(INSTALL_SCRIPT).exists()
}

/// Runs `scripts/install-go.sh` (which prints the `go` path last).
pub(crate) fn install(work: &Path) -> Result<Toolchain, String> {
    let out = Command::new("bash")
        .arg(INSTALL_SCRIPT)
        .output()
        .map_err(|e| format!("could not run {INSTALL_SCRIPT}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("install-go.sh failed: {}", last_line(&err)));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    check(Path::new(last_line(&stdout)), work)
}

/// Asks `go` its version and accepts it if it is new enough.
fn check(go: &Path, work: &Path) -> Result<Toolchain, String> {
    let mut cmd = Command::new(go);
    cmd.args(["env", "GOVERSION"]);
    configure(&mut cmd, work);
    let out = cmd.output().map_err(|e| format!("{}: {e}", go.display()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    match minor(&version) {
        Some(m) if out.status.success() && m >= MIN_MINOR => Ok(Toolchain {
            go: go.to_owned(),
            version,
        }),
        _ => Err(format!(
            "{} is {} (need go1.{MIN_MINOR} or newer)",
            go.display(),
            if version.is_empty() {
                "unusable"
            } else {
                &version
            }
        )),
    }
}

/// `go1.23.4` -> `Some(23)`; Go 2 would also do.
fn minor(version: &str) -> Option<u32> {
    let rest = version.strip_prefix("go")?;
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    Some(if major > 1 { u32::MAX } else { minor })
}

/// Debian's `/usr/lib/go-1.NN/bin/go`, newest first.
fn debian_versions() -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let minor: u32 = name.to_str()?.strip_prefix("go-1.")?.parse().ok()?;
            let go = entry.path().join("bin/go");
            go.exists().then_some((minor, go))
        })
        .collect();
    found.sort_by_key(|(minor, _)| std::cmp::Reverse(*minor));
    found.into_iter().map(|(_, go)| go).collect()
}

/// `name` on `PATH`, if there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn last_line(s: &str) -> &str {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn parses_go_versions() {
        assert_eq!(minor("go1.23.4"), Some(23));
        assert_eq!(minor("go1.21rc2"), Some(21));
        assert_eq!(minor("go1.19"), Some(19));
        assert_eq!(minor("devel"), None);
        assert_eq!(minor(""), None);
    }

    #[test]
    fn last_line_skips_blank_tail() {
        assert_eq!(last_line("a\n/usr/bin/go\n\n"), "/usr/bin/go");
        assert_eq!(last_line(""), "");
    }
}
