//! Reading a system tree as if it were `/`: os-release, the OS package database (dpkg, apk,
//! rpm) with its damage reported, and the lock files below an --app-path.

use super::{human_bytes, tail, DPKG_STATUS, MAX_INVENTORY_BYTES};
use anyhow::{bail, Context, Result};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use vigil_collect::{os, packages};
use vigil_model::Package;
use vigil_vuln::lockfiles::LockfileKind;
use vigil_vuln::{Ecosystem, Family};

const APK_INSTALLED: &str = "lib/apk/db/installed";
/// Directory levels searched below an --app-path.
const LOCKFILE_DEPTH: usize = 8;
/// Directory entries looked at per --app-path, so a huge tree cannot stall the scan.
const MAX_WALK_ENTRIES: usize = 500_000;

pub(super) use vigil_agent::tree::resolve_in_root;

/// Reads at most `cap` bytes; a longer file is an error rather than a silently cut one.
pub(super) fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let f = fs::File::open(path)?;
    let mut bytes = Vec::new();
    f.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::other(format!(
            "larger than {}",
            human_bytes(cap)
        )));
    }
    Ok(bytes)
}

/// A file of the tree at `root`; `None` when it does not exist.
fn read_in_root(root: &Path, rel: &str, cap: u64) -> Result<Option<Vec<u8>>> {
    let shown = root.join(rel);
    let path = match resolve_in_root(root, rel) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", shown.display())),
    };
    if path.is_dir() {
        bail!("{} is a directory", shown.display());
    }
    read_capped(&path, cap)
        .map(Some)
        .with_context(|| format!("reading {}", shown.display()))
}

pub(super) fn read_os_release(root: &Path) -> Result<Option<os::OsRelease>> {
    for rel in ["etc/os-release", "usr/lib/os-release"] {
        if let Some(bytes) = read_in_root(root, rel, 1 << 20)? {
            let parsed = os::os_release(&String::from_utf8_lossy(&bytes));
            return Ok(Some(parsed.value));
        }
    }
    Ok(None)
}

/// The package name of the dpkg stanza that contains 1-based `line`.
fn stanza_package(text: &str, line: usize) -> Option<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = line.saturating_sub(1).min(lines.len());
    while start > 0 && !lines[start - 1].trim().is_empty() {
        start -= 1;
    }
    lines[start..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("Package").then(|| v.trim())
        })
        .filter(|p| !p.is_empty())
}

/// What is wrong with a dpkg status file, one line per problem: skipped entries with their line
/// and package, and a file that ends mid-line (dpkg always ends it with a newline).
pub(super) fn dpkg_problems(
    file: &str,
    text: &str,
    parsed: &vigil_collect::Parsed<Vec<Package>>,
) -> Vec<String> {
    let mut out = Vec::new();
    if text.trim().is_empty() {
        out.push(format!(
            "{file}: empty: the dpkg database lists no package at all (truncated?)"
        ));
        return out;
    }
    let entry = |line: usize| match stanza_package(text, line) {
        Some(p) => format!("{file}:{line} (package {p})"),
        None => format!("{file}:{line}"),
    };
    for s in &parsed.skipped {
        out.push(format!("{}: {}", entry(s.line), s.reason));
    }
    if parsed.skipped_total > parsed.skipped.len() {
        out.push(format!(
            "{file}: {} more damaged entries",
            parsed.skipped_total - parsed.skipped.len()
        ));
    }
    if !text.ends_with('\n') {
        let last = text.lines().count();
        out.push(format!(
            "{}: the file ends in the middle of a line: truncated? (that entry may be incomplete)",
            entry(last)
        ));
    }
    out
}

fn line_problems(file: &str, parsed_total: usize, skipped: &[vigil_collect::Skip]) -> Vec<String> {
    let mut out: Vec<String> = skipped
        .iter()
        .map(|s| format!("{file}:{}: {}", s.line, s.reason))
        .collect();
    if parsed_total > skipped.len() {
        out.push(format!(
            "{file}: {} more damaged entries",
            parsed_total - skipped.len()
        ));
    }
    out
}

/// A system's OS packages, as far as they could be read.
#[derive(Debug, Default)]
pub(super) struct HostPackages {
    /// `None` when the tree has no os-release or its release has no advisory feed.
    pub(super) ecosystem: Option<Ecosystem>,
    /// os-release's name for people.
    pub(super) os_name: String,
    pub(super) packages: Vec<Package>,
    /// Where the packages came from.
    pub(super) database: String,
    /// Damaged input: reported, and the scan exits non-zero.
    pub(super) problems: Vec<String>,
    /// Why OS packages were not checked, when they were not.
    pub(super) not_checked: Option<String>,
}

pub(super) fn read_host(root: &Path) -> Result<HostPackages> {
    let mut host = HostPackages::default();
    let os = read_os_release(root)?;
    let has = |rel: &str| resolve_in_root(root, rel).is_ok();
    let rpm_dir = ["var/lib/rpm", "usr/lib/sysimage/rpm"]
        .into_iter()
        .find(|d| {
            ["rpmdb.sqlite", "Packages", "Packages.db"]
                .iter()
                .any(|f| has(&format!("{d}/{f}")))
        });
    let any_db = has(DPKG_STATUS) || has(APK_INSTALLED) || rpm_dir.is_some();
    let Some(os) = os else {
        if any_db {
            bail!(
                "{} (and usr/lib/os-release) is missing: cannot tell which release the packages belong to",
                root.join("etc/os-release").display()
            );
        }
        host.not_checked = Some(format!(
            "no os-release and no package database under {}",
            root.display()
        ));
        return Ok(host);
    };
    host.os_name = if os.pretty_name.is_empty() {
        format!("{} {}", os.id, os.version_id)
    } else {
        os.pretty_name.clone()
    };
    let Some(eco) = Ecosystem::for_host(&os.id, &os.version_id) else {
        host.not_checked = Some(format!(
            "no advisory feed for {} (ID={:?}, VERSION_ID={:?})",
            host.os_name, os.id, os.version_id
        ));
        return Ok(host);
    };
    match eco.family {
        Family::Debian | Family::Ubuntu => {
            let shown = root.join(DPKG_STATUS).display().to_string();
            let bytes = read_in_root(root, DPKG_STATUS, MAX_INVENTORY_BYTES)?
                .with_context(|| format!("{shown} is missing: a {eco} system has one"))?;
            let text = String::from_utf8_lossy(&bytes);
            let parsed = packages::dpkg_status(&text);
            host.problems = dpkg_problems(&shown, &text, &parsed);
            host.packages = parsed.value;
            host.database = shown;
        }
        Family::Alpine => {
            let shown = root.join(APK_INSTALLED).display().to_string();
            let bytes = read_in_root(root, APK_INSTALLED, MAX_INVENTORY_BYTES)?
                .with_context(|| format!("{shown} is missing: a {eco} system has one"))?;
            let text = String::from_utf8_lossy(&bytes);
            let parsed = packages::apk_installed(&text);
            host.problems = line_problems(&shown, parsed.skipped_total, &parsed.skipped);
            if !text.is_empty() && !text.ends_with('\n') {
                host.problems.push(format!(
                    "{shown}: the file ends in the middle of a line: truncated?"
                ));
            }
            host.packages = parsed.value;
            host.database = shown;
        }
        _ => {
            let dir = rpm_dir.with_context(|| {
                format!(
                    "no rpm database under {} (var/lib/rpm or usr/lib/sysimage/rpm): a {eco} system has one",
                    root.display()
                )
            })?;
            let resolved = resolve_in_root(root, dir)
                .with_context(|| format!("reading {}", root.join(dir).display()))?;
            let shown = root.join(dir).display().to_string();
            let out = Command::new("rpm")
                .arg("--dbpath")
                .arg(&resolved)
                .args(["-qa", "--queryformat", packages::RPM_QUERYFORMAT])
                .stdin(Stdio::null())
                .output()
                .with_context(|| {
                    format!("{shown} is an rpm database, and reading it needs the rpm command")
                })?;
            if !out.status.success() {
                bail!(
                    "rpm --dbpath {shown} -qa failed ({}): {}",
                    out.status,
                    tail(&String::from_utf8_lossy(&out.stderr), 3)
                );
            }
            let parsed = packages::rpm_qa(&String::from_utf8_lossy(&out.stdout));
            host.problems = line_problems(
                &format!("rpm -qa ({shown})"),
                parsed.skipped_total,
                &parsed.skipped,
            );
            host.packages = parsed
                .value
                .into_iter()
                .filter(|p| p.name != "gpg-pubkey")
                .collect();
            host.database = shown;
        }
    }
    if host.packages.is_empty() && host.problems.is_empty() {
        host.problems.push(format!(
            "{}: lists no installed package: damaged, or not this system's database?",
            host.database
        ));
    }
    host.ecosystem = Some(eco);
    Ok(host)
}

/// Lock files under `path` (or `path` itself), at most [`LOCKFILE_DEPTH`] levels down. Symbolic
/// links are never followed, so the walk stays inside the tree and cannot loop; VCS metadata
/// and `node_modules` (whose packages the project's lock file already lists) are skipped.
pub(super) fn find_lockfiles(path: &Path) -> Result<Vec<(PathBuf, LockfileKind)>> {
    let meta = fs::metadata(path).with_context(|| format!("--app-path {}", path.display()))?;
    if meta.is_file() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        return match name.as_deref().and_then(LockfileKind::detect) {
            Some(kind) => Ok(vec![(path.to_path_buf(), kind)]),
            None => bail!(
                "--app-path {} is not a lock file Vigil reads (requirements*.txt, poetry.lock, package-lock.json, npm-shrinkwrap.json, Cargo.lock)",
                path.display()
            ),
        };
    }
    let mut out: Vec<(PathBuf, LockfileKind)> = Vec::new();
    let mut seen = 0usize;
    let mut stack = vec![(path.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            tracing::debug!(dir = %dir.display(), "unreadable directory skipped");
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > MAX_WALK_ENTRIES {
                eprintln!(
                    "vigil: warning: --app-path {}: stopped after {MAX_WALK_ENTRIES} entries",
                    path.display()
                );
                out.sort_by(|a, b| a.0.cmp(&b.0));
                return Ok(out);
            }
            let Ok(kind) = e.file_type() else { continue };
            let name = e.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                if depth < LOCKFILE_DEPTH
                    && !matches!(name.as_ref(), ".git" | ".hg" | ".svn" | "node_modules")
                {
                    stack.push((e.path(), depth + 1));
                }
            } else if kind.is_file() {
                if let Some(k) = LockfileKind::detect(&name) {
                    out.push((e.path(), k));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
