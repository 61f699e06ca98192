//! What `vigil scan vulns` prints: one JSON record per finding, or tables per level with the
//! merged fix commands and a summary.

use super::table;
use super::tree::HostPackages;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use vigil_version::compare;
use vigil_vuln::{Ecosystem, Finding};

/// One finding with where it was found.
pub(super) struct Row {
    pub(super) ecosystem: Ecosystem,
    /// The lock file, for application packages.
    pub(super) lockfile: Option<String>,
    pub(super) finding: Finding,
}

/// One finding as `--json` prints it; fields in this order.
#[derive(serde::Serialize)]
struct VulnRecord<'a> {
    record: &'static str,
    ecosystem: String,
    package: &'a str,
    installed: &'a str,
    fixed: Option<&'a str>,
    ids: &'a [String],
    level: &'static str,
    fix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    rce: bool,
    restart: bool,
    summary: &'a str,
}

pub(super) struct Report<'a> {
    pub(super) rows: &'a [Row],
    pub(super) host: &'a HostPackages,
    pub(super) checked: usize,
    pub(super) with_data: usize,
    pub(super) lockfiles: usize,
    pub(super) app_packages: usize,
    pub(super) db_what: &'a str,
}

impl Report<'_> {
    pub(super) fn json(&self, out: &mut impl Write) -> io::Result<()> {
        for r in self.rows {
            let f = &r.finding;
            let rec = VulnRecord {
                record: "vuln",
                ecosystem: r.ecosystem.to_string(),
                package: &f.package,
                installed: &f.installed,
                fixed: f.fixed.as_deref(),
                ids: &f.ids,
                level: f.level.as_str(),
                fix: f.fix_command.as_deref(),
                source: f.source.as_deref(),
                path: r.lockfile.as_deref(),
                rce: f.rce,
                restart: f.needs_restart,
                summary: &f.summary,
            };
            serde_json::to_writer(&mut *out, &rec)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub(super) fn human(&self, out: &mut impl Write) -> io::Result<()> {
        let mut what = Vec::new();
        if let Some(eco) = &self.host.ecosystem {
            what.push(format!(
                "{} ({eco}): {} packages from {}, {} with advisory data",
                self.host.os_name, self.checked, self.host.database, self.with_data
            ));
        }
        if self.lockfiles > 0 {
            what.push(format!(
                "{} lock file(s): {} packages",
                self.lockfiles, self.app_packages
            ));
        }
        writeln!(out, "scanned {}", what.join("; "))?;
        writeln!(out, "advisories: {}", self.db_what)?;
        for level in [
            vigil_vuln::Level::High,
            vigil_vuln::Level::Medium,
            vigil_vuln::Level::Low,
        ] {
            let rows: Vec<&Row> = self
                .rows
                .iter()
                .filter(|r| r.finding.level == level)
                .collect();
            if rows.is_empty() {
                continue;
            }
            // One line per package (and lock file): the fix for all its flaws of this level is
            // the highest fixed version among them.
            let mut groups: Vec<(&Row, Vec<&Finding>)> = Vec::new();
            for r in &rows {
                match groups.iter_mut().find(|(g, _)| {
                    g.finding.package == r.finding.package && g.lockfile == r.lockfile
                }) {
                    Some((_, fs)) => fs.push(&r.finding),
                    None => groups.push((r, vec![&r.finding])),
                }
            }
            writeln!(
                out,
                "\n{}: {} finding(s) in {} package(s)",
                level.as_str().to_uppercase(),
                rows.len(),
                groups.len()
            )?;
            let table_rows: Vec<Vec<String>> = groups
                .iter()
                .map(|(r, fs)| {
                    let scheme = r.ecosystem.scheme();
                    let fixed = fs
                        .iter()
                        .filter_map(|f| f.fixed.as_deref())
                        .max_by(|a, b| compare(scheme, a, b))
                        .unwrap_or("(no fix)");
                    let ids: Vec<&str> = fs.iter().map(|f| display_id(&f.ids)).collect();
                    let shown = if ids.len() > 4 {
                        format!("{}, +{} more", ids[..4].join(", "), ids.len() - 4)
                    } else {
                        ids.join(", ")
                    };
                    vec![
                        r.finding.package.clone(),
                        r.finding.installed.clone(),
                        fixed.to_owned(),
                        r.lockfile
                            .clone()
                            .unwrap_or_else(|| r.ecosystem.to_string()),
                        shown,
                    ]
                })
                .collect();
            table(
                out,
                &["package", "installed", "fixed", "in", "ids"],
                &table_rows,
            )?;
        }
        let commands = fix_commands(self.rows);
        if !commands.is_empty() {
            writeln!(out, "\nfix:")?;
            for c in &commands {
                writeln!(out, "  {c}")?;
            }
        }
        let unfixed: BTreeSet<&str> = self
            .rows
            .iter()
            .filter(|r| r.finding.fixed.is_none())
            .map(|r| r.finding.package.as_str())
            .collect();
        if !unfixed.is_empty() {
            writeln!(
                out,
                "\nno fixed version known yet for: {}",
                unfixed.into_iter().collect::<Vec<_>>().join(", ")
            )?;
        }
        let restart: BTreeSet<&str> = self
            .rows
            .iter()
            .filter(|r| r.finding.needs_restart)
            .map(|r| r.finding.package.as_str())
            .collect();
        if !restart.is_empty() {
            let kernel = restart
                .iter()
                .any(|p| p.starts_with("linux-image") || p.starts_with("kernel"));
            writeln!(
                out,
                "\nrestart: running programs keep the old code of {} until they restart: after upgrading, restart the services using them (`needrestart` lists them){}",
                restart.into_iter().collect::<Vec<_>>().join(", "),
                if kernel { "; a new kernel needs a reboot" } else { "" }
            )?;
        }
        writeln!(out, "\n{}", self.summary())?;
        Ok(())
    }

    fn summary(&self) -> String {
        let count = |l| self.rows.iter().filter(|r| r.finding.level == l).count();
        let packages: BTreeSet<(&str, Option<&str>)> = self
            .rows
            .iter()
            .map(|r| (r.finding.package.as_str(), r.lockfile.as_deref()))
            .collect();
        let total = self.checked + self.app_packages;
        if self.rows.is_empty() {
            return format!("summary: no known vulnerabilities in {total} packages");
        }
        format!(
            "summary: {} finding(s) in {} of {total} packages: {} high, {} medium, {} low",
            self.rows.len(),
            packages.len(),
            count(vigil_vuln::Level::High),
            count(vigil_vuln::Level::Medium),
            count(vigil_vuln::Level::Low),
        )
    }
}

/// The id to show for a finding: its CVE when it has one, else the advisory's own id.
fn display_id(ids: &[String]) -> &str {
    ids.iter()
        .find(|i| i.starts_with("CVE-"))
        .or(ids.first())
        .map_or("", String::as_str)
}

/// The distinct fix commands; `apt-get install --only-upgrade a`, `… b` become one command.
pub(super) fn fix_commands(rows: &[Row]) -> Vec<String> {
    let mut merged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut single: BTreeSet<String> = BTreeSet::new();
    for r in rows {
        let Some(cmd) = r.finding.fix_command.as_deref() else {
            continue;
        };
        let pkg = &r.finding.package;
        let suffix = format!(" {pkg}");
        match cmd.strip_suffix(&suffix) {
            Some(prefix) if r.lockfile.is_none() => {
                merged
                    .entry(prefix.to_owned())
                    .or_default()
                    .insert(pkg.clone());
            }
            _ => {
                let at = r
                    .lockfile
                    .as_deref()
                    .map(|l| format!("   # {l}"))
                    .unwrap_or_default();
                single.insert(format!("{cmd}{at}"));
            }
        }
    }
    merged
        .into_iter()
        .map(|(prefix, pkgs)| {
            format!(
                "{prefix} {}",
                pkgs.into_iter().collect::<Vec<_>>().join(" ")
            )
        })
        .chain(single)
        .collect()
}
