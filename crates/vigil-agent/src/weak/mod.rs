//! The weak-password scan (SPEC R-BL1): guesses from [`words`] verified against the hashes of
//! system accounts (`/etc/shadow`), Redis ACL users, MySQL/MariaDB accounts and WordPress
//! administrators, and plaintext secrets in their configuration judged directly. What it
//! finds becomes [`CredentialScan`] facts the baseline checks judge; no password it finds is
//! kept, printed or sent, only why it is weak.
//!
//! Slow hashes (yescrypt, sha512crypt, bcrypt …) are paced by a CPU share: after each stretch
//! of hashing the scan sleeps so that it uses at most `cpu_share` of one core. Each run has a
//! time bound and a per-account guess cap; [`Progress`] remembers, per account and hash, how far
//! earlier runs got (and which guess matched), so the next run goes on where the last stopped
//! and a changed password starts afresh.

pub mod hashes;
mod mysql;
mod redis;
mod wordpress;
pub mod words;

use hashes::Scheme;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use vigil_detect::baseline::{AccountScan, CredentialScan};
use words::{candidates, Reason};

/// How hard a scan may work.
#[derive(Debug, Clone)]
pub struct Options {
    /// The share of one core the slow-hash work may use (0.03: 3 %).
    pub cpu_share: f64,
    /// The whole scan stops guessing after this long; the next run goes on.
    pub time_limit: Duration,
    /// Slow-hash guesses per account per run at most.
    pub max_slow_guesses: u64,
    /// Login tries per account against a live server that cannot be read directly (each may
    /// count toward the server's lock-out), and the pause between them.
    pub login_tries: u64,
    pub login_pause: Duration,
    /// Whether to connect to the services of this host (false for a tree).
    pub network: bool,
}

impl Options {
    /// The agent's scheduled run: a few percent of one core, ten minutes at most.
    pub fn background() -> Options {
        Options {
            cpu_share: 0.03,
            time_limit: Duration::from_secs(600),
            max_slow_guesses: 2_000,
            login_tries: 10,
            login_pause: Duration::from_millis(500),
            network: true,
        }
    }

    /// `vigil scan baseline --passwords`: a whole core, for `secs` seconds.
    pub fn foreground(secs: u64, network: bool) -> Options {
        Options {
            cpu_share: 1.0,
            time_limit: Duration::from_secs(secs),
            max_slow_guesses: u64::MAX,
            login_tries: 10,
            login_pause: Duration::from_millis(200),
            network,
        }
    }
}

/// Per account and hash (by a digest of both): guesses already tried without a match, and the
/// index of the guess that matched, if one did.
pub type Progress = BTreeMap<String, Tried>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tried {
    pub done: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
}

/// A scan in progress: the word list, the pacing and the time bound.
pub struct Scanner<'a> {
    pub root: &'a Path,
    pub host: String,
    pub common: &'a [String],
    pub opts: Options,
    pub progress: &'a mut Progress,
    started: Instant,
    pacer: crate::pace::Pacer,
    /// Hash verifications by scheme: count and time spent.
    pub verified: BTreeMap<&'static str, (u64, Duration)>,
}

impl<'a> Scanner<'a> {
    pub fn new(
        root: &'a Path,
        host: &str,
        common: &'a [String],
        opts: Options,
        progress: &'a mut Progress,
    ) -> Scanner<'a> {
        let pacer = crate::pace::Pacer::new(opts.cpu_share);
        Scanner {
            root,
            host: host.to_string(),
            common,
            opts,
            progress,
            started: Instant::now(),
            pacer,
            verified: BTreeMap::new(),
        }
    }

    /// Every source found on the host (or tree), by source name.
    pub fn scan(&mut self) -> BTreeMap<String, CredentialScan> {
        let mut out = BTreeMap::new();
        if let Some(s) = self.system() {
            out.insert("system".to_string(), s);
        }
        if let Some(s) = redis::scan(self) {
            out.insert("redis".to_string(), s);
        }
        if let Some((accounts, remote_root)) = mysql::scan(self) {
            out.insert("mysql".to_string(), accounts);
            if let Some(r) = remote_root {
                out.insert("mysql_remote_root".to_string(), r);
            }
        }
        if let Some(s) = wordpress::scan(self) {
            out.insert("wordpress".to_string(), s);
        }
        out
    }

    pub fn out_of_time(&self) -> bool {
        self.started.elapsed() >= self.opts.time_limit
    }

    /// Records `spent` hashing and sleeps when the stretch is long enough to pace.
    fn pace(&mut self, spent: Duration) {
        let left = self.opts.time_limit.saturating_sub(self.started.elapsed());
        self.pacer.spent(spent, left);
    }

    /// Guesses `hash` (of `account` in `source`): the account's scan entry, and a note when the
    /// scheme cannot be verified.
    pub fn guess_hash(
        &mut self,
        source: &str,
        account: &str,
        hash: &str,
    ) -> (AccountScan, Option<String>) {
        let Some(scheme) = Scheme::of(hash) else {
            return (
                AccountScan {
                    account: account.to_string(),
                    ..AccountScan::default()
                },
                Some(format!("{account}: hash scheme not verifiable")),
            );
        };
        let guesses = candidates(account, &self.host, self.common);
        let of = guesses.len() as u64;
        let key = progress_key(source, account, hash, of);
        let mut tried = self.progress.get(&key).copied().unwrap_or_default();
        let mut weak = None;
        if let Some(i) = tried.matched {
            // A match found earlier: confirm it (one guess) so a changed list cannot lie.
            if let Some((w, r)) = guesses.get(i as usize) {
                if self.verify(scheme, hash, w) {
                    weak = Some(*r);
                } else {
                    tried = Tried::default();
                }
            }
        }
        let cap = if scheme.slow() {
            self.opts.max_slow_guesses
        } else {
            u64::MAX
        };
        let mut this_run = 0u64;
        while weak.is_none() && tried.done < of && this_run < cap && !self.out_of_time() {
            let (w, r) = &guesses[tried.done as usize];
            if self.verify(scheme, hash, w) {
                weak = Some(*r);
                tried.matched = Some(tried.done);
            }
            tried.done += 1;
            this_run += 1;
        }
        self.progress.insert(key, tried);
        (
            AccountScan {
                account: account.to_string(),
                weak: weak.map(|r: Reason| r.text().to_string()),
                guesses: if weak.is_some() {
                    tried.matched.map_or(tried.done, |m| m + 1)
                } else {
                    tried.done
                },
                of,
            },
            None,
        )
    }

    fn verify(&mut self, scheme: Scheme, hash: &str, guess: &str) -> bool {
        let t = Instant::now();
        let ok = hashes::verify(scheme, hash, guess);
        let spent = t.elapsed();
        let e = self.verified.entry(scheme.name()).or_default();
        e.0 += 1;
        e.1 += spent;
        if scheme.slow() {
            self.pace(spent);
        }
        ok
    }

    /// A plaintext secret found in configuration, judged without any hashing.
    pub fn judge_plain(&self, account: &str, secret: &str) -> AccountScan {
        AccountScan {
            account: account.to_string(),
            weak: words::judge_plain(secret, account, &self.host, self.common),
            guesses: 1,
            of: 1,
        }
    }

    /// Reads a file of the host or tree (at most 1 MiB), following links only inside it.
    pub fn read(&self, path: &str) -> Option<String> {
        let real = crate::tree::resolve_in_root(self.root, path).ok()?;
        let meta = std::fs::metadata(&real).ok()?;
        if !meta.is_file() || meta.len() > crate::baseline::MAX_FILE_BYTES {
            return None;
        }
        crate::baseline::read_capped(&real, crate::baseline::MAX_FILE_BYTES)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The names in a directory of the host or tree, sorted.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let Ok(real) = crate::tree::resolve_in_root(self.root, dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = std::fs::read_dir(real)
            .map(|rd| {
                rd.flatten()
                    .take(10_000)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// System accounts from `/etc/shadow`: every account with a usable password hash.
    fn system(&mut self) -> Option<CredentialScan> {
        let shadow = self.read("/etc/shadow")?;
        let mut scan = CredentialScan {
            location: "/etc/shadow".into(),
            ..CredentialScan::default()
        };
        let mut notes = Vec::new();
        for line in shadow.lines().take(10_000) {
            let mut f = line.split(':');
            let (Some(name), Some(hash)) = (f.next(), f.next()) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            // `!…` and `*…` are locked; no password logs in with them.
            if hash.starts_with('!') || hash.starts_with('*') || hash == "x" {
                continue;
            }
            if hash.is_empty() {
                scan.accounts.push(AccountScan {
                    account: name.into(),
                    weak: Some("empty password (no password asked)".into()),
                    guesses: 0,
                    of: 0,
                });
                continue;
            }
            let (account, note) = self.guess_hash("system", name, hash);
            scan.accounts.push(account);
            notes.extend(note);
        }
        if self.out_of_time() {
            notes.push("time bound reached; the next run goes on".into());
        }
        Some(with_notes(scan, notes))
    }
}

/// The scan, with what kept it from being complete (if anything) as its error.
fn with_notes(mut scan: CredentialScan, notes: Vec<String>) -> CredentialScan {
    if !notes.is_empty() {
        scan.error = Some(notes.join("; "));
    }
    scan
}

/// Debian's john-data list, read (when installed) after the shipped one.
pub const JOHN_LIST: &str = "/usr/share/john/password.lst";

/// The shipped common-password list, then john-data's when it is installed (its `#!comment`
/// lines skipped), deduplicated.
pub fn word_list(shipped: &[String]) -> Vec<String> {
    let mut out = shipped.to_vec();
    if let Ok(text) = std::fs::read_to_string(JOHN_LIST) {
        let mut seen: std::collections::HashSet<String> = out.iter().cloned().collect();
        for w in text
            .lines()
            .filter(|l| !l.starts_with("#!comment") && !l.is_empty())
        {
            if seen.insert(w.to_string()) {
                out.push(w.to_string());
            }
        }
    }
    out
}

/// The host's name, for the guesses made from it: the tree's `/etc/hostname`, or the
/// running kernel's.
pub fn host_name(root: &Path) -> String {
    std::fs::read_to_string(root.join("etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The progress of earlier runs (none when the file is missing or unreadable).
pub fn load_progress(path: &Path) -> Progress {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Saves the progress, mode 0600, atomically.
pub fn save_progress(path: &Path, progress: &Progress) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&serde_json::to_vec(progress).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn progress_key(source: &str, account: &str, hash: &str, of: u64) -> String {
    let mut h = Sha256::new();
    for part in [source, account, hash, &of.to_string()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests;
