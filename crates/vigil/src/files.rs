//! `vigil scan files`: known-bad files (by MD5 and SHA-256) and credential leaks in files and
//! trees, offline, as a summary or JSON records (`{"record":"finding",…}` per finding, then
//! `{"record":"summary",…}`).

use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use vigil_agent::files::{is_binary, judge, walk, FileFinding, Judged, WalkOptions};
use vigil_model::Level;

pub struct FilesScan {
    pub paths: Vec<PathBuf>,
    /// A directory whose `secrets.toml` replaces the shipped credential rules.
    pub rules: Option<PathBuf>,
    pub json: bool,
    pub max_size: u64,
}

#[derive(Serialize)]
struct Finding<'a> {
    record: &'static str,
    kind: &'static str,
    rule: &'a str,
    name: &'a str,
    path: String,
    md5: &'a str,
    sha256: &'a str,
    level: &'static str,
    signals: &'a [String],
    /// The line and the masked value: the secret itself is never printed.
    detail: String,
    line: usize,
}

/// A finding as printed: the hash list's and the credential rules' in one shape.
struct Shown {
    kind: &'static str,
    rule: String,
    name: String,
    level: Level,
    /// 1-based; 0 for a finding about the whole file.
    line: usize,
    signals: Vec<String>,
    detail: String,
    /// What the text output shows last: the masked value, or the file's SHA-256.
    value: String,
}

#[derive(Serialize)]
struct Summary<'a> {
    record: &'static str,
    files: u64,
    bytes: u64,
    binary: u64,
    findings: usize,
    skipped: &'a std::collections::BTreeMap<&'static str, u64>,
    seconds: f64,
}

/// Runs the scan, writing to `out`; returns the number of findings.
pub fn scan(opts: &FilesScan, out: &mut impl Write) -> Result<usize> {
    let content = match &opts.rules {
        Some(dir) => {
            let path = dir.join("secrets.toml");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let overrides = [("rules/secrets.toml".to_string(), text)]
                .into_iter()
                .collect();
            vigil_content::Content::build(&overrides)?
        }
        None => vigil_content::Content::build(&Default::default())?,
    };
    let rules = content.secret_rules();
    let started = Instant::now();
    let walk_opts = WalkOptions {
        max_size: opts.max_size,
        ..WalkOptions::default()
    };
    let mut findings = 0usize;
    let mut binary = 0u64;
    let mut failed: Option<std::io::Error> = None;
    let stats = walk(&opts.paths, &walk_opts, |path, _meta, bytes| {
        if failed.is_some() {
            return;
        }
        let shown = path.display().to_string();
        if is_binary(bytes) {
            binary += 1;
        }
        let Judged {
            md5,
            sha256,
            findings: found,
        } = judge(&content, &rules, &shown, bytes);
        for found in found {
            let f = match found {
                FileFinding::Malware { name, by } => Shown {
                    kind: "malware",
                    rule: format!("hash:{name}"),
                    name: format!("known-bad file {name}"),
                    level: Level::Urgent,
                    line: 0,
                    signals: vec![format!("{by} in the known-bad list")],
                    detail: format!("known-bad file {name}"),
                    value: sha256.clone(),
                },
                FileFinding::Secret(f) => Shown {
                    kind: "secret",
                    detail: format!("line {}: {}", f.line, f.masked),
                    rule: f.rule,
                    name: f.name,
                    level: f.level,
                    line: f.line,
                    signals: f.signals,
                    value: f.masked,
                },
            };
            findings += 1;
            let written = if opts.json {
                let rec = Finding {
                    record: "finding",
                    kind: f.kind,
                    rule: &f.rule,
                    name: &f.name,
                    path: shown.clone(),
                    md5: &md5,
                    sha256: &sha256,
                    level: f.level.as_str(),
                    signals: &f.signals,
                    detail: f.detail,
                    line: f.line,
                };
                serde_json::to_writer(&mut *out, &rec)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
            } else {
                writeln!(
                    out,
                    "{:<10} {}:{}  {} ({})  {}",
                    f.level.as_str(),
                    shown,
                    f.line,
                    f.name,
                    f.signals.join(", "),
                    f.value
                )
            };
            if let Err(e) = written {
                failed = Some(e);
                return;
            }
        }
    });
    if let Some(e) = failed {
        return Err(e).context("writing the findings");
    }
    let seconds = started.elapsed().as_secs_f64();
    if opts.json {
        let s = Summary {
            record: "summary",
            files: stats.files,
            bytes: stats.bytes,
            binary,
            findings,
            skipped: &stats.skipped,
            seconds,
        };
        serde_json::to_writer(&mut *out, &s)?;
        out.write_all(b"\n")?;
    } else {
        writeln!(
            out,
            "\n{} files ({:.1} MiB, {binary} binary) in {seconds:.2}s: {findings} finding(s); {} skipped",
            stats.files,
            stats.bytes as f64 / 1048576.0,
            stats.skipped_total()
        )?;
        for (why, n) in &stats.skipped {
            writeln!(out, "  skipped {n}: {why}")?;
        }
    }
    out.flush()?;
    Ok(findings)
}
