//! Changelogs of pending sources: `apt-get download` in batches, then the changelog read out of
//! each `.deb` (`dpkg-deb | tar`) in a private temporary directory.

use super::apt::Pending;
use super::tail;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use vigil_vuln::debian::{self, ChangelogEntry};

/// Packages per `apt-get download` call: one call costs about a second of cache loading, so
/// batching matters; small batches keep the progress line moving.
const DOWNLOAD_BATCH: usize = 8;
/// Binaries of one source tried for a changelog (some ship their doc directory as a symlink).
const MAX_ATTEMPTS: usize = 3;
const MAX_CHANGELOG_BYTES: u64 = 64 << 20;

#[derive(Debug, Default)]
pub(super) struct Fetched {
    /// Parsed changelog per source.
    pub(super) entries: HashMap<String, Vec<ChangelogEntry>>,
    /// Sources without a changelog, and why.
    pub(super) failures: Vec<(String, String)>,
    pub(super) seconds: f64,
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
pub(super) fn fetch_changelogs(fetch: &[&Pending]) -> Result<Fetched> {
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
