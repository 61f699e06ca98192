//! The baseline monitor: runs the security baseline at start, every `baseline_secs` (two days
//! by default) and when the server asks for a fresh look, and sends every check's status as
//! one event; failed checks carry their evidence. Files it could not read show in its health.
//! The weak-password scan runs with it, paced to a few percent of one core, its progress kept
//! in `<data>/weak-progress.json` so that each run goes on where the last stopped.

use super::{Monitor, MonitorHealth, MonitorState, Poll};
use crate::baseline::{collect, Source};
use crate::run::AgentConfig;
use crate::weak::{Options, Progress, Scanner};
use std::path::PathBuf;
use std::time::Duration;
use vigil_detect::baseline::{Check, FileFact, Status};
use vigil_model::{BaselineOutcome, Event, EventBody, Timestamp};

/// Unreadable paths named in the health at most.
const MAX_UNREADABLE: usize = 20;

pub struct BaselineMonitor {
    root: PathBuf,
    checks: Vec<Check>,
    interval: Duration,
    last_run: Option<Timestamp>,
    unreadable: Vec<String>,
    weak_passwords: Vec<String>,
    progress_file: PathBuf,
    weak: Options,
}

impl BaselineMonitor {
    pub fn new(cfg: &AgentConfig) -> BaselineMonitor {
        let content = vigil_content::Content::embedded();
        BaselineMonitor {
            root: cfg.root.clone(),
            checks: content.baseline,
            interval: Duration::from_secs(cfg.baseline_secs.max(60)),
            last_run: None,
            unreadable: Vec::new(),
            weak_passwords: crate::weak::word_list(&content.weak_passwords),
            progress_file: cfg.data_dir.join("weak-progress.json"),
            weak: Options {
                network: cfg.root == std::path::Path::new("/"),
                ..Options::background()
            },
        }
    }
}

impl Monitor for BaselineMonitor {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn poll(&mut self, now: Timestamp) -> Poll {
        let live = self.root == std::path::Path::new("/");
        let mut facts = collect(
            &Source {
                root: &self.root,
                live,
            },
            &self.checks,
        );
        let mut progress: Progress = crate::weak::load_progress(&self.progress_file);
        let host = crate::weak::host_name(&self.root);
        let mut scanner = Scanner::new(
            &self.root,
            &host,
            &self.weak_passwords,
            self.weak.clone(),
            &mut progress,
        );
        facts.credentials = Some(scanner.scan());
        facts.now = Some(now);
        if let Err(e) = crate::weak::save_progress(&self.progress_file, &progress) {
            tracing::warn!("saving {}: {e}", self.progress_file.display());
        }
        self.unreadable = facts
            .files
            .iter()
            .filter_map(|(p, f)| match f {
                FileFact::Unreadable { reason } => Some(format!("{p}: {reason}")),
                _ => None,
            })
            .take(MAX_UNREADABLE)
            .collect();
        let results: Vec<BaselineOutcome> = vigil_detect::baseline::evaluate(&self.checks, &facts)
            .into_iter()
            .map(|r| {
                let keep = matches!(r.status, Status::Failed | Status::Error);
                BaselineOutcome {
                    id: r.id,
                    status: r.status,
                    evidence: if keep { r.evidence } else { String::new() },
                    file: if keep { r.file } else { String::new() },
                }
            })
            .collect();
        self.last_run = Some(now);
        vec![Event {
            time: now,
            body: EventBody::BaselineRun { results },
        }]
        .into()
    }

    /// The server's "verify" (a fresh look at the host) runs the baseline too.
    fn rescan(&mut self) -> bool {
        true
    }

    fn health(&self) -> MonitorHealth {
        MonitorHealth {
            name: self.name().into(),
            state: MonitorState::Running,
            last_run: self.last_run,
            last_error: None,
            unreadable: self.unreadable.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_sends_every_check_with_evidence_only_for_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("etc/ssh")).unwrap();
        std::fs::write(root.join("etc/ssh/sshd_config"), "PermitRootLogin yes\n").unwrap();
        std::fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/bash\n").unwrap();
        let mut cfg = AgentConfig::new(tmp.path().join("data"));
        cfg.root = root;
        let mut m = BaselineMonitor::new(&cfg);
        let poll = m.poll(1_000);
        assert_eq!(poll.events.len(), 1);
        let EventBody::BaselineRun { results } = &poll.events[0].body else {
            panic!("{:?}", poll.events[0]);
        };
        assert_eq!(results.len(), m.checks.len());
        let root_login = results
            .iter()
            .find(|r| r.id == "ssh.permit-root-login")
            .unwrap();
        assert_eq!(root_login.status, Status::Failed);
        assert!(root_login.evidence.contains("PermitRootLogin yes"));
        assert_eq!(root_login.file, "/etc/ssh/sshd_config:1");
        assert!(results
            .iter()
            .filter(|r| r.status == Status::Passed)
            .all(|r| r.evidence.is_empty()));
        // The event fits the server's bound on one event.
        let bytes = serde_json::to_vec(&poll.events[0]).unwrap();
        assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
        assert_eq!(m.health().last_run, Some(1_000));
        assert!(m.rescan());
    }
}
