//! Response actions on processes (SPEC R-AL3): kill a process, and kill a process and
//! quarantine its executable.
//!
//! A pid from the server may have been reused by an unrelated process since the alert was
//! raised, so the caller passes what it knows about the process (start time in clock ticks,
//! executable path) and a mismatch refuses the kill. The process is pinned with a pidfd (Linux
//! 5.3+) before it is examined, so the signal reaches the process that was checked, never one
//! that took the pid afterwards; older kernels fall back to `kill(2)`. PID 1, the agent itself,
//! threads and kernel threads are never signalled.

use crate::quarantine::{Expected, QuarantineBox, QuarantineError, QuarantinedFile};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a kill waits for the process to go away.
const KILL_WAIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);
/// The suffix the kernel appends to `/proc/PID/exe` when the executable was unlinked.
const DELETED: &str = " (deleted)";

/// What became of a process after SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillOutcome {
    /// The process is gone (or a zombie waiting for its parent to reap it).
    Killed,
    /// SIGKILL was sent but the process still ran 2 s later (typically stuck in
    /// uninterruptible sleep on a hung filesystem or device).
    StillRunning,
}

impl std::fmt::Display for KillOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KillOutcome::Killed => "killed",
            KillOutcome::StillRunning => "still running after SIGKILL",
        })
    }
}

/// Why a process action failed. Except for `QuarantineAfterKill`, nothing was killed.
#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    #[error("no running process with pid {pid}")]
    NotFound { pid: u32 },
    #[error("refusing to kill pid {pid}: {reason}")]
    Protected { pid: u32, reason: String },
    #[error("refusing to kill pid {pid}: it is not the process of the alert any more ({detail}); the pid was probably reused")]
    Recycled { pid: u32, detail: String },
    #[error("cannot read /proc/{pid}/{file}: {source}")]
    Proc {
        pid: u32,
        file: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot parse /proc/{pid}/{file}")]
    BadProc { pid: u32, file: &'static str },
    #[error("sending SIGKILL to pid {pid}: {source}")]
    Signal {
        pid: u32,
        #[source]
        source: io::Error,
    },
    /// Quarantining failed before anything was killed.
    #[error(transparent)]
    Quarantine(#[from] QuarantineError),
    /// The process was signalled, but its executable could not be quarantined.
    #[error("process {pid} {outcome}, but quarantining its executable {} failed: {source}", path.display())]
    QuarantineAfterKill {
        pid: u32,
        outcome: KillOutcome,
        path: PathBuf,
        #[source]
        source: QuarantineError,
    },
}

type Result<T, E = RespondError> = std::result::Result<T, E>;

/// Sends SIGKILL to process `pid` and waits up to 2 s for it to go away.
///
/// `expected_start_ticks` (field 22 of `/proc/PID/stat`) and `expected_exe` (the target of
/// `/proc/PID/exe`, a trailing " (deleted)" ignored on either side) identify the process the
/// alert was about; when given and different, the pid was reused and the kill is refused with
/// `Recycled`.
pub fn kill_process(
    pid: u32,
    expected_start_ticks: Option<u64>,
    expected_exe: Option<&str>,
) -> Result<KillOutcome> {
    let target = Target::inspect(pid)?;
    target.check(expected_start_ticks, expected_exe)?;
    target.kill()
}

/// Kills process `pid` (as [`kill_process`]) and quarantines its executable.
///
/// The executable is resolved from `/proc/PID/exe` before the kill. If it was deleted from disk,
/// its content is captured through `/proc/PID/exe` while the process is still alive, recorded
/// under its original path (without " (deleted)"), and only then is the process killed; if the
/// kill then fails, the capture is dropped. Otherwise the process is killed first and the file
/// quarantined after, provided the path still holds the same inode.
///
/// This quarantines the executable image: for a script run by an interpreter that is the
/// interpreter, so the server should quarantine the script itself instead.
pub fn kill_and_quarantine(
    pid: u32,
    expected_start_ticks: Option<u64>,
    expected_exe: Option<&str>,
    qbox: &QuarantineBox,
    now: i64,
) -> Result<(KillOutcome, QuarantinedFile)> {
    let target = Target::inspect(pid)?;
    target.check(expected_start_ticks, expected_exe)?;
    let link = PathBuf::from(format!("/proc/{pid}/exe"));
    let meta = std::fs::metadata(&link).map_err(|source| proc_err(pid, "exe", source))?;
    let inode = (meta.dev(), meta.ino());
    let marked_deleted = target
        .exe
        .as_os_str()
        .as_bytes()
        .ends_with(DELETED.as_bytes());
    // Deleted when the inode has no name left, or when the kernel says so and the path the link
    // names (which could really end in " (deleted)") is not this inode.
    let deleted = meta.nlink() == 0
        || (marked_deleted
            && !std::fs::symlink_metadata(&target.exe).is_ok_and(|m| (m.dev(), m.ino()) == inode));
    if deleted {
        let original = original_exe_path(&target.exe);
        let record = qbox.capture_checked(&link, &original, now, Some(inode))?;
        match target.kill() {
            Ok(outcome) => Ok((outcome, record)),
            Err(e) => {
                qbox.discard(&record.id);
                Err(e)
            }
        }
    } else {
        let outcome = target.kill()?;
        let expect = Expected {
            inode: Some(inode),
            ..Expected::default()
        };
        match qbox.quarantine_expecting(&target.exe, now, &expect) {
            Ok(record) => Ok((outcome, record)),
            Err(source) => Err(RespondError::QuarantineAfterKill {
                pid,
                outcome,
                path: target.exe.clone(),
                source,
            }),
        }
    }
}

fn proc_err(pid: u32, file: &'static str, source: io::Error) -> RespondError {
    if source.kind() == io::ErrorKind::NotFound {
        RespondError::NotFound { pid }
    } else {
        RespondError::Proc { pid, file, source }
    }
}

fn strip_deleted(s: &str) -> &str {
    s.strip_suffix(DELETED).unwrap_or(s)
}

/// A process examined and, when the kernel supports it, pinned by a pidfd.
struct Target {
    pid: u32,
    pidfd: Option<OwnedFd>,
    start_ticks: u64,
    /// Target of `/proc/PID/exe`, as the kernel gives it (maybe ending in " (deleted)").
    exe: PathBuf,
}

/// `/proc/PID/stat`, parsed; `None` when the process is gone.
fn read_stat(pid: u32) -> Result<Option<vigil_collect::process::ProcStat>> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => vigil_collect::process::stat(&text)
            .map(Some)
            .ok_or(RespondError::BadProc { pid, file: "stat" }),
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(3) => Ok(None),
        Err(source) => Err(RespondError::Proc {
            pid,
            file: "stat",
            source,
        }),
    }
}

/// Exited: gone, or a zombie / dead task waiting to be reaped.
fn exited(state: char) -> bool {
    matches!(state, 'Z' | 'X' | 'x')
}

impl Target {
    fn inspect(pid: u32) -> Result<Target> {
        let protected = |reason: &str| RespondError::Protected {
            pid,
            reason: reason.to_owned(),
        };
        if pid == 0 {
            return Err(protected("pid 0 is not a process"));
        }
        if pid == 1 {
            return Err(protected("pid 1 (init) is never killed"));
        }
        if pid == std::process::id() {
            return Err(protected("it is the Vigil agent itself"));
        }
        let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return Err(RespondError::NotFound { pid });
        };
        // Pin the process first: everything checked below is then about the process the
        // signal will reach.
        let pidfd = match rustix::process::pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => Some(fd),
            Err(Errno::SRCH) => return Err(RespondError::NotFound { pid }),
            // ENOSYS (kernel before 5.3), EINVAL (a thread id): fall back to kill(2); threads
            // are refused below anyway.
            Err(_) => None,
        };
        let Some(stat) = read_stat(pid)? else {
            return Err(RespondError::NotFound { pid });
        };
        if exited(stat.state) {
            return Err(RespondError::NotFound { pid });
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|source| proc_err(pid, "status", source))?;
        let tgid: u32 = status
            .lines()
            .find_map(|l| l.strip_prefix("Tgid:")?.trim().parse().ok())
            .ok_or(RespondError::BadProc {
                pid,
                file: "status",
            })?;
        if tgid != pid {
            // kill(2) on a thread id kills its whole process, which would bypass the checks on
            // that process (it could be the agent itself).
            return Err(protected(&format!(
                "it is a thread of process {tgid}, not a process"
            )));
        }
        if pid == 2 || stat.ppid == 2 {
            return Err(protected("it is a kernel thread"));
        }
        let exe = match std::fs::read_link(format!("/proc/{pid}/exe")) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Kernel threads have no executable; so has a process that just exited.
                return match read_stat(pid)? {
                    Some(s) if !exited(s.state) && s.start_ticks == stat.start_ticks => {
                        Err(protected("it is a kernel thread (no executable)"))
                    }
                    _ => Err(RespondError::NotFound { pid }),
                };
            }
            Err(source) => {
                return Err(RespondError::Proc {
                    pid,
                    file: "exe",
                    source,
                })
            }
        };
        Ok(Target {
            pid,
            pidfd,
            start_ticks: stat.start_ticks,
            exe,
        })
    }

    /// Refuses with `Recycled` if the process is not the expected one.
    fn check(&self, start_ticks: Option<u64>, exe: Option<&str>) -> Result<()> {
        if let Some(want) = start_ticks {
            if want != self.start_ticks {
                return Err(RespondError::Recycled {
                    pid: self.pid,
                    detail: format!(
                        "it started at tick {}, the alert's process at tick {want}",
                        self.start_ticks
                    ),
                });
            }
        }
        if let Some(want) = exe {
            let have = self.exe.to_string_lossy();
            if strip_deleted(&have) != strip_deleted(want) {
                return Err(RespondError::Recycled {
                    pid: self.pid,
                    detail: format!("it runs {have}, the alert's process ran {want}"),
                });
            }
        }
        Ok(())
    }

    /// Sends SIGKILL and waits for the process to go.
    fn kill(&self) -> Result<KillOutcome> {
        let pid = self.pid;
        // Without a pidfd, make sure the pid still is the examined process right before kill(2).
        match read_stat(pid)? {
            None => return Err(RespondError::NotFound { pid }),
            Some(s) if exited(s.state) => return Err(RespondError::NotFound { pid }),
            Some(s) if s.start_ticks != self.start_ticks => {
                return Err(RespondError::Recycled {
                    pid,
                    detail: format!(
                        "it started at tick {}, the examined process at tick {}",
                        s.start_ticks, self.start_ticks
                    ),
                })
            }
            Some(_) => {}
        }
        let sent = match &self.pidfd {
            Some(fd) => rustix::process::pidfd_send_signal(fd, Signal::KILL),
            None => {
                let raw = i32::try_from(pid)
                    .ok()
                    .and_then(Pid::from_raw)
                    .ok_or(RespondError::NotFound { pid })?;
                rustix::process::kill_process(raw, Signal::KILL)
            }
        };
        match sent {
            Ok(()) => {}
            Err(Errno::SRCH) => return Err(RespondError::NotFound { pid }),
            Err(e) => {
                return Err(RespondError::Signal {
                    pid,
                    source: e.into(),
                })
            }
        }
        let deadline = Instant::now() + KILL_WAIT;
        loop {
            match read_stat(pid) {
                Ok(None) => return Ok(KillOutcome::Killed),
                Ok(Some(s)) if exited(s.state) || s.start_ticks != self.start_ticks => {
                    return Ok(KillOutcome::Killed)
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Ok(KillOutcome::StillRunning);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// The path a deleted executable had: the link target without " (deleted)".
fn original_exe_path(link_target: &Path) -> PathBuf {
    let raw = link_target.as_os_str().as_bytes();
    match raw.strip_suffix(DELETED.as_bytes()) {
        Some(b) => PathBuf::from(OsString::from_vec(b.to_vec())),
        None => link_target.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_pids_are_refused() {
        for pid in [0, 1, std::process::id()] {
            let e = kill_process(pid, None, None).unwrap_err();
            assert!(matches!(e, RespondError::Protected { .. }), "{pid}: {e}");
        }
    }

    #[test]
    fn kernel_threads_are_refused() {
        // kthreadd is pid 2 on Linux; in a pid namespace (container) pid 2 is an ordinary
        // process or absent, so only check that it is never killed when it is kthreadd.
        let comm = std::fs::read_to_string("/proc/2/comm").unwrap_or_default();
        if comm.trim() == "kthreadd" {
            let e = kill_process(2, None, None).unwrap_err();
            assert!(matches!(e, RespondError::Protected { .. }), "{e}");
        } else {
            eprintln!(
                "note: pid 2 is not kthreadd here (pid namespace); kernel-thread case skipped"
            );
        }
    }

    #[test]
    fn threads_of_the_agent_are_refused() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let tid = std::fs::read_link("/proc/thread-self")
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .parse::<u32>()
                .unwrap();
            tx.send(tid).unwrap();
            let _ = done_rx.recv();
        });
        let tid = rx.recv().unwrap();
        let e = kill_process(tid, None, None).unwrap_err();
        assert!(matches!(e, RespondError::Protected { .. }), "{e}");
        done_tx.send(()).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn deleted_suffix_is_stripped() {
        assert_eq!(
            original_exe_path(Path::new("/tmp/x/sleep (deleted)")),
            PathBuf::from("/tmp/x/sleep")
        );
        assert_eq!(
            original_exe_path(Path::new("/usr/bin/sleep")),
            PathBuf::from("/usr/bin/sleep")
        );
        assert_eq!(strip_deleted("/a (deleted)"), "/a");
    }
}
