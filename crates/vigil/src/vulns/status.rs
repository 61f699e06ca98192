//! `vigil vulndb status`: what the database holds and how old each source is.

use super::{human_age, human_bytes, load_db, now, refresh_hint, rfc3339, table, STALE_SECS};
use anyhow::Result;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

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
