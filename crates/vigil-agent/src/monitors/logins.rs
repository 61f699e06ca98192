//! The login monitor: the login watch (follow the login logs and the journal, brute-force rule,
//! blocks) polled every few hundred milliseconds. It is degraded when no source can be read.

use super::{Monitor, MonitorHealth, MonitorState, Policy, Poll};
use crate::firewall::Firewall;
use crate::follow::SourceHealth;
use crate::logins::LoginWatch;
use crate::run::AgentConfig;
use std::time::Duration;
use vigil_model::Timestamp;

/// What the health says when nothing can be read.
pub const NO_SOURCE: &str = "no log source found";

#[derive(Debug)]
pub struct LoginMonitor {
    watch: LoginWatch,
    interval: Duration,
    last_run: Option<Timestamp>,
}

impl LoginMonitor {
    pub fn new(cfg: &AgentConfig, firewall: Firewall, now: Timestamp) -> LoginMonitor {
        let mut watch = LoginWatch::with_records(
            &cfg.data_dir,
            &cfg.login_logs,
            &cfg.login_records,
            firewall,
            now,
        );
        if let Some(source) = cfg.journal.clone() {
            watch = watch.with_journal(&cfg.data_dir, source);
        }
        LoginMonitor::wrap(watch, Duration::from_millis(cfg.login_poll_ms.max(10)))
    }

    pub fn wrap(watch: LoginWatch, interval: Duration) -> LoginMonitor {
        LoginMonitor {
            watch,
            interval,
            last_run: None,
        }
    }
}

impl Monitor for LoginMonitor {
    fn name(&self) -> &'static str {
        "logins"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn apply_policy(&mut self, policy: &Policy) {
        if let Some(login) = &policy.login {
            self.watch
                .apply(login.config.clone(), login.protected.clone());
        }
    }

    fn poll(&mut self, now: Timestamp) -> Poll {
        self.last_run = Some(now);
        self.watch.poll(now).into()
    }

    /// Files that cannot be read are always named; missing ones only when nothing at all is
    /// read, since most of the default logs are missing on any one distribution.
    fn health(&self) -> MonitorHealth {
        let mut reading = false;
        let mut failing = Vec::new();
        let mut missing = Vec::new();
        for s in self.watch.follow_stats().sources {
            let path = s.path.display().to_string();
            match s.health {
                SourceHealth::Following => reading = true,
                SourceHealth::Unknown => {}
                SourceHealth::Missing => missing.push(format!("{path}: missing")),
                SourceHealth::Failing(why) => failing.push(format!("{path}: {why}")),
            }
        }
        match self.watch.journal() {
            Some(j) if j.running() => reading = true,
            Some(j) => {
                if let Some(e) = &j.last_error {
                    failing.push(format!("systemd journal: {e}"));
                }
            }
            None => missing.push("systemd journal: not running here".into()),
        }
        let blind = self.last_run.is_some() && !reading;
        let mut unreadable = failing;
        if blind {
            unreadable.extend(missing);
        }
        MonitorHealth {
            name: self.name().into(),
            state: if blind {
                MonitorState::Degraded
            } else {
                MonitorState::Running
            },
            last_run: self.last_run,
            last_error: blind.then(|| NO_SOURCE.to_string()),
            unreadable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(dir: &std::path::Path, logs: Vec<std::path::PathBuf>) -> LoginMonitor {
        let fw = Firewall::new(vec!["/nonexistent/nft".into()]);
        let watch = LoginWatch::open(dir, &logs, fw, 1_795_000_000);
        LoginMonitor::wrap(watch, Duration::from_millis(200))
    }

    /// No readable log and no journal: degraded, saying so and naming what was looked for.
    #[test]
    fn no_readable_log_is_degraded_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("auth.log");
        let mut m = monitor(dir.path(), vec![gone.clone()]);
        assert_eq!(m.health().state, MonitorState::Running, "not run yet");
        m.poll(1_795_000_000);
        let h = m.health();
        assert_eq!(h.state, MonitorState::Degraded);
        assert_eq!(h.last_error.as_deref(), Some(NO_SOURCE));
        assert_eq!(h.last_run, Some(1_795_000_000));
        assert!(
            h.unreadable
                .contains(&format!("{}: missing", gone.display())),
            "{h:?}"
        );
        assert!(h
            .unreadable
            .iter()
            .any(|u| u.starts_with("systemd journal")));
    }

    /// A symbolic link in place of the log is never followed, and is named with the reason.
    #[test]
    fn a_log_that_must_not_be_read_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("auth.log");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let mut m = monitor(dir.path(), vec![link.clone()]);
        m.poll(1_795_000_000);
        let h = m.health();
        assert_eq!(h.state, MonitorState::Degraded);
        let line = h
            .unreadable
            .iter()
            .find(|u| u.starts_with(&link.display().to_string()))
            .unwrap_or_else(|| panic!("{h:?}"));
        assert!(!line.ends_with(": missing"), "{line}");
    }

    /// A real auth.log being followed: running, nothing unreadable even though others are
    /// missing.
    #[test]
    fn a_readable_auth_log_is_running() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        std::fs::write(
            &log,
            "2026-11-19T08:26:40.000000+00:00 web1 sshd[9]: Accepted password for alice from 198.51.100.4 port 1 ssh2\n",
        )
        .unwrap();
        let mut m = monitor(dir.path(), vec![log, dir.path().join("secure")]);
        m.poll(1_795_000_000);
        let h = m.health();
        assert_eq!(h.state, MonitorState::Running, "{h:?}");
        assert_eq!(h.last_error, None);
        assert!(h.unreadable.is_empty(), "{h:?}");
    }
}
