//! `vigil vulndb …` and `vigil scan vulns`: builds the advisory database from the host's apt
//! security suite or from OSV advisories, and checks a system tree's packages and application
//! lock files against it, offline.
//!
//! The parsing and matching live in `vigil-collect` and `vigil-vuln`; this module owns the file
//! system and the child processes around them (`apt-get`, `dpkg-deb`, `tar`, `rpm`) and what the
//! operator sees.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use vigil_collect::{os, packages};
use vigil_model::Package;
use vigil_version::{compare, Scheme};
use vigil_vuln::debian::{self, ChangelogEntry, IndexPackage, SourceUpdate};
use vigil_vuln::lockfiles::{self, LockfileKind};
use vigil_vuln::{osv, Advisory, Db, DbBuilder, Ecosystem, Family, Finding, InstalledPackage};

/// The database's file name in the data directory.
pub const DB_FILE: &str = "vulndb.bin";
/// A source older than this is reported as stale.
const STALE_SECS: i64 = 7 * 86_400;
const APT_LISTS: &str = "/var/lib/apt/lists";
const DPKG_STATUS: &str = "var/lib/dpkg/status";
const APK_INSTALLED: &str = "lib/apk/db/installed";
/// Packages per `apt-get download` call: one call costs about a second of cache loading, so
/// batching matters; small batches keep the progress line moving.
const DOWNLOAD_BATCH: usize = 8;
/// Binaries of one source tried for a changelog (some ship their doc directory as a symlink).
const MAX_ATTEMPTS: usize = 3;
const MAX_CHANGELOG_BYTES: u64 = 64 << 20;
const MAX_INVENTORY_BYTES: u64 = 512 << 20;
const MAX_LOCKFILE_BYTES: u64 = 64 << 20;
/// Directory levels searched below an --app-path.
const LOCKFILE_DEPTH: usize = 8;
/// Directory entries looked at per --app-path, so a huge tree cannot stall the scan.
const MAX_WALK_ENTRIES: usize = 500_000;
/// Skip reasons quoted after an import or parse.
const SHOWN_SKIPS: usize = 5;
const NO_DB_HINT: &str =
    "run `vigil vulndb update --source apt` or `vigil vulndb import OSV_PATH` first, or pass --db";

/// The database file: `--db`, else `DATA/vulndb.bin`.
pub fn db_path(data: &Path, db: Option<&Path>) -> PathBuf {
    db.map_or_else(|| data.join(DB_FILE), Path::to_path_buf)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

// ---------------------------------------------------------------------------------------------
// Database files

/// Loads the database a command reads from; a missing or damaged file is an error that says
/// how to get a good one.
fn load_db(path: &Path) -> Result<Db> {
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            bail!("no advisory database at {}: {NO_DB_HINT}", path.display())
        }
        Err(e) => bail!("{}: {e}", path.display()),
        Ok(m) if m.is_dir() => bail!(
            "{} is a directory, not an advisory database (for OSV files use `vigil vulndb import`)",
            path.display()
        ),
        Ok(_) => {}
    }
    Db::load(path).map_err(|e| {
        anyhow!(
            "{e}; rebuild it with `vigil vulndb update --source apt` or `vigil vulndb import OSV_PATH`"
        )
    })
}

/// The database an update builds on, so its other sources are kept. `None` when there is none
/// yet; an unreadable one stops the update rather than silently dropping its sources.
fn existing_db(path: &Path) -> Result<Option<Db>> {
    if !path.exists() {
        return Ok(None);
    }
    Db::load(path).map(Some).map_err(|e| {
        anyhow!(
            "cannot keep the other sources of the existing database: {e}; move it away (or delete it) and run this again"
        )
    })
}

/// Adds `old`'s other sources, builds and saves atomically.
fn build_and_save(mut builder: DbBuilder, old: Option<&Db>, path: &Path) -> Result<(Db, u64)> {
    if let Some(old) = old {
        builder.keep_sources(old);
    }
    let db = builder.build().context("building the advisory database")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    db.save(path)
        .with_context(|| format!("saving the advisory database to {}", path.display()))?;
    let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok((db, size))
}

fn human_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

fn human_age(secs: i64) -> String {
    match secs {
        i64::MIN..0 => "in the future".to_owned(),
        0..120 => format!("{secs} s"),
        120..7_200 => format!("{} min", secs / 60),
        7_200..172_800 => format!("{} h", secs / 3_600),
        _ => format!("{} d", secs / 86_400),
    }
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

// ---------------------------------------------------------------------------------------------
// vulndb status

/// `vigil vulndb status --json`; fields in this order.
#[derive(serde::Serialize)]
struct StatusRecord<'a> {
    record: &'static str,
    path: String,
    format: u32,
    size_bytes: u64,
    advisories: usize,
    ranges: usize,
    sources: Vec<SourceRecord<'a>>,
}

#[derive(serde::Serialize)]
struct SourceRecord<'a> {
    name: &'a str,
    imported_at: String,
    age_secs: i64,
    /// Older than a week.
    stale: bool,
    advisories: u32,
    ranges: u32,
}

/// `vigil vulndb status`.
pub fn status(path: &Path, json: bool) -> Result<()> {
    let db = load_db(path)?;
    let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let now = now();
    let mut out = io::stdout().lock();
    if json {
        let sources: Vec<SourceRecord> = db
            .sources()
            .iter()
            .map(|s| {
                let age = now - s.imported_at;
                SourceRecord {
                    name: &s.name,
                    imported_at: rfc3339(s.imported_at),
                    age_secs: age,
                    stale: age > STALE_SECS,
                    advisories: s.advisories,
                    ranges: s.ranges,
                }
            })
            .collect();
        let v = serde_json::to_string(&StatusRecord {
            record: "vulndb",
            path: path.display().to_string(),
            format: vigil_vuln::db::FORMAT_VERSION,
            size_bytes: size,
            advisories: db.advisory_count(),
            ranges: db.range_count(),
            sources,
        })?;
        writeln!(out, "{v}")?;
        return Ok(());
    }
    writeln!(
        out,
        "database    {} ({}, format {})",
        path.display(),
        human_bytes(size),
        vigil_vuln::db::FORMAT_VERSION
    )?;
    writeln!(
        out,
        "advisories  {} in {} source(s), {} affected ranges",
        db.advisory_count(),
        db.sources().len(),
        db.range_count()
    )?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = db
        .sources()
        .iter()
        .map(|s| {
            let age = now - s.imported_at;
            vec![
                s.name.clone(),
                rfc3339(s.imported_at),
                format!(
                    "{}{}",
                    human_age(age),
                    if age > STALE_SECS { " (stale)" } else { "" }
                ),
                s.advisories.to_string(),
                s.ranges.to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &["source", "imported", "age", "advisories", "ranges"],
        &rows,
    )?;
    for s in db.sources() {
        if now - s.imported_at > STALE_SECS {
            writeln!(
                out,
                "\n{} is older than {} days: refresh it ({})",
                s.name,
                STALE_SECS / 86_400,
                refresh_hint(&s.name)
            )?;
        }
    }
    Ok(())
}

fn refresh_hint(source: &str) -> &'static str {
    if source.starts_with("osv:") {
        "`vigil vulndb import` a newer dump"
    } else {
        "`vigil vulndb update --source apt --refresh`"
    }
}

/// Prints rows under upper-case headers, columns padded to their widest cell.
fn table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        writeln!(out, "  {}", parts.join("  ").trim_end())
    };
    line(&headers.iter().map(|h| h.to_uppercase()).collect::<Vec<_>>())?;
    for r in rows {
        line(r)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// vulndb import

/// `vigil vulndb import OSV_PATH`.
pub fn import(src: &Path, path: &Path) -> Result<()> {
    let started = Instant::now();
    let old = existing_db(path)?;
    let parsed = osv::import_path(src).context("importing OSV advisories")?;
    let imp = parsed.value;
    if imp.advisories.is_empty() {
        let mut msg = format!(
            "no advisories Vigil can match in {} ({} JSON file(s) read, {} withdrawn, {} affected entries of other ecosystems, {} skipped)",
            src.display(),
            imp.files,
            imp.withdrawn,
            imp.ignored_affected,
            parsed.skipped_total
        );
        for s in parsed.skipped.iter().take(SHOWN_SKIPS) {
            msg.push_str(&format!("\n  {s}"));
        }
        msg.push_str("\nthe database is unchanged");
        bail!(msg);
    }
    let advisories = imp.advisories.len();
    let ranges: usize = imp.advisories.iter().map(|a| a.ranges.len()).sum();
    let by_family = split_by_family(imp.advisories);
    let imported_at = now();
    let mut builder = DbBuilder::new();
    let mut names = Vec::new();
    for (family, advs) in by_family {
        let name = format!("osv:{}", family.osv_name());
        let n = advs.len();
        let r: usize = advs.iter().map(|a| a.ranges.len()).sum();
        names.push(format!("{name} ({n} advisories, {r} ranges)"));
        builder.add_source(&name, imported_at, advs);
    }
    let (db, size) = build_and_save(builder, old.as_ref(), path)?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "imported {advisories} advisories ({ranges} affected ranges) from {} JSON file(s) in {:.2} s",
        imp.files,
        started.elapsed().as_secs_f64()
    )?;
    writeln!(out, "  sources replaced: {}", names.join(", "))?;
    writeln!(
        out,
        "  left out: {} withdrawn, {} affected entries of ecosystems Vigil does not match",
        imp.withdrawn, imp.ignored_affected
    )?;
    if parsed.skipped_total > 0 {
        writeln!(
            out,
            "  skipped: {} record(s) or file(s)",
            parsed.skipped_total
        )?;
        for s in parsed.skipped.iter().take(SHOWN_SKIPS) {
            writeln!(out, "    {s}")?;
        }
        if parsed.skipped_total > SHOWN_SKIPS {
            writeln!(out, "    … and {} more", parsed.skipped_total - SHOWN_SKIPS)?;
        }
    } else {
        writeln!(out, "  skipped: 0")?;
    }
    writeln!(
        out,
        "database {}: {} sources, {} advisories, {} ranges, {}",
        path.display(),
        db.sources().len(),
        db.advisory_count(),
        db.range_count(),
        human_bytes(size)
    )?;
    Ok(())
}

/// One list of advisories per ecosystem family; an advisory spanning families (a GHSA naming an
/// npm and a PyPI package) is split, each part keeping its own ranges, which matches the same.
fn split_by_family(advisories: Vec<Advisory>) -> BTreeMap<Family, Vec<Advisory>> {
    let mut out: BTreeMap<Family, Vec<Advisory>> = BTreeMap::new();
    for mut a in advisories {
        let families: BTreeSet<Family> = a.ranges.iter().map(|r| r.ecosystem.family).collect();
        if families.len() <= 1 {
            if let Some(f) = families.into_iter().next() {
                out.entry(f).or_default().push(a);
            }
            continue;
        }
        let ranges = std::mem::take(&mut a.ranges);
        for f in families {
            let mut part = a.clone();
            part.ranges = ranges
                .iter()
                .filter(|r| r.ecosystem.family == f)
                .cloned()
                .collect();
            out.entry(f).or_default().push(part);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// vulndb update --source apt

/// Options of `vigil vulndb update --source apt`.
#[derive(Debug, Clone)]
pub struct AptUpdate {
    pub db: PathBuf,
    pub refresh: bool,
    pub max_downloads: Option<usize>,
}

/// A security-suite source with an upgrade pending on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    source: String,
    /// The lowest installed source version among the host's binaries of this source.
    installed: String,
    /// Installed binaries below the suite's version.
    binaries: Vec<String>,
    /// The suite's binaries of the source, with their own versions, in the order to try them
    /// for the changelog: smallest first, metapackages last.
    candidates: Vec<(String, String)>,
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
fn source_advisories(u: &SourceUpdate, entries: &[ChangelogEntry], release: &str) -> Vec<Advisory> {
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

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether an apt list file is a security suite's binary `Packages` index (compressed or not).
fn is_security_index(name: &str) -> bool {
    let base = [".lz4", ".gz", ".xz", ".zst", ".bz2", ".lzma"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    name.contains("-security") && base.ends_with("_Packages")
}

/// The suite in an apt list file name: `…_dists_bookworm-security_main_…` → `bookworm-security`.
fn suite_of(name: &str) -> Option<String> {
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
struct DebSize {
    /// `Size:`, bytes of the `.deb`.
    bytes: u64,
    /// `Installed-Size:`, KiB.
    installed_kib: u64,
}

impl DebSize {
    /// Metapackages whose doc directory is a symlink to a sibling's install a few KiB of
    /// dpkg bookkeeping and nothing else, so no changelog: try them last.
    fn fetch_order(self) -> (bool, u64) {
        (self.installed_kib < 20, self.bytes)
    }
}

/// The sizes of each (package, version) in a `Packages` index, to fetch small `.deb`s first.
fn index_sizes(text: &str) -> HashMap<(String, String), DebSize> {
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
fn pending_sources(
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

#[derive(Debug, Default)]
struct Fetched {
    /// Parsed changelog per source.
    entries: HashMap<String, Vec<ChangelogEntry>>,
    /// Sources without a changelog, and why.
    failures: Vec<(String, String)>,
    seconds: f64,
}

/// What one attempt at a source's changelog came to.
enum Attempt {
    Read(Vec<ChangelogEntry>),
    /// Another binary may have it (`next`: the one the doc directory links to, if any).
    TryAnother {
        why: String,
        next: Option<String>,
    },
    Failed(String),
}

/// Downloads one `.deb` per source (`apt-get download`, in batches) and reads its changelog.
/// A binary whose doc directory is a symlink to a sibling's has none of its own: the sibling
/// it names is tried next, else the next smallest binary, up to [`MAX_ATTEMPTS`] per source. A
/// failed download is reported and the rest go on.
fn fetch_changelogs(fetch: &[&Pending]) -> Result<Fetched> {
    let started = Instant::now();
    let mut result = Fetched::default();
    if fetch.is_empty() {
        return Ok(result);
    }
    let tmp = TempDir::new("vigil-apt")?;
    let total = fetch.len();
    let mut done = 0usize;
    // Per source: binaries still to try, binaries tried, why the last attempt failed.
    let mut queues: Vec<Vec<(String, String)>> = fetch
        .iter()
        .map(|p| p.candidates.iter().rev().cloned().collect())
        .collect();
    let mut tried: Vec<usize> = vec![0; total];
    let mut open: Vec<bool> = vec![true; total];
    let mut last_error: Vec<String> = vec![String::new(); total];
    for _ in 0..MAX_ATTEMPTS {
        let wanted: Vec<usize> = (0..total)
            .filter(|&i| open[i] && !queues[i].is_empty())
            .collect();
        if wanted.is_empty() {
            break;
        }
        for batch in wanted.chunks(DOWNLOAD_BATCH) {
            let requests: Vec<(String, String)> =
                batch.iter().filter_map(|&i| queues[i].pop()).collect();
            let debs = apt_download(tmp.path(), &requests);
            for ((&i, (binary, _)), deb) in batch.iter().zip(&requests).zip(debs) {
                tried[i] += 1;
                let attempt = match deb {
                    Ok(deb) => {
                        let found = changelog_from_deb(&deb, binary, tmp.path());
                        let _ = fs::remove_file(&deb);
                        match found {
                            Ok(DebChangelog::Text(text)) => {
                                let parsed = debian::parse_changelog(&text);
                                tracing::debug!(
                                    source = %fetch[i].source,
                                    %binary,
                                    entries = parsed.value.len(),
                                    skipped = parsed.skipped_total,
                                    "changelog read"
                                );
                                if parsed.value.is_empty() {
                                    Attempt::TryAnother {
                                        why: format!("the changelog in {binary} has no entries"),
                                        next: None,
                                    }
                                } else {
                                    Attempt::Read(parsed.value)
                                }
                            }
                            Ok(DebChangelog::LinkedTo(sibling)) => Attempt::TryAnother {
                                why: format!(
                                    "{binary} has no changelog of its own (its docs are {sibling}'s)"
                                ),
                                next: Some(sibling),
                            },
                            Ok(DebChangelog::None) => Attempt::TryAnother {
                                why: format!("no changelog in {binary}"),
                                next: None,
                            },
                            Err(e) => Attempt::Failed(format!("{e:#}")),
                        }
                    }
                    Err(e) => Attempt::Failed(e),
                };
                match attempt {
                    Attempt::Read(entries) => {
                        result.entries.insert(fetch[i].source.clone(), entries);
                        open[i] = false;
                    }
                    Attempt::TryAnother { why, next } => {
                        last_error[i] = why;
                        // The sibling the docs point at goes first, if it is of this source.
                        if let Some(pos) =
                            next.and_then(|n| queues[i].iter().position(|(b, _)| *b == n))
                        {
                            let sibling = queues[i].remove(pos);
                            queues[i].push(sibling);
                        }
                        open[i] = !queues[i].is_empty() && tried[i] < MAX_ATTEMPTS;
                    }
                    Attempt::Failed(why) => {
                        last_error[i] = why;
                        open[i] = false;
                    }
                }
                if !open[i] {
                    done += 1;
                }
            }
            eprintln!("changelogs: {done}/{total} source packages");
        }
    }
    for (i, p) in fetch.iter().enumerate() {
        if !result.entries.contains_key(&p.source) {
            let why = if last_error[i].is_empty() {
                "no binary package to download".to_owned()
            } else {
                std::mem::take(&mut last_error[i])
            };
            result.failures.push((p.source.clone(), why));
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    Ok(result)
}

/// `apt-get download NAME=VERSION…` into `dir`. A batch apt refuses as a whole (one version
/// gone from the mirror) is retried package by package, so one bad package does not sink the
/// others; each result is the `.deb` or apt's error.
fn apt_download(dir: &Path, requests: &[(String, String)]) -> Vec<Result<PathBuf, String>> {
    let run = Command::new("apt-get")
        .args(["-q", "download"])
        .args(requests.iter().map(|(n, v)| format!("{n}={v}")))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output();
    let (ok, errors) = match run {
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("E:")).collect();
            let msg = if errors.is_empty() {
                format!("apt-get download failed ({})", out.status)
            } else {
                errors.join("; ")
            };
            (out.status.success(), msg)
        }
        Err(e) => (false, format!("cannot run apt-get: {e}")),
    };
    let found = debs_in(dir);
    let results: Vec<Option<PathBuf>> = requests
        .iter()
        .map(|(name, _)| found.get(name.as_str()).cloned())
        .collect();
    if !ok && requests.len() > 1 && results.iter().any(Option::is_none) {
        return requests
            .iter()
            .zip(results)
            .map(|(req, got)| match got {
                Some(p) => Ok(p),
                None => apt_download(dir, std::slice::from_ref(req))
                    .pop()
                    .unwrap_or_else(|| Err(errors.clone())),
            })
            .collect();
    }
    results
        .into_iter()
        .map(|got| got.ok_or_else(|| errors.clone()))
        .collect()
}

/// `.deb` files in `dir` by package name (`name_version_arch.deb`).
fn debs_in(dir: &Path) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let (Some(stem), true) = (name.strip_suffix(".deb"), e.path().is_file()) {
            if let Some((pkg, _)) = stem.split_once('_') {
                out.insert(pkg.to_owned(), e.path());
            }
        }
    }
    out
}

/// What a `.deb` says about its changelog.
enum DebChangelog {
    /// `changelog.Debian.gz`, or `changelog.gz` for a native package, decompressed.
    Text(String),
    /// The package's doc directory is a symlink to this sibling's.
    LinkedTo(String),
    None,
}

/// The changelog of a `.deb`: `dpkg-deb --fsys-tarfile | tar -x` of the doc directories'
/// entries and changelogs only.
fn changelog_from_deb(deb: &Path, binary: &str, work: &Path) -> Result<DebChangelog> {
    let out = work.join("extract");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir(&out).with_context(|| format!("creating {}", out.display()))?;
    let result = extract_changelog(deb, binary, &out);
    let _ = fs::remove_dir_all(&out);
    result
}

fn extract_changelog(deb: &Path, binary: &str, out: &Path) -> Result<DebChangelog> {
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running dpkg-deb")?;
    let tar_in = dpkg.stdout.take().context("dpkg-deb output")?;
    // `*` stops at `/` and nothing recurses: the doc directories themselves (to see symlinks)
    // and their changelogs, nothing else. tar exits 2 for each pattern without a match (member
    // names may or may not start with `./`); the files tell what was found.
    let mut patterns = Vec::new();
    for prefix in ["./", ""] {
        for tail in ["", "/changelog.Debian.gz", "/changelog.gz"] {
            patterns.push(format!("{prefix}usr/share/doc/*{tail}"));
        }
    }
    let tar = Command::new("tar")
        .args([
            "-x",
            "--no-same-owner",
            "--no-same-permissions",
            "--no-recursion",
            "--wildcards",
            "--no-wildcards-match-slash",
            "-C",
        ])
        .arg(out)
        .args(&patterns)
        .stdin(Stdio::from(tar_in))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let dpkg_out = dpkg.wait_with_output().context("waiting for dpkg-deb")?;
    tar.context("running tar")?;
    if !dpkg_out.status.success() {
        bail!(
            "dpkg-deb --fsys-tarfile {} failed: {}",
            deb.display(),
            tail(&String::from_utf8_lossy(&dpkg_out.stderr), 3)
        );
    }
    let doc = out.join("usr/share/doc");
    // The binary's own directory first, then any other (a few packages name it differently).
    let mut dirs: Vec<(bool, PathBuf)> = Vec::new();
    let mut link = None;
    for e in fs::read_dir(&doc).into_iter().flatten().flatten() {
        let Ok(kind) = e.file_type() else { continue };
        let own = e.file_name() == binary;
        if kind.is_symlink() && own {
            // `usr/share/doc/openjdk-17-jre-zero -> openjdk-17-jre-headless`.
            link = fs::read_link(e.path())
                .ok()
                .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()));
        } else if kind.is_dir() {
            dirs.push((!own, e.path()));
        }
    }
    dirs.sort();
    for name in ["changelog.Debian.gz", "changelog.gz"] {
        for (_, dir) in &dirs {
            let f = dir.join(name);
            // Never through a symlink: that would read the host's copy.
            if !fs::symlink_metadata(&f).is_ok_and(|m| m.is_file()) {
                continue;
            }
            let mut bytes = Vec::new();
            flate2::read::MultiGzDecoder::new(
                fs::File::open(&f).with_context(|| format!("opening {}", f.display()))?,
            )
            .take(MAX_CHANGELOG_BYTES)
            .read_to_end(&mut bytes)
            .with_context(|| format!("decompressing the {name} of {binary}"))?;
            return Ok(DebChangelog::Text(
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    Ok(link.map_or(DebChangelog::None, DebChangelog::LinkedTo))
}

/// A private temporary directory, removed with its contents when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for i in 0..100u32 {
            let p = base.join(format!("{prefix}-{}-{nanos}-{i}", std::process::id()));
            match fs::DirBuilder::new().mode(0o700).create(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("creating a directory in {}", base.display()))
                }
            }
        }
        bail!("cannot create a temporary directory in {}", base.display())
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn warn_skips<S: std::fmt::Display>(file: &str, total: usize, skipped: &[S]) {
    if total == 0 {
        return;
    }
    let first = skipped.first().map(ToString::to_string).unwrap_or_default();
    eprintln!("vigil: warning: {file}: {total} entries skipped (first: {first})");
}

// ---------------------------------------------------------------------------------------------
// Reading a system tree

/// Resolves `rel` inside `root` as if `root` were `/`: symbolic links, absolute or relative, are
/// followed within the tree and `..` stops at the root, so a mounted image's
/// `/etc/os-release -> /usr/lib/os-release` reads the image's file, never the host's.
fn resolve_in_root(root: &Path, rel: &str) -> io::Result<PathBuf> {
    fn push_parts(pending: &mut Vec<OsString>, path: &Path) {
        let parts: Vec<OsString> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_owned()),
                Component::ParentDir => Some(OsString::from("..")),
                Component::RootDir | Component::Prefix(_) | Component::CurDir => None,
            })
            .collect();
        pending.extend(parts.into_iter().rev());
    }
    let mut pending = Vec::new();
    push_parts(&mut pending, Path::new(rel));
    let mut current = root.to_path_buf();
    let mut depth = 0usize;
    let mut links = 0usize;
    while let Some(part) = pending.pop() {
        if part == ".." {
            if depth > 0 {
                current.pop();
                depth -= 1;
            }
            continue;
        }
        let next = current.join(&part);
        let meta = fs::symlink_metadata(&next)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return Err(io::Error::other("too many levels of symbolic links"));
            }
            let target = fs::read_link(&next)?;
            if target.is_absolute() {
                current = root.to_path_buf();
                depth = 0;
            }
            push_parts(&mut pending, &target);
        } else {
            current = next;
            depth += 1;
        }
    }
    Ok(current)
}

/// Reads at most `cap` bytes; a longer file is an error rather than a silently cut one.
fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
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

fn read_os_release(root: &Path) -> Result<Option<os::OsRelease>> {
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
fn dpkg_problems(
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
struct HostPackages {
    /// `None` when the tree has no os-release or its release has no advisory feed.
    ecosystem: Option<Ecosystem>,
    /// os-release's name for people.
    os_name: String,
    packages: Vec<Package>,
    /// Where the packages came from.
    database: String,
    /// Damaged input: reported, and the scan exits non-zero.
    problems: Vec<String>,
    /// Why OS packages were not checked, when they were not.
    not_checked: Option<String>,
}

fn read_host(root: &Path) -> Result<HostPackages> {
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
fn find_lockfiles(path: &Path) -> Result<Vec<(PathBuf, LockfileKind)>> {
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

// ---------------------------------------------------------------------------------------------
// scan vulns

/// Options of `vigil scan vulns`.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub root: PathBuf,
    pub app_paths: Vec<PathBuf>,
    pub json: bool,
    pub db: PathBuf,
}

/// The advisories a scan uses and how to describe them.
struct ScanDb {
    db: Db,
    what: String,
    /// Oldest source's import time, for the freshness note.
    oldest: Option<(String, i64)>,
}

/// `--db` as given: a compiled database, or OSV advisories read on the fly.
fn open_scan_db(path: &Path) -> Result<ScanDb> {
    let meta = match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            bail!("no advisory database at {}: {NO_DB_HINT}", path.display())
        }
        Err(e) => bail!("{}: {e}", path.display()),
        Ok(m) => m,
    };
    let mut magic = [0u8; 8];
    let is_osv = if meta.is_dir() {
        true
    } else {
        let n = fs::File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .with_context(|| format!("reading {}", path.display()))?;
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        magic[..n].starts_with(b"PK\x03\x04") || matches!(ext.as_deref(), Some("json" | "zip"))
    };
    if !is_osv {
        let db = load_db(path)?;
        let oldest = db
            .sources()
            .iter()
            .min_by_key(|s| s.imported_at)
            .map(|s| (s.name.clone(), s.imported_at));
        let age = oldest
            .as_ref()
            .map(|(_, at)| format!(", oldest imported {} ago", human_age(now() - at)))
            .unwrap_or_default();
        let what = format!(
            "{} ({} source(s), {} advisories{age})",
            path.display(),
            db.sources().len(),
            db.advisory_count()
        );
        return Ok(ScanDb { db, what, oldest });
    }
    let parsed = osv::import_path(path).context("reading OSV advisories")?;
    warn_skips(
        &path.display().to_string(),
        parsed.skipped_total,
        &parsed.skipped,
    );
    let imp = parsed.value;
    if imp.advisories.is_empty() {
        bail!(
            "no advisories Vigil can match in {} ({} JSON file(s) read, {} skipped)",
            path.display(),
            imp.files,
            parsed.skipped_total
        );
    }
    let what = format!(
        "OSV advisories in {} ({} advisories)",
        path.display(),
        imp.advisories.len()
    );
    let mut b = DbBuilder::new();
    b.add_source("osv", now(), imp.advisories);
    let db = b.build().context("indexing the OSV advisories")?;
    Ok(ScanDb {
        db,
        what,
        oldest: None,
    })
}

/// One finding with where it was found.
struct Row {
    ecosystem: Ecosystem,
    /// The lock file, for application packages.
    lockfile: Option<String>,
    finding: Finding,
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

/// `vigil scan vulns`.
pub fn scan(opts: &ScanOptions) -> Result<()> {
    let scan_db = open_scan_db(&opts.db)?;
    let db = &scan_db.db;
    let host = read_host(&opts.root)?;
    for p in &host.problems {
        eprintln!("vigil: {p}");
    }
    let mut lockfile_list = Vec::new();
    for p in &opts.app_paths {
        lockfile_list.extend(find_lockfiles(p)?);
    }
    if host.ecosystem.is_none() && lockfile_list.is_empty() {
        let why = host.not_checked.clone().unwrap_or_default();
        if opts.app_paths.is_empty() {
            bail!("nothing to check: {why}, and no --app-path was given");
        }
        bail!("nothing to check: {why}, and no lock file under the --app-path directories");
    }

    let mut rows: Vec<Row> = Vec::new();
    let mut checked = 0usize;
    let mut with_data = 0usize;
    if let Some(eco) = &host.ecosystem {
        let installed: Vec<InstalledPackage> =
            host.packages.iter().map(InstalledPackage::from).collect();
        checked = installed.len();
        with_data = installed
            .iter()
            .filter(|p| {
                let name = p
                    .source_name
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&p.name);
                db.ranges(eco, &eco.normalize_package(name))
                    .next()
                    .is_some()
            })
            .count();
        rows.extend(
            vigil_vuln::match_packages(db, eco, &installed)
                .into_iter()
                .map(|finding| Row {
                    ecosystem: eco.clone(),
                    lockfile: None,
                    finding,
                }),
        );
    }
    let mut lock_problems = Vec::new();
    let mut app_packages = 0usize;
    for (path, kind) in &lockfile_list {
        let shown = path.display().to_string();
        let bytes = match read_capped(path, MAX_LOCKFILE_BYTES) {
            Ok(b) => b,
            Err(e) => {
                lock_problems.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let parsed = lockfiles::parse(*kind, &String::from_utf8_lossy(&bytes));
        if parsed.skipped_total > 0 {
            let first = parsed
                .skipped
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            eprintln!(
                "vigil: note: {shown}: skipped {} without a pinned registry version (first: {first})",
                parsed.skipped_total
            );
        }
        app_packages += parsed.value.len();
        let eco = kind.ecosystem();
        rows.extend(
            vigil_vuln::match_packages(db, &eco, &parsed.value)
                .into_iter()
                .map(|finding| Row {
                    ecosystem: eco.clone(),
                    lockfile: Some(shown.clone()),
                    finding,
                }),
        );
    }
    for p in &lock_problems {
        eprintln!("vigil: {p}");
    }
    if let Some((name, at)) = &scan_db.oldest {
        let age = now() - at;
        if age > STALE_SECS {
            eprintln!(
                "vigil: warning: advisory source {name} is {} old: refresh it ({})",
                human_age(age),
                refresh_hint(name)
            );
        }
    }
    if host.ecosystem.is_some() && checked > 0 && with_data == 0 {
        eprintln!(
            "vigil: warning: the advisory database has nothing on {} packages: its sources are for other systems, so these packages were not really checked",
            host.ecosystem.as_ref().map(ToString::to_string).unwrap_or_default()
        );
    }
    if let Some(why) = &host.not_checked {
        eprintln!("vigil: note: OS packages not checked: {why}");
    }

    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let report = Report {
        rows: &rows,
        host: &host,
        checked,
        with_data,
        lockfiles: lockfile_list.len(),
        app_packages,
        db_what: &scan_db.what,
    };
    let written = if opts.json {
        report.json(&mut out)
    } else {
        report.human(&mut out)
    }
    .and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(e).context("writing the report"),
    }
    let damaged = host.problems.len() + lock_problems.len();
    if damaged > 0 {
        bail!(
            "{damaged} problem(s) reading the package data (above): the findings may be incomplete"
        );
    }
    Ok(())
}

struct Report<'a> {
    rows: &'a [Row],
    host: &'a HostPackages,
    checked: usize,
    with_data: usize,
    lockfiles: usize,
    app_packages: usize,
    db_what: &'a str,
}

impl Report<'_> {
    fn json(&self, out: &mut impl Write) -> io::Result<()> {
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

    fn human(&self, out: &mut impl Write) -> io::Result<()> {
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
fn fix_commands(rows: &[Row]) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_index_names() {
        for yes in [
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
            "security.ubuntu.com_ubuntu_dists_jammy-security_universe_binary-amd64_Packages.gz",
        ] {
            assert!(is_security_index(yes), "{yes}");
        }
        for no in [
            "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
            "deb.debian.org_debian-security_dists_bookworm-security_InRelease",
            "deb.debian.org_debian-security_dists_bookworm-security_main_source_Sources.xz",
            "deb.debian.org_debian-security_dists_bookworm-security_main_i18n_Translation-en",
        ] {
            assert!(!is_security_index(no), "{no}");
        }
        assert_eq!(
            suite_of("deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4")
                .as_deref(),
            Some("bookworm-security")
        );
        assert_eq!(suite_of("nodists"), None);
    }

    #[test]
    fn sizes_from_the_index() {
        let text = "Package: a\nVersion: 1\nInstalled-Size: 33\nSize: 10\n\nPackage: b\nVersion: 2\n\nPackage: c\nSize: 7\nVersion: 3";
        let s = index_sizes(text);
        assert_eq!(s.len(), 2);
        let a = s[&("a".to_owned(), "1".to_owned())];
        assert_eq!((a.bytes, a.installed_kib), (10, 33));
        assert_eq!(s[&("c".to_owned(), "3".to_owned())].bytes, 7);
    }

    fn installed(name: &str, source: &str, version: &str, source_version: &str) -> Package {
        Package {
            format: vigil_model::PackageFormat::Dpkg,
            name: name.into(),
            version: version.into(),
            arch: "amd64".into(),
            source: source.into(),
            source_version: source_version.into(),
        }
    }

    #[test]
    fn pending_sources_compare_source_versions_and_order_by_size() {
        let text = "\
Package: linux-image-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 13
Size: 1500

Package: linux-image-6.1.0-41-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 400000
Size: 70000000

Package: libssl3
Source: openssl
Version: 3.0.22-1~deb12u2
Size: 2000000

Package: openssl
Version: 3.0.22-1~deb12u2
Size: 1400000

Package: jq
Version: 1.6-2.1+deb12u3
Size: 64000
";
        let index = debian::parse_packages(text).value;
        let updates = debian::source_updates(&index);
        let sizes = index_sizes(text);
        let host = [
            installed(
                "linux-image-amd64",
                "linux-signed-amd64",
                "6.1.76-1",
                "6.1.76+1",
            ),
            installed("libssl3", "openssl", "3.0.19-1~deb12u2", "3.0.19-1~deb12u2"),
            installed("openssl", "openssl", "3.0.22-1~deb12u2", "3.0.22-1~deb12u2"),
            // Up to date: nothing pending.
            installed("jq", "jq", "1.6-2.1+deb12u3", "1.6-2.1+deb12u3"),
        ];
        let p = pending_sources(&updates, &index, &host, &sizes);
        let names: Vec<&str> = p.iter().map(|x| x.source.as_str()).collect();
        assert_eq!(
            names,
            ["openssl", "linux-signed-amd64"],
            "smallest download first"
        );
        assert_eq!(
            p[1].candidates,
            [
                (
                    "linux-image-6.1.0-41-amd64".to_owned(),
                    "6.1.192-2".to_owned()
                ),
                ("linux-image-amd64".to_owned(), "6.1.192-2".to_owned()),
            ],
            "a metapackage (a few KiB installed) has no changelog of its own: last"
        );
        assert_eq!(p[1].installed, "6.1.76+1");
        assert_eq!(p[0].binaries, ["libssl3"]);
        assert_eq!(p[0].candidates[0].0, "openssl", "the smaller binary first");
    }

    #[test]
    fn an_upload_without_cve_still_covers_the_suite_version() {
        let changelog = "\
foo (1.0-1+deb12u2) bookworm; urgency=medium

  * Fix a crash.

 -- A <a@b>  Mon, 01 Jan 2024 10:00:00 +0100

foo (1.0-1+deb12u1) bookworm-security; urgency=high

  * CVE-2024-0001

 -- A <a@b>  Sun, 31 Dec 2023 10:00:00 +0100
";
        let entries = debian::parse_changelog(changelog).value;
        let u = SourceUpdate {
            source: "foo".into(),
            version: "1.0-1+deb12u2".into(),
            binaries: vec!["foo".into()],
        };
        let advs = source_advisories(&u, &entries, "12");
        let ids: Vec<&str> = advs.iter().map(|a| a.ids[0].as_str()).collect();
        assert_eq!(ids, ["CVE-2024-0001", "DEBSEC-foo-1.0-1+deb12u2"]);
        // When the top entry names a CVE, no index advisory is added.
        let entries = &entries[1..];
        let u = SourceUpdate {
            version: "1.0-1+deb12u1".into(),
            ..u
        };
        assert_eq!(source_advisories(&u, entries, "12").len(), 1);
    }

    #[test]
    fn families_split() {
        let osv = r#"{"id":"GHSA-x","affected":[
            {"package":{"name":"a","ecosystem":"npm"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]},
            {"package":{"name":"b","ecosystem":"PyPI"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}]}"#;
        let imp = osv::parse("x.json", osv.as_bytes()).value;
        let split = split_by_family(imp.advisories);
        let families: Vec<Family> = split.keys().copied().collect();
        assert_eq!(families, [Family::PyPI, Family::Npm]);
        assert!(split
            .values()
            .all(|v| v.len() == 1 && v[0].ranges.len() == 1));
    }

    #[test]
    fn root_resolution_stays_inside() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("vigil-vulns-root-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let root = dir.join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::write(root.join("usr/lib/os-release"), "ID=inside\n").unwrap();
        fs::write(dir.join("outside"), "ID=outside\n").unwrap();
        symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
        symlink("../../../outside", root.join("etc/escape")).unwrap();
        symlink("loop", root.join("etc/loop")).unwrap();
        let read = |rel: &str| fs::read_to_string(resolve_in_root(&root, rel).unwrap()).unwrap();
        assert_eq!(read("etc/os-release"), "ID=inside\n");
        // `..` stops at the root: ../../../outside is ROOT/outside, which does not exist.
        assert_eq!(
            resolve_in_root(&root, "etc/escape").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(resolve_in_root(&root, "etc/loop").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dpkg_problems_name_file_line_and_package() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok installed\n\nPackage: c\nStatus: install ok installed\nVers";
        let parsed = packages::dpkg_status(text);
        let p = dpkg_problems("S", text, &parsed);
        assert_eq!(
            p,
            [
                "S:5 (package b): installed stanza without Package or Version",
                "S:10 (package c): no ':' in 'Vers'",
                "S:8 (package c): installed stanza without Package or Version",
                "S:10 (package c): the file ends in the middle of a line: truncated? (that entry may be incomplete)",
            ]
        );
        assert!(dpkg_problems("S", "", &packages::dpkg_status(""))[0].contains("empty"));
    }

    #[test]
    fn fix_commands_merge_per_tool() {
        let row = |pkg: &str, cmd: Option<&str>, lock: Option<&str>| Row {
            ecosystem: Ecosystem::new(Family::Debian, Some("12")),
            lockfile: lock.map(str::to_owned),
            finding: Finding {
                ids: vec!["CVE-1".into()],
                package: pkg.into(),
                source: None,
                installed: "1".into(),
                compared_version: "1".into(),
                fixed: Some("2".into()),
                level: vigil_vuln::Level::High,
                rce: false,
                summary: String::new(),
                fix_command: cmd.map(str::to_owned),
                needs_restart: false,
            },
        };
        let rows = [
            row(
                "libssl3",
                Some("apt-get install --only-upgrade libssl3"),
                None,
            ),
            row(
                "openssl",
                Some("apt-get install --only-upgrade openssl"),
                None,
            ),
            row(
                "libssl3",
                Some("apt-get install --only-upgrade libssl3"),
                None,
            ),
            row(
                "flask",
                Some("pip install 'flask>=2.2.5'"),
                Some("app/requirements.txt"),
            ),
            row("weird", None, None),
        ];
        assert_eq!(
            fix_commands(&rows),
            [
                "apt-get install --only-upgrade libssl3 openssl",
                "pip install 'flask>=2.2.5'   # app/requirements.txt"
            ]
        );
    }

    #[test]
    fn ages_and_sizes_read_well() {
        assert_eq!(human_age(30), "30 s");
        assert_eq!(human_age(3_600), "60 min");
        assert_eq!(human_age(10_800), "3 h");
        assert_eq!(human_age(9 * 86_400), "9 d");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
    }
}
