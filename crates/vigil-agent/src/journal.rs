//! Login lines from the systemd journal: a `journalctl --follow --output=json` child filtered to
//! the login programs, read on its own thread into a bounded queue. The agent saves the cursor
//! of the last entry it handled, so a restart (even `kill -9`) resumes after it; the first run
//! starts at the journal's end, as the file follower does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use vigil_model::Timestamp;

/// Programs whose journal entries can be login attempts.
const IDENTIFIERS: [&str; 12] = [
    "sshd",
    "sshd-session",
    "sshd-auth",
    "su",
    "sudo",
    "login",
    "dropbear",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "mysqld",
    "mariadbd",
];
/// Entries queued between polls at most; past it the reader waits (journald keeps the rest).
const QUEUE: usize = 20_000;
/// Longest entry kept, as for log lines.
const MAX_ENTRY: usize = 64 * 1024;
/// Pause before starting `journalctl` again after it stopped.
const RESTART_SECS: i64 = 30;

/// Which journal to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalSource {
    /// The system journal.
    System,
    /// One journal file (`journalctl --file`).
    File(PathBuf),
}

impl JournalSource {
    /// The system journal when journald runs here.
    pub fn detect() -> Option<JournalSource> {
        Path::new("/run/systemd/journal/socket")
            .exists()
            .then_some(JournalSource::System)
    }
}

#[derive(Debug)]
pub struct Journal {
    source: JournalSource,
    cursor_file: PathBuf,
    cursor: Option<String>,
    saved: Option<String>,
    child: Option<(Child, Receiver<Vec<u8>>)>,
    next_start: Timestamp,
    /// Times `journalctl` could not be started or stopped by itself.
    pub failures: u64,
    /// Entries dropped for being longer than 64 KiB.
    pub skipped: u64,
    /// Why `journalctl` last could not run or stopped; cleared once it runs again.
    pub last_error: Option<String>,
}

impl Journal {
    pub fn open(data_dir: &Path, source: JournalSource) -> Journal {
        let cursor_file = data_dir.join("journal.cursor");
        let cursor = std::fs::read_to_string(&cursor_file)
            .ok()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty() && c.len() < 1024);
        Journal {
            source,
            cursor_file,
            saved: cursor.clone(),
            cursor,
            child: None,
            next_start: 0,
            failures: 0,
            skipped: 0,
            last_error: None,
        }
    }

    /// The cursor of the journal's last entry, read before following starts, so that "from the
    /// end" means the end as of now, not whenever the follower gets to open the files (entries
    /// written meanwhile would be skipped).
    fn end_cursor(&self) -> Option<String> {
        let mut cmd = Command::new("journalctl");
        cmd.args(["--lines=1", "--output=json", "--no-pager", "--quiet"]);
        if let JournalSource::File(f) = &self.source {
            cmd.arg(format!("--file={}", f.display()));
        }
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let last = out.stdout.split(|&b| b == b'\n').rfind(|l| !l.is_empty())?;
        let v: serde_json::Value = serde_json::from_slice(last).ok()?;
        v["__CURSOR"]
            .as_str()
            .filter(|c| !c.is_empty() && c.len() < 1024)
            .map(str::to_string)
    }

    fn start(&mut self) -> std::io::Result<(Child, Receiver<Vec<u8>>)> {
        if self.cursor.is_none() {
            self.cursor = self.end_cursor();
        }
        let mut cmd = Command::new("journalctl");
        cmd.args(["--follow", "--output=json", "--no-pager", "--quiet"]);
        if let JournalSource::File(f) = &self.source {
            cmd.arg(format!("--file={}", f.display()));
        }
        match &self.cursor {
            Some(c) => cmd.arg(format!("--after-cursor={c}")),
            None => cmd.arg("--lines=0"),
        };
        for id in IDENTIFIERS {
            cmd.arg(format!("SYSLOG_IDENTIFIER={id}"));
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        std::thread::Builder::new()
            .name("vigil-journal".into())
            .spawn(move || {
                let mut r = BufReader::with_capacity(64 * 1024, stdout);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match r.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let entry = if line.len() > MAX_ENTRY {
                        Vec::new() // counted as skipped by the receiver
                    } else {
                        std::mem::take(&mut line)
                    };
                    let mut pending = entry;
                    loop {
                        match tx.try_send(pending) {
                            Ok(()) => break,
                            Err(TrySendError::Full(back)) => {
                                pending = back;
                                std::thread::sleep(std::time::Duration::from_millis(50));
                            }
                            Err(TrySendError::Disconnected(_)) => return,
                        }
                    }
                }
            })?;
        Ok((child, rx))
    }

    /// Entries that arrived since the last call, as JSON lines for the login parsers.
    pub fn poll(&mut self, now: Timestamp) -> Vec<Vec<u8>> {
        if self.child.is_none() && now >= self.next_start {
            match self.start() {
                Ok(c) => {
                    self.child = Some(c);
                    self.last_error = None;
                }
                Err(e) => {
                    self.failures += 1;
                    self.last_error = Some(format!("cannot run journalctl: {e}"));
                    self.next_start = now + RESTART_SECS;
                    tracing::warn!(error = %e, "cannot run journalctl; retrying in 30 s");
                }
            }
        }
        let mut out = Vec::new();
        let mut ended = false;
        if let Some((child, rx)) = &mut self.child {
            loop {
                match rx.try_recv() {
                    Ok(entry) if entry.is_empty() => self.skipped += 1,
                    Ok(entry) => {
                        if let Some(c) = cursor_of(&entry) {
                            self.cursor = Some(c);
                        }
                        out.push(entry);
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        ended = true;
                        break;
                    }
                }
            }
            if ended {
                let _ = child.kill();
                let status = child.wait();
                tracing::warn!(?status, "journalctl stopped; starting it again in 30 s");
            }
        }
        if ended {
            self.child = None;
            self.failures += 1;
            self.last_error = Some("journalctl stopped".into());
            self.next_start = now + RESTART_SECS;
        }
        out
    }

    /// Whether `journalctl` is running (so the journal is being read).
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Saves the cursor of the last entry handed out (after the caller handled them).
    pub fn commit(&mut self) -> std::io::Result<()> {
        if self.cursor == self.saved {
            return Ok(());
        }
        let Some(c) = &self.cursor else { return Ok(()) };
        let tmp = self.cursor_file.with_extension("tmp");
        std::fs::write(&tmp, c)?;
        std::fs::rename(&tmp, &self.cursor_file)?;
        self.saved = self.cursor.clone();
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some((child, _)) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `__CURSOR` of a JSON journal entry, without parsing the whole entry twice.
fn cursor_of(entry: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(entry).ok()?;
    v.get("__CURSOR")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Writes journal entries (export format) into a real journal file with
    /// systemd-journal-remote, as journald would.
    fn append(file: &Path, entries: &[(i64, &str)]) {
        // `journalctl --follow` shows the current boot only, so the entries carry its id.
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .unwrap()
            .trim()
            .replace('-', "");
        let mut export = Vec::new();
        for (t, msg) in entries {
            write!(
                export,
                "__REALTIME_TIMESTAMP={}\n_BOOT_ID={boot}\n_HOSTNAME=web1\nSYSLOG_IDENTIFIER=sshd\n_COMM=sshd\n_PID=42\nMESSAGE={msg}\n\n",
                t * 1_000_000
            )
            .unwrap();
        }
        let mut child = Command::new("/lib/systemd/systemd-journal-remote")
            .arg(format!("--output={}", file.display()))
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("systemd-journal-remote (Debian package systemd-journal-remote)");
        child.stdin.take().unwrap().write_all(&export).unwrap();
        assert!(child.wait().unwrap().success());
    }

    fn wait_for(j: &mut Journal, n: usize) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        let start = std::time::Instant::now();
        while got.len() < n {
            got.extend(j.poll(0));
            assert!(start.elapsed().as_secs() < 10, "got {} of {n}", got.len());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        got
    }

    #[test]
    fn follows_a_real_journal_and_resumes_after_its_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("system.journal");
        append(
            &file,
            &[(
                1_795_000_000,
                "Failed password for root from 192.0.2.1 port 1 ssh2",
            )],
        );
        let mut j = Journal::open(dir.path(), JournalSource::File(file.clone()));
        // The first run starts at the end: the existing entry is history.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(j.poll(0).is_empty());
        append(
            &file,
            &[
                (
                    1_795_000_001,
                    "Failed password for root from 192.0.2.2 port 2 ssh2",
                ),
                (
                    1_795_000_002,
                    "Accepted publickey for alice from 192.0.2.3 port 3 ssh2",
                ),
            ],
        );
        let got = wait_for(&mut j, 2);
        assert!(String::from_utf8_lossy(&got[0]).contains("192.0.2.2"));
        j.commit().unwrap();
        drop(j);
        // While the agent is away two more arrive; after the restart exactly those come.
        append(
            &file,
            &[
                (
                    1_795_000_003,
                    "Failed password for root from 192.0.2.4 port 4 ssh2",
                ),
                (
                    1_795_000_004,
                    "Failed password for root from 192.0.2.5 port 5 ssh2",
                ),
            ],
        );
        let mut j = Journal::open(dir.path(), JournalSource::File(file.clone()));
        let got = wait_for(&mut j, 2);
        assert_eq!(got.len(), 2);
        assert!(String::from_utf8_lossy(&got[0]).contains("192.0.2.4"));
        assert!(String::from_utf8_lossy(&got[1]).contains("192.0.2.5"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(j.poll(0).is_empty(), "nothing read twice");
    }
}
