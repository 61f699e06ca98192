//! `vigil vulndb import`: OSV advisories into the database, one source per ecosystem family.

use super::{build_and_save, existing_db, human_bytes, now};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;
use vigil_vuln::{osv, Advisory, DbBuilder, Family};

/// Skip reasons quoted after an import or parse.
const SHOWN_SKIPS: usize = 5;

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
pub(super) fn split_by_family(advisories: Vec<Advisory>) -> BTreeMap<Family, Vec<Advisory>> {
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
