//! `vigil scan files`: known-bad files (by MD5 and SHA-256) and credential leaks in files and
//! trees, offline, as a summary or JSON records (`{"record":"finding",…}` per finding, then
//! `{"record":"summary",…}`).

use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use vigil_agent::files::{digests, is_binary, walk, WalkOptions};
use vigil_detect::secrets::SecretFinding;
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
    let bad = &content.malware_hashes;
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
        let (md5, sha256) = digests(bytes);
        let mut found = Vec::new();
        if let Some((name, by)) = bad.lookup(&md5, &sha256) {
            found.push(SecretFinding {
                rule: format!("hash:{name}"),
                name: format!("known-bad file {name}"),
                level: Level::Urgent,
                line: 0,
                masked: String::new(),
                signals: vec![format!("{by} in the known-bad list")],
            });
        }
        if is_binary(bytes) {
            binary += 1;
        } else {
            found.extend(rules.scan(&shown, &String::from_utf8_lossy(bytes)));
        }
        for f in &found {
            let (kind, detail) = if f.rule.starts_with("hash:") {
                ("malware", f.name.clone())
            } else {
                ("secret", format!("line {}: {}", f.line, f.masked))
            };
            findings += 1;
            let written = if opts.json {
                let rec = Finding {
                    record: "finding",
                    kind,
                    rule: &f.rule,
                    name: &f.name,
                    path: shown.clone(),
                    md5: &md5,
                    sha256: &sha256,
                    level: f.level.as_str(),
                    signals: &f.signals,
                    detail,
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
                    if kind == "malware" {
                        &sha256
                    } else {
                        &f.masked
                    }
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
