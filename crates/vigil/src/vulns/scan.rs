//! `vigil scan vulns`: opens the advisories (a database or OSV files), matches the tree's OS
//! packages and lock files, warns about stale or unrelated data and prints the report.

use super::report::{Report, Row};
use super::tree::{find_lockfiles, read_capped, read_host};
use super::{human_age, load_db, now, refresh_hint, warn_skips, NO_DB_HINT, STALE_SECS};
use anyhow::{bail, Context, Result};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use vigil_vuln::lockfiles;
use vigil_vuln::{osv, Db, DbBuilder, InstalledPackage};

const MAX_LOCKFILE_BYTES: u64 = 64 << 20;

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
