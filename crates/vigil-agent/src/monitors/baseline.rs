//! The baseline monitor: runs the security baseline when the agent first starts, then on the
//! server's schedule (every other night by default: a minute of the host's 00:00–06:00 window
//! derived from its name, so a fleet does not run at once) and when the server asks for a fresh
//! look ("verify"); it sends every check's status as one event, failed checks with their
//! evidence. Files it could not read show in its health. The weak-password scan runs with it,
//! paced to a few percent of one core, its progress kept in `<data>/weak-progress.json` so each
//! run goes on where the last stopped; the time of the last run is kept in
//! `<data>/baseline-state.json`, so a restart does not run it again.

use super::{Monitor, MonitorHealth, MonitorState, Policy, Poll};
use crate::baseline::{collect, Source};
use crate::run::AgentConfig;
use crate::weak::{Options, Progress, Scanner};
use std::path::PathBuf;
use std::time::Duration;
use vigil_detect::baseline::{Check, FileFact, Status};
use vigil_model::{BaselineOutcome, Event, EventBody, Timestamp};
use vigil_proto::agent::BaselineSchedule;

/// Unreadable paths named in the health at most.
const MAX_UNREADABLE: usize = 20;
/// How often the monitor looks whether a run is due.
const TICK: Duration = Duration::from_secs(600);
const TICK_MINUTES: u32 = 10;
/// The weak-password work of the first run and of a run asked for by "verify" is bounded
/// tighter: the operator waits for them (later runs go on from their progress).
const QUICK_WEAK_SECS: u64 = 30;

/// Whether a scheduled run is due at `now` (`minute` of the host's local day), the last run
/// having been at `last`; `offset` (minutes) spreads hosts over the window.
pub fn due(
    s: &BaselineSchedule,
    last: Option<Timestamp>,
    now: Timestamp,
    minute: u32,
    offset: u32,
) -> bool {
    let Some(last) = last else {
        return true;
    };
    let elapsed = now - last;
    let period = i64::from(s.every_days) * 86_400;
    // A host that was off (or busy) through its window runs as soon as it can.
    if elapsed >= period + 86_400 {
        return true;
    }
    let (from, to) = (s.from_hour * 60, s.to_hour * 60);
    let window = to.saturating_sub(from);
    let start = from + offset % window.saturating_sub(TICK_MINUTES).max(1);
    elapsed >= period - 86_400 + i64::from(window) * 60 && minute >= start && minute < to
}

/// A host's place in the window, from its name.
fn offset_of(name: &str) -> u32 {
    name.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    })
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct State {
    last_run: Option<Timestamp>,
}

pub struct BaselineMonitor {
    root: PathBuf,
    checks: Vec<Check>,
    schedule: BaselineSchedule,
    offset: u32,
    verify: bool,
    state_file: PathBuf,
    last_run: Option<Timestamp>,
    unreadable: Vec<String>,
    weak_passwords: Vec<String>,
    progress_file: PathBuf,
    weak: Options,
}

impl BaselineMonitor {
    pub fn new(cfg: &AgentConfig) -> BaselineMonitor {
        let content = vigil_content::Content::embedded();
        let state_file = cfg.data_dir.join("baseline-state.json");
        let state: State = std::fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        BaselineMonitor {
            root: cfg.root.clone(),
            checks: content.baseline,
            schedule: BaselineSchedule::default(),
            offset: offset_of(&crate::weak::host_name(&cfg.root)),
            verify: false,
            state_file,
            last_run: state.last_run,
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
        TICK
    }

    fn apply_policy(&mut self, policy: &Policy) {
        self.schedule = policy.baseline;
    }

    fn poll(&mut self, now: Timestamp) -> Poll {
        let verify = std::mem::take(&mut self.verify);
        let local = chrono::Local::now();
        let minute = chrono::Timelike::hour(&local) * 60 + chrono::Timelike::minute(&local);
        if !verify && !due(&self.schedule, self.last_run, now, minute, self.offset) {
            return Poll::default();
        }
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
        let mut weak = self.weak.clone();
        if verify || self.last_run.is_none() {
            weak.time_limit = weak.time_limit.min(Duration::from_secs(QUICK_WEAK_SECS));
        }
        let mut scanner =
            Scanner::new(&self.root, &host, &self.weak_passwords, weak, &mut progress);
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
        if let Ok(bytes) = serde_json::to_vec(&State {
            last_run: Some(now),
        }) {
            if let Err(e) = std::fs::write(&self.state_file, bytes) {
                tracing::warn!("saving {}: {e}", self.state_file.display());
            }
        }
        vec![Event {
            time: now,
            body: EventBody::BaselineRun { results },
        }]
        .into()
    }

    /// The server's "verify" (a fresh look at the host) runs the baseline now.
    fn rescan(&mut self) -> bool {
        self.verify = true;
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
        // Not due again so soon; a verify runs it at once; a restart remembers the last run.
        assert!(m.poll(1_600).events.is_empty());
        assert!(m.rescan());
        assert_eq!(m.poll(1_700).events.len(), 1);
        let mut again = BaselineMonitor::new(&cfg);
        assert_eq!(again.last_run, Some(1_700));
        assert!(again.poll(2_000).events.is_empty());
    }

    #[test]
    fn scheduled_runs_fall_in_the_window_every_n_days() {
        let s = BaselineSchedule::default(); // every 2 days, 00:00–06:00
        let day = 86_400;
        let at = |d: i64, minute: u32| d * day + i64::from(minute) * 60;
        // First start: at once, whatever the hour.
        assert!(due(&s, None, at(0, 900), 900, 37));
        let last = Some(at(0, 37));
        // The next night is too soon; two nights later, from the host's minute on.
        assert!(!due(&s, last, at(1, 40), 40, 37));
        assert!(!due(&s, last, at(2, 30), 30, 37));
        assert!(due(&s, last, at(2, 37), 37, 37));
        assert!(due(&s, last, at(2, 300), 300, 37));
        assert!(!due(&s, last, at(2, 400), 400, 37), "after 06:00");
        // A host off through its window runs when it can.
        assert!(due(&s, last, at(3, 700), 700, 37));
        // Daily, after a first run in the afternoon: the next night.
        let daily = BaselineSchedule { every_days: 1, ..s };
        assert!(due(&daily, Some(at(0, 900)), at(1, 60), 60, 50));
        assert!(!due(&daily, Some(at(1, 60)), at(1, 70), 70, 50));
        // Hosts spread over the window.
        let offsets: std::collections::BTreeSet<u32> = ["web1", "web2", "db1", "db2"]
            .iter()
            .map(|h| offset_of(h) % 350)
            .collect();
        assert!(offsets.len() >= 3, "{offsets:?}");
    }
}
