//! `vigil vulndb update --source apt`: the security suite's index from apt's lists, the host's
//! pending sources, and advisories from their changelogs (fetched by `fetch`) or the index.

use super::fetch::fetch_changelogs;
use super::tree::{dpkg_problems, read_capped, read_os_release};
use super::{build_and_save, existing_db, human_bytes, now, tail, warn_skips};
use super::{DPKG_STATUS, MAX_INVENTORY_BYTES};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use vigil_collect::packages;
use vigil_model::Package;
use vigil_version::{compare, Scheme};
use vigil_vuln::debian::{self, ChangelogEntry, IndexPackage, SourceUpdate};
use vigil_vuln::{Advisory, DbBuilder, Ecosystem, Family};

const APT_LISTS: &str = "/var/lib/apt/lists";

/// Options of `vigil vulndb update --source apt`.
#[derive(Debug, Clone)]
pub struct AptUpdate {
    pub db: PathBuf,
    pub refresh: bool,
    pub max_downloads: Option<usize>,
}

/// A security-suite source with an upgrade pending on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) source: String,
    /// The lowest installed source version among the host's binaries of this source.
    pub(super) installed: String,
    /// Installed binaries below the suite's version.
    pub(super) binaries: Vec<String>,
    /// The suite's binaries of the source, with their own versions, in the order to try them
    /// for the changelog: smallest first, metapackages last.
    pub(super) candidates: Vec<(String, String)>,
    /// Size of the first candidate, for ordering.
    size: u64,
}

/// `vigil vulndb update --source apt`.
pub fn update_apt(opts: &AptUpdate) -> Result<()> {
    let started = Instant::now();
    let old = existing_db(&opts.db)?;
    if opts.refresh {
        refresh_apt_lists()?;
    }
    let os = read_os_release(Path::new("/"))?.context(
        "/etc/os-release is missing: cannot tell which release the security suite is for",
    )?;
    let eco = Ecosystem::for_host(&os.id, &os.version_id)
        .filter(|e| matches!(e.family, Family::Debian | Family::Ubuntu))
        .with_context(|| {
            format!(
                "the apt source works on Debian and Ubuntu releases; this host is {:?} {:?}",
                os.id, os.version_id
            )
        })?;
    let release = eco.release.clone().unwrap_or_default();

    // The security suite's index: what the mirror says is the newest security version.
    let lists = Path::new(APT_LISTS);
    let index_files = security_indexes(lists)?;
    let mut index: Vec<IndexPackage> = Vec::new();
    let mut sizes: HashMap<(String, String), DebSize> = HashMap::new();
    let mut suites: BTreeSet<String> = BTreeSet::new();
    for f in &index_files {
        let text = read_index(f)?;
        let parsed = debian::parse_packages(&text);
        warn_skips(
            &f.display().to_string(),
            parsed.skipped_total,
            &parsed.skipped,
        );
        sizes.extend(index_sizes(&text));
        index.extend(parsed.value);
        if let Some(s) = f.file_name().and_then(|n| suite_of(&n.to_string_lossy())) {
            suites.insert(s);
        }
    }
    let updates = debian::source_updates(&index);

    // What is installed: the host's dpkg database.
    let status_path = Path::new("/").join(DPKG_STATUS);
    let text = read_capped(&status_path, MAX_INVENTORY_BYTES)
        .with_context(|| format!("reading {}", status_path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let parsed = packages::dpkg_status(&text);
    for p in dpkg_problems(&status_path.display().to_string(), &text, &parsed) {
        eprintln!("vigil: warning: {p}");
    }
    let installed = parsed.value;
    let pending = pending_sources(&updates, &index, &installed, &sizes);
    let limit = opts.max_downloads.unwrap_or(usize::MAX);
    let fetch: Vec<&Pending> = pending.iter().take(limit).collect();
    eprintln!(
        "{} security suite source package(s) in {}; {} with updates pending on this host; fetching {} changelog(s)",
        updates.len(),
        suites.iter().cloned().collect::<Vec<_>>().join(", "),
        pending.len(),
        fetch.len()
    );

    let fetched = fetch_changelogs(&fetch)?;

    // Advisories: from the changelog where we have it, from the index alone otherwise.
    let mut advisories: Vec<Advisory> = Vec::new();
    let mut cve_ids: BTreeSet<String> = BTreeSet::new();
    let mut pending_cves = 0usize;
    for u in &updates {
        let advs = match fetched.entries.get(&u.source) {
            Some(entries) => {
                if let Some(p) = pending.iter().find(|p| p.source == u.source) {
                    pending_cves += debian::pending(entries, &p.installed).cves.len();
                }
                source_advisories(u, entries, &release)
            }
            None => vec![debian::index_advisory(u, &release)],
        };
        for mut a in advs {
            for r in &mut a.ranges {
                // The changelog parser speaks Debian; Ubuntu's suites have the same shape.
                r.ecosystem = eco.clone();
            }
            cve_ids.extend(a.ids.iter().filter(|i| i.starts_with("CVE-")).cloned());
            advisories.push(a);
        }
    }
    let codename = if os.codename.is_empty() {
        suites
            .iter()
            .next()
            .map(|s| s.trim_end_matches("-security").to_owned())
            .unwrap_or_else(|| release.clone())
    } else {
        os.codename.clone()
    };
    let name = format!("{}-security:{codename}", os.id);
    let count = advisories.len();
    let mut builder = DbBuilder::new();
    builder.add_source(&name, now(), advisories);
    let (db, size) = build_and_save(builder, old.as_ref(), &opts.db)?;

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "{name}: {count} advisories ({} CVE ids) from {} changelog(s) and the index of {} source packages",
        cve_ids.len(),
        fetched.entries.len(),
        updates.len()
    )?;
    writeln!(
        out,
        "this host: {} source package(s) with security updates pending ({} installed binary package(s)), {} CVE ids named in the newer changelog entries",
        pending.len(),
        pending.iter().map(|p| p.binaries.len()).sum::<usize>(),
        pending_cves
    )?;
    let not_fetched = pending.len().saturating_sub(fetch.len());
    if not_fetched > 0 {
        writeln!(
            out,
            "not fetched (--max-downloads {limit}): {not_fetched} source package(s); they have advisories without CVE ids"
        )?;
    }
    if !fetched.failures.is_empty() {
        writeln!(
            out,
            "no changelog for {} source package(s); they have advisories without CVE ids:",
            fetched.failures.len()
        )?;
        for (source, why) in &fetched.failures {
            writeln!(out, "  {source}: {why}")?;
        }
    }
    writeln!(
        out,
        "database {}: {} sources, {} advisories, {}, in {:.1} s (downloads {:.1} s)",
        opts.db.display(),
        db.sources().len(),
        db.advisory_count(),
        human_bytes(size),
        started.elapsed().as_secs_f64(),
        fetched.seconds
    )?;
    Ok(())
}

/// The changelog's advisories for one source, all moved onto the source's current name, plus
/// the index's advisory when no changelog entry covers the suite's version (an upload without
/// CVE ids or security target): every host below the suite's version then still has a finding.
pub(super) fn source_advisories(
    u: &SourceUpdate,
    entries: &[ChangelogEntry],
    release: &str,
) -> Vec<Advisory> {
    let mut advs = debian::changelog_advisories(entries, release);
    for a in &mut advs {
        for r in &mut a.ranges {
            // Older entries can carry a former source name.
            r.package.clone_from(&u.source);
        }
    }
    let covers_suite_version = advs.iter().any(|a| {
        a.ranges.iter().any(|r| {
            r.fixed
                .as_deref()
                .is_some_and(|f| compare(Scheme::Dpkg, f, &u.version).is_ge())
        })
    });
    if !covers_suite_version {
        advs.push(debian::index_advisory(u, release));
    }
    advs
}

fn refresh_apt_lists() -> Result<()> {
    eprintln!("refreshing the apt lists (apt-get update)…");
    let out = Command::new("apt-get")
        .args(["-q", "update"])
        .stdin(Stdio::null())
        .output()
        .context("running apt-get update")?;
    if !out.status.success() {
        bail!(
            "apt-get update failed ({}):\n{}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 10)
        );
    }
    Ok(())
}

/// Whether an apt list file is a security suite's binary `Packages` index (compressed or not).
pub(super) fn is_security_index(name: &str) -> bool {
    let base = [".lz4", ".gz", ".xz", ".zst", ".bz2", ".lzma"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    name.contains("-security") && base.ends_with("_Packages")
}

/// The suite in an apt list file name: `…_dists_bookworm-security_main_…` → `bookworm-security`.
pub(super) fn suite_of(name: &str) -> Option<String> {
    let rest = name.split_once("_dists_")?.1;
    let suite = rest.split('_').next()?;
    (!suite.is_empty()).then(|| suite.to_owned())
}

fn security_indexes(lists: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(lists).with_context(|| {
        format!(
            "reading {}: the apt source needs apt's lists (run `apt-get update`, or pass --refresh)",
            lists.display()
        )
    })?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| is_security_index(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    found.sort();
    if found.is_empty() {
        bail!(
            "no security suite index in {} (files named *-security*_Packages*): add the security suite to apt's sources (Debian: `deb http://deb.debian.org/debian-security bookworm-security main`) and run `apt-get update`, or pass --refresh",
            lists.display()
        );
    }
    Ok(found)
}

/// An apt list file's text. apt keeps them compressed as configured (lz4 on Debian 12);
/// `apt-helper cat-file` reads every compression apt itself supports.
fn read_index(path: &Path) -> Result<String> {
    let name = path.to_string_lossy();
    let bytes = if name.ends_with("_Packages") {
        fs::read(path).with_context(|| format!("reading {}", path.display()))?
    } else if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(
            fs::File::open(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .read_to_end(&mut out)
        .with_context(|| format!("decompressing {}", path.display()))?;
        out
    } else {
        let out = Command::new("/usr/lib/apt/apt-helper")
            .arg("cat-file")
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("decompressing {} with apt-helper", path.display()))?;
        if !out.status.success() {
            bail!(
                "apt-helper cat-file {} failed ({}): {}",
                path.display(),
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr), 3)
            );
        }
        out.stdout
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Download and installed size of one binary in a `Packages` index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DebSize {
    /// `Size:`, bytes of the `.deb`.
    pub(super) bytes: u64,
    /// `Installed-Size:`, KiB.
    pub(super) installed_kib: u64,
}

impl DebSize {
    /// Metapackages whose doc directory is a symlink to a sibling's install a few KiB of
    /// dpkg bookkeeping and nothing else, so no changelog: try them last.
    fn fetch_order(self) -> (bool, u64) {
        (self.installed_kib < 20, self.bytes)
    }
}

/// The sizes of each (package, version) in a `Packages` index, to fetch small `.deb`s first.
pub(super) fn index_sizes(text: &str) -> HashMap<(String, String), DebSize> {
    let mut out = HashMap::new();
    let (mut name, mut version, mut bytes, mut installed) = (None, None, None, None);
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if let (Some(n), Some(v), Some(b)) = (name.take(), version.take(), bytes.take()) {
                let installed_kib = installed.take().unwrap_or(u64::MAX);
                out.insert(
                    (n, v),
                    DebSize {
                        bytes: b,
                        installed_kib,
                    },
                );
            }
            (name, version, bytes, installed) = (None, None, None, None);
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            if k.eq_ignore_ascii_case("Package") {
                name = Some(v.to_owned());
            } else if k.eq_ignore_ascii_case("Version") {
                version = Some(v.to_owned());
            } else if k.eq_ignore_ascii_case("Size") {
                bytes = v.parse().ok();
            } else if k.eq_ignore_ascii_case("Installed-Size") {
                installed = v.parse().ok();
            }
        }
    }
    out
}

/// The suite's sources that have an installed binary below the suite's version, smallest
/// download first.
pub(super) fn pending_sources(
    updates: &[SourceUpdate],
    index: &[IndexPackage],
    installed: &[Package],
    sizes: &HashMap<(String, String), DebSize>,
) -> Vec<Pending> {
    let mut by_source: HashMap<&str, Vec<&Package>> = HashMap::new();
    for p in installed {
        by_source.entry(p.source.as_str()).or_default().push(p);
    }
    let mut out = Vec::new();
    for u in updates {
        let Some(mine) = by_source.get(u.source.as_str()) else {
            continue;
        };
        let below: Vec<&&Package> = mine
            .iter()
            .filter(|p| compare(Scheme::Dpkg, &p.source_version, &u.version).is_lt())
            .collect();
        let Some(lowest) = below
            .iter()
            .map(|p| p.source_version.as_str())
            .min_by(|a, b| compare(Scheme::Dpkg, a, b))
        else {
            continue;
        };
        let mut binaries: Vec<String> = below.iter().map(|p| p.name.clone()).collect();
        binaries.sort();
        binaries.dedup();
        // The suite's binaries of this source at its version, with their own versions (a
        // signed kernel's binary version differs from its source's).
        let unknown = DebSize {
            bytes: u64::MAX,
            installed_kib: u64::MAX,
        };
        let mut candidates: Vec<((bool, u64), String, String)> = index
            .iter()
            .filter(|p| p.source == u.source && p.source_version == u.version)
            .map(|p| {
                let size = sizes
                    .get(&(p.name.clone(), p.version.clone()))
                    .copied()
                    .unwrap_or(unknown);
                (size.fetch_order(), p.name.clone(), p.version.clone())
            })
            .collect();
        candidates.sort();
        candidates.dedup_by(|a, b| a.1 == b.1);
        let size = candidates.first().map_or(u64::MAX, |c| c.0 .1);
        out.push(Pending {
            source: u.source.clone(),
            installed: lowest.to_owned(),
            binaries,
            candidates: candidates.into_iter().map(|(_, n, v)| (n, v)).collect(),
            size,
        });
    }
    out.sort_by(|a, b| (a.size, &a.source).cmp(&(b.size, &b.source)));
    out
}
