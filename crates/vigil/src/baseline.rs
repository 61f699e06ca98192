//! `vigil scan baseline`: the baseline checks on this host or a tree, as a summary grouped by
//! category or as JSON records.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use vigil_agent::baseline::{collect, Source};
use vigil_detect::baseline::{Check, CheckResult, Status};

#[derive(Serialize)]
struct Record<'a> {
    record: &'static str,
    id: &'a str,
    title: &'a str,
    category: &'static str,
    level: &'static str,
    status: &'static str,
    evidence: &'a str,
    file: &'a str,
    remediation: &'a str,
    refs: &'a [String],
}

#[derive(Serialize)]
struct Summary {
    record: &'static str,
    root: String,
    checks: usize,
    passed: usize,
    failed: usize,
    not_applicable: usize,
    error: usize,
    seconds: f64,
    /// Hash verifications of the weak-password scan, by scheme.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    hashes: BTreeMap<&'static str, HashRate>,
}

#[derive(Serialize)]
struct HashRate {
    count: u64,
    per_second: f64,
}

/// True when `selector` (an id, or a family prefix ending in `.`) names check `c`.
fn names(selector: &str, c: &Check) -> bool {
    c.id == selector || (selector.ends_with('.') && c.id.starts_with(selector))
}

/// The checks `selected` names; all when empty.
fn select(all: Vec<Check>, selected: &[String]) -> Result<Vec<Check>> {
    if let Some(s) = selected.iter().find(|s| !all.iter().any(|c| names(s, c))) {
        bail!("--check {s:?} names no check (`vigil scan baseline --json` lists them)");
    }
    if selected.is_empty() {
        return Ok(all);
    }
    Ok(all
        .into_iter()
        .filter(|c| selected.iter().any(|s| names(s, c)))
        .collect())
}

pub fn scan(
    root: &Path,
    selected: &[String],
    json: bool,
    content: Option<&Path>,
    passwords: Option<(u64, f64)>,
) -> Result<()> {
    let started = Instant::now();
    let pack = match content {
        None => vigil_content::Content::embedded(),
        Some(dir) => {
            let overrides = vigil_content::load::read_tree(dir)?;
            vigil_content::Content::build(&overrides)?
        }
    };
    let checks = select(pack.baseline, selected)?;
    let meta = std::fs::metadata(root).with_context(|| format!("reading {}", root.display()))?;
    if !meta.is_dir() {
        bail!("--root {} is not a directory", root.display());
    }
    let live = root == Path::new("/");
    let mut facts = collect(&Source { root, live }, &checks);
    let mut hashes = BTreeMap::new();
    if let Some((secs, cpu_share)) = passwords {
        let words = vigil_agent::weak::word_list(&pack.weak_passwords);
        let host = vigil_agent::weak::host_name(root);
        let mut progress = vigil_agent::weak::Progress::new();
        let opts = vigil_agent::weak::Options {
            cpu_share,
            ..vigil_agent::weak::Options::foreground(secs, live)
        };
        let mut scanner = vigil_agent::weak::Scanner::new(root, &host, &words, opts, &mut progress);
        facts.credentials = Some(scanner.scan());
        for (scheme, (count, spent)) in &scanner.verified {
            let per_second = *count as f64 / spent.as_secs_f64().max(1e-9);
            hashes.insert(
                *scheme,
                HashRate {
                    count: *count,
                    per_second: per_second.round(),
                },
            );
        }
    }
    let results = vigil_detect::baseline::evaluate(&checks, &facts);
    let seconds = started.elapsed().as_secs_f64();
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let summary = Summary {
        record: "summary",
        root: root.display().to_string(),
        checks: results.len(),
        passed: count(Status::Passed),
        failed: count(Status::Failed),
        not_applicable: count(Status::NotApplicable),
        error: count(Status::Error),
        seconds: (seconds * 1000.0).round() / 1000.0,
        hashes,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        for (c, r) in checks.iter().zip(&results) {
            let rec = record(c, r);
            writeln!(out, "{}", serde_json::to_string(&rec)?)?;
        }
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
        return Ok(());
    }
    let mut by_category: BTreeMap<&str, Vec<(&Check, &CheckResult)>> = BTreeMap::new();
    for (c, r) in checks.iter().zip(&results) {
        by_category
            .entry(c.category.as_str())
            .or_default()
            .push((c, r));
    }
    for (category, items) in by_category {
        let failed = items
            .iter()
            .filter(|(_, r)| r.status == Status::Failed)
            .count();
        writeln!(
            out,
            "{} ({} checks, {failed} failed)",
            category.replace('_', " "),
            items.len()
        )?;
        let mut items = items;
        items.sort_by_key(|(c, r)| {
            (
                r.status != Status::Failed,
                std::cmp::Reverse(c.level),
                c.id.clone(),
            )
        });
        for (c, r) in items {
            let mark = match r.status {
                Status::Passed => "ok  ",
                Status::Failed => "FAIL",
                Status::NotApplicable => "n/a ",
                Status::Error => "ERR ",
            };
            writeln!(
                out,
                "  {mark} {:<6} {:<44} {}",
                c.level.as_str(),
                c.id,
                c.title
            )?;
            if matches!(r.status, Status::Failed | Status::Error) {
                let at = if r.file.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.file)
                };
                writeln!(out, "         {}{at}", r.evidence)?;
                if r.status == Status::Failed {
                    writeln!(out, "         fix: {}", c.remediation)?;
                }
            }
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "{}: {} checks in {:.2} s: {} passed, {} failed, {} not applicable, {} errors",
        summary.root,
        summary.checks,
        seconds,
        summary.passed,
        summary.failed,
        summary.not_applicable,
        summary.error
    )?;
    if !summary.hashes.is_empty() {
        let rates: Vec<String> = summary
            .hashes
            .iter()
            .map(|(k, r)| format!("{k} {} ({}/s)", r.count, r.per_second))
            .collect();
        writeln!(out, "weak-password guesses verified: {}", rates.join(", "))?;
    }
    Ok(())
}

fn record<'a>(c: &'a Check, r: &'a CheckResult) -> Record<'a> {
    Record {
        record: "check",
        id: &c.id,
        title: &c.title,
        category: c.category.as_str(),
        level: c.level.as_str(),
        status: r.status.as_str(),
        evidence: &r.evidence,
        file: &r.file,
        remediation: &c.remediation,
        refs: &c.refs,
    }
}
