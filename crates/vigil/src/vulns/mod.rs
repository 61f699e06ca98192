//! `vigil vulndb …` and `vigil scan vulns`: builds the advisory database from the host's apt
//! security suite or from OSV advisories, and checks a system tree's packages and application
//! lock files against it, offline.
//!
//! The parsing and matching live in `vigil-collect` and `vigil-vuln`; this module owns the file
//! system and the child processes around them (`apt-get`, `dpkg-deb`, `tar`, `rpm`) and what the
//! operator sees. One file per command (`status`, `import`, `apt` with its `fetch`, `scan` with
//! its `report`); `tree` reads a system tree for the scan. What they share (the database file,
//! human-readable sizes and ages, tables) stays here.

mod apt;
mod fetch;
mod import;
mod report;
mod scan;
mod status;
#[cfg(test)]
mod tests;
mod tree;

pub use apt::{update_apt, AptUpdate};
pub use import::import;
pub use scan::{scan, ScanOptions};
pub use status::status;

use anyhow::{anyhow, bail, Context, Result};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use vigil_vuln::{Db, DbBuilder};

/// The database's file name in the data directory.
pub const DB_FILE: &str = "vulndb.bin";
/// A source older than this is reported as stale.
const STALE_SECS: i64 = 7 * 86_400;
const DPKG_STATUS: &str = "var/lib/dpkg/status";
const MAX_INVENTORY_BYTES: u64 = 512 << 20;
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

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn warn_skips<S: std::fmt::Display>(file: &str, total: usize, skipped: &[S]) {
    if total == 0 {
        return;
    }
    let first = skipped.first().map(ToString::to_string).unwrap_or_default();
    eprintln!("vigil: warning: {file}: {total} entries skipped (first: {first})");
}
