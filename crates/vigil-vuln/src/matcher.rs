//! Matching installed packages against the compiled database, and what to tell the user about
//! each hit: fixed version, fix command, whether a restart is needed.
//!
//! One [`Finding`] per (installed package, vulnerability). Advisories from different sources
//! that name the same CVE first (Debian's `DEBIAN-CVE-2024-1` and the changelog's
//! `CVE-2024-1`, a GHSA and its PYSEC twin) are one vulnerability: their findings merge, ids
//! united, the higher level kept.

use std::cmp::Ordering;
use std::collections::HashMap;

use vigil_version::{compare, Scheme};

use crate::db::{Db, RangeRef};
use crate::ecosystem::{Ecosystem, Family};
use crate::Level;

/// A package as the matcher needs it: from the host inventory or from a lock file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    /// Source package (dpkg `Source:`, rpm source RPM name, apk origin), when known.
    pub source_name: Option<String>,
    /// Source version, when it differs from or is recorded apart from the binary's.
    pub source_version: Option<String>,
}

impl From<&vigil_model::Package> for InstalledPackage {
    fn from(p: &vigil_model::Package) -> Self {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        InstalledPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            source_name: some(&p.source),
            source_version: some(&p.source_version),
        }
    }
}

/// One vulnerability affecting one installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Advisory ids, the merged advisories' ids in order, each once.
    pub ids: Vec<String>,
    /// The installed (binary) package.
    pub package: String,
    /// The source package that was compared, for distributions.
    pub source: Option<String>,
    /// The installed version of `package`.
    pub installed: String,
    /// The version that was compared (the source version for distributions).
    pub compared_version: String,
    /// The lowest fixed version above the compared one that no bounded range of the advisory
    /// covers; `None` when no fix is known.
    pub fixed: Option<String>,
    pub level: Level,
    pub rce: bool,
    pub summary: String,
    /// A command that installs the fix; `None` without a fixed version or when a name or
    /// version has characters that are not safe to paste into a shell.
    pub fix_command: Option<String>,
    /// The fix only takes effect after a reboot or service restarts (kernel, C library,
    /// systemd, OpenSSL).
    pub needs_restart: bool,
}

/// Matches `packages` of `ecosystem` against `db`.
///
/// Distributions compare the source package and source version (falling back to the binary's
/// when the source is unknown), because their advisories name source packages and their fixed
/// versions include backports (`1.2-3+deb12u1`). Language ecosystems compare the package itself,
/// and skip versions their scheme does not accept. Findings are sorted by level (high first),
/// package and first id.
pub fn match_packages(
    db: &Db,
    ecosystem: &Ecosystem,
    packages: &[InstalledPackage],
) -> Vec<Finding> {
    let scheme = ecosystem.scheme();
    let distro = ecosystem.family.is_distribution();
    let mut findings = Vec::new();
    let nonempty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    for p in packages {
        let (source, compared) = if distro {
            (
                nonempty(&p.source_name),
                nonempty(&p.source_version).unwrap_or_else(|| p.version.clone()),
            )
        } else {
            // A lock file can pin what is no registry version (`latest`, a git ref); compared
            // anyway it would sort somewhere arbitrary and report or hide at random.
            if !vigil_version::is_valid(scheme, &p.version) {
                continue;
            }
            (None, p.version.clone())
        };
        let key = ecosystem.normalize_package(source.as_deref().unwrap_or(&p.name));
        let ranges: Vec<RangeRef> = db.ranges(ecosystem, &key).collect();
        if ranges.is_empty() {
            continue;
        }
        // advisory -> its ranges for this package, in order of first appearance.
        let mut by_advisory: HashMap<usize, Vec<&RangeRef>> = HashMap::new();
        let mut order = Vec::new();
        for r in &ranges {
            by_advisory
                .entry(r.advisory)
                .or_insert_with(|| {
                    order.push(r.advisory);
                    Vec::new()
                })
                .push(r);
        }
        let mut mine: Vec<Finding> = Vec::new();
        let mut vuln_keys: Vec<String> = Vec::new();
        for idx in order {
            let rs = &by_advisory[&idx];
            if !rs.iter().any(|r| affects(scheme, r, &compared)) {
                continue;
            }
            let Some(adv) = db.advisory(idx) else {
                continue;
            };
            let ids: Vec<String> = adv.ids().map(str::to_owned).collect();
            let fixed = lowest_fix(scheme, rs, &compared);
            let vuln_key = ids
                .iter()
                .find(|i| i.starts_with("CVE-"))
                .or(ids.first())
                .cloned()
                .unwrap_or_default();
            if let Some(pos) = vuln_keys.iter().position(|k| *k == vuln_key) {
                let f = &mut mine[pos];
                for id in ids {
                    if !f.ids.contains(&id) {
                        f.ids.push(id);
                    }
                }
                f.level = f.level.max(adv.level());
                f.rce |= adv.rce();
                f.fixed = match (f.fixed.take(), fixed) {
                    (Some(a), Some(b)) => Some(if compare(scheme, &a, &b) == Ordering::Less {
                        b
                    } else {
                        a
                    }),
                    (a, b) => a.or(b),
                };
                if f.summary.is_empty() {
                    f.summary = adv.summary().to_owned();
                }
                continue;
            }
            vuln_keys.push(vuln_key);
            mine.push(Finding {
                ids,
                package: p.name.clone(),
                source: source.clone(),
                installed: p.version.clone(),
                compared_version: compared.clone(),
                fixed,
                level: adv.level(),
                rce: adv.rce(),
                summary: adv.summary().to_owned(),
                fix_command: None,
                needs_restart: distro && needs_restart(&p.name),
            });
        }
        for f in &mut mine {
            f.fix_command = f
                .fixed
                .as_deref()
                .and_then(|v| fix_command(ecosystem.family, &p.name, v));
        }
        findings.extend(mine);
    }
    findings.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.ids.first().cmp(&b.ids.first()))
    });
    findings
}

/// Whether `v` is inside the range.
fn affects(scheme: Scheme, r: &RangeRef, v: &str) -> bool {
    let at_or_after_start =
        r.introduced == "0" || compare(scheme, v, r.introduced) != Ordering::Less;
    at_or_after_start
        && r.fixed
            .is_none_or(|f| compare(scheme, v, f) == Ordering::Less)
        && r.last_affected
            .is_none_or(|l| compare(scheme, v, l) != Ordering::Greater)
        && r.limit
            .is_none_or(|l| compare(scheme, v, l) == Ordering::Less)
}

/// The lowest fixed version above `v` that no bounded range of the advisory covers.
///
/// Open-ended ranges (`introduced` only) do not veto a candidate: they say that no fix is known
/// in one stream (Ubuntu's main archive) while another stream of the same release (Ubuntu Pro)
/// has one.
fn lowest_fix(scheme: Scheme, ranges: &[&RangeRef], v: &str) -> Option<String> {
    let mut candidates: Vec<&str> = ranges
        .iter()
        .filter_map(|r| r.fixed)
        .filter(|f| compare(scheme, f, v) == Ordering::Greater)
        .collect();
    candidates.sort_by(|a, b| compare(scheme, a, b));
    let bounded =
        |r: &&&RangeRef| r.fixed.is_some() || r.last_affected.is_some() || r.limit.is_some();
    candidates
        .into_iter()
        .find(|f| !ranges.iter().filter(bounded).any(|r| affects(scheme, r, f)))
        .map(str::to_owned)
}

/// Package names whose update is only live after a reboot or a restart of most services.
fn needs_restart(binary: &str) -> bool {
    binary.starts_with("linux-image-")
        || binary == "kernel"
        || binary.starts_with("kernel-")
        || binary.starts_with("libssl")
        || matches!(
            binary,
            "libc6" | "glibc" | "musl" | "systemd" | "libsystemd0" | "openssl" | "openssl-libs"
        )
}

/// Characters that cannot change a shell command's meaning when pasted unquoted (`@` and `/`
/// for npm scopes, `+`, `~`, `:` for Debian versions).
fn shell_safe(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~:@/".contains(&b))
}

/// The command that installs `fixed` of `package`.
pub fn fix_command(family: Family, package: &str, fixed: &str) -> Option<String> {
    if !shell_safe(package) || !shell_safe(fixed) {
        return None;
    }
    Some(match family {
        Family::Debian | Family::Ubuntu => format!("apt-get install --only-upgrade {package}"),
        Family::AlmaLinux | Family::RockyLinux | Family::RedHat => format!("yum update {package}"),
        Family::Suse | Family::OpenSuse => format!("zypper update {package}"),
        Family::Alpine => format!("apk upgrade {package}"),
        Family::PyPI => format!("pip install '{package}>={fixed}'"),
        Family::Npm => format!("npm install {package}@{fixed}"),
        Family::CratesIo => format!("cargo update -p {package} --precise {fixed}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        let cases = [
            (
                Family::Debian,
                "libssl3",
                "3.0.22-1~deb12u2",
                Some("apt-get install --only-upgrade libssl3"),
            ),
            (
                Family::RockyLinux,
                "openssl-libs",
                "1:3.0.7-27.el9",
                Some("yum update openssl-libs"),
            ),
            (
                Family::Alpine,
                "musl",
                "1.2.4_git20230717-r5",
                Some("apk upgrade musl"),
            ),
            (
                Family::PyPI,
                "flask",
                "2.2.5",
                Some("pip install 'flask>=2.2.5'"),
            ),
            (Family::Npm, "@s/b", "1.0.1", Some("npm install @s/b@1.0.1")),
            (
                Family::CratesIo,
                "time",
                "0.3.47",
                Some("cargo update -p time --precise 0.3.47"),
            ),
            (Family::PyPI, "x';rm -rf /;'", "1", None),
            (Family::Npm, "a", "1.0.0 && curl", None),
            (Family::Debian, "--option", "1", None),
        ];
        for (family, pkg, fixed, want) in cases {
            assert_eq!(fix_command(family, pkg, fixed).as_deref(), want, "{pkg}");
        }
    }

    #[test]
    fn restart_packages() {
        for yes in [
            "linux-image-6.1.0-18-amd64",
            "linux-image-amd64",
            "kernel",
            "kernel-core",
            "libc6",
            "glibc",
            "systemd",
            "openssl",
            "libssl3",
            "openssl-libs",
        ] {
            assert!(needs_restart(yes), "{yes}");
        }
        for no in [
            "linux-libc-dev",
            "kernelshark",
            "libc-bin",
            "curl",
            "openssh-server",
        ] {
            assert!(!needs_restart(no), "{no}");
        }
    }
}
