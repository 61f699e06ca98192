//! The inventory monitor: collects the host's fingerprints, spools what changed since the last
//! snapshot, and posts the full snapshot when it changed or `inventory_secs` passed.

use super::{Monitor, MonitorHealth, Policy, Poll, Report};
use crate::collect::Collector;
use crate::run::AgentConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigil_model::{Inventory, Timestamp};
use vigil_proto::agent::{InventoryReport, PATH_INVENTORY};
use vigil_proto::codec;

const LAST_INVENTORY: &str = "inventory.json";

fn load_last_inventory(dir: &Path) -> Option<Inventory> {
    serde_json::from_slice(&std::fs::read(dir.join(LAST_INVENTORY)).ok()?).ok()
}

fn save_last_inventory(dir: &Path, inv: &Inventory) {
    let tmp = dir.join(format!("{LAST_INVENTORY}.tmp"));
    let ok = serde_json::to_vec(inv)
        .ok()
        .and_then(|b| std::fs::write(&tmp, b).ok())
        .and_then(|_| std::fs::rename(&tmp, dir.join(LAST_INVENTORY)).ok());
    if ok.is_none() {
        tracing::warn!(
            "could not save the last inventory; changes made while stopped may be missed"
        );
    }
}

#[derive(Debug)]
pub struct InventoryMonitor {
    data_dir: PathBuf,
    interval: Duration,
    inventory_secs: u64,
    collector: Collector,
    /// The last snapshot, the base of the next diff (saved so a restart diffs too).
    last: Option<Inventory>,
    last_full_sent: Option<Timestamp>,
    last_run: Option<Timestamp>,
    last_error: Option<String>,
}

impl InventoryMonitor {
    pub fn new(cfg: &AgentConfig) -> InventoryMonitor {
        InventoryMonitor {
            data_dir: cfg.data_dir.clone(),
            interval: Duration::from_secs(cfg.collect_secs.max(1)),
            inventory_secs: super::Policy::default().settings.inventory_secs,
            collector: Collector::new(&cfg.root),
            last: load_last_inventory(&cfg.data_dir),
            last_full_sent: None,
            last_run: None,
            last_error: None,
        }
    }
}

impl Monitor for InventoryMonitor {
    fn name(&self) -> &'static str {
        "inventory"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn apply_policy(&mut self, policy: &Policy) {
        self.inventory_secs = policy.settings.inventory_secs;
    }

    fn poll(&mut self, now: Timestamp) -> Poll {
        self.last_run = Some(now);
        let inv = self.collector.collect(now);
        for (what, n) in &self.collector.skipped {
            tracing::debug!(source = what, skipped = n, "collection skipped input");
        }
        let changes = match &self.last {
            Some(prev) => vigil_detect::inventory_diff::diff(prev, &inv, now),
            None => Vec::new(),
        };
        let due = self
            .last_full_sent
            .is_none_or(|t| now - t >= self.inventory_secs as i64);
        let report = (due || !changes.is_empty()).then(|| Report {
            path: PATH_INVENTORY,
            body: codec::encode(&InventoryReport {
                inventory: inv.clone(),
            }),
        });
        // Processes are not diffed, so an unchanged snapshot need not be rewritten.
        if self.last.is_none() || !changes.is_empty() {
            save_last_inventory(&self.data_dir, &inv);
        }
        self.last = Some(inv);
        Poll {
            events: changes,
            report,
        }
    }

    fn reported(&mut self, now: Timestamp, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                self.last_full_sent = Some(now);
                self.last_error = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "fingerprint report failed; retrying next round");
                self.last_error = Some(format!("fingerprint report failed: {e}"));
            }
        }
    }

    /// Collect now and send the full snapshot even if nothing changed.
    fn rescan(&mut self) -> bool {
        self.last_full_sent = None;
        true
    }

    fn health(&self) -> MonitorHealth {
        let mut unreadable: Vec<String> = self
            .collector
            .skipped
            .iter()
            .map(|(what, n)| format!("{what}: {n} skipped"))
            .collect();
        unreadable.sort();
        super::health_of(self.name(), self.last_run, &self.last_error, unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitors::MonitorState;

    /// An empty root is inventoried without a crash; its unread sources are named in the
    /// health; a failed report is shown until one is delivered, and the report is offered again.
    #[test]
    fn skipped_sources_and_failed_reports_show_in_health() {
        let dir = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let mut cfg = AgentConfig::new(dir.path().to_path_buf());
        cfg.root = root.path().to_path_buf();
        let mut m = InventoryMonitor::new(&cfg);
        assert_eq!(m.health().last_run, None);
        let t0 = 1_795_000_000;
        let poll = m.poll(t0);
        assert!(poll.events.is_empty());
        assert_eq!(poll.report.as_ref().map(|r| r.path), Some(PATH_INVENTORY));
        let h = m.health();
        assert_eq!((h.state, h.last_run), (MonitorState::Running, Some(t0)));
        assert!(
            h.unreadable.iter().any(|u| u.starts_with("passwd")),
            "{h:?}"
        );
        m.reported(t0, Err("server unreachable".into()));
        let h = m.health();
        assert_eq!(h.state, MonitorState::Degraded);
        assert!(h.last_error.unwrap().contains("server unreachable"));
        // Not delivered: offered again next run; delivered: not again before inventory_secs.
        assert!(m.poll(t0 + 60).report.is_some());
        m.reported(t0 + 60, Ok(()));
        assert_eq!(m.health().state, MonitorState::Running);
        assert!(m.poll(t0 + 120).report.is_none());
        assert!(m.rescan());
        assert!(m.poll(t0 + 121).report.is_some());
    }
}
