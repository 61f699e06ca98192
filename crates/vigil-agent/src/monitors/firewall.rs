//! The firewall monitor: checks now and then that `nft` can be run, so a host where blocks
//! cannot be made says "nft missing" instead of failing silently at the first attack.

use super::{Monitor, MonitorHealth, Poll};
use crate::firewall::{Firewall, FirewallError};
use std::time::Duration;
use vigil_model::Timestamp;

#[derive(Debug)]
pub struct FirewallMonitor {
    firewall: Firewall,
    last_run: Option<Timestamp>,
    last_error: Option<String>,
}

impl FirewallMonitor {
    pub fn new(firewall: Firewall) -> FirewallMonitor {
        FirewallMonitor {
            firewall,
            last_run: None,
            last_error: None,
        }
    }
}

impl Monitor for FirewallMonitor {
    fn name(&self) -> &'static str {
        "firewall"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn poll(&mut self, now: Timestamp) -> Poll {
        self.last_run = Some(now);
        let was = self.last_error.take();
        self.last_error = match self.firewall.probe() {
            Ok(_) => None,
            Err(e @ FirewallError::Spawn(_)) => Some(format!("nft missing: {e}")),
            Err(e) => Some(e.to_string()),
        };
        if self.last_error != was {
            if let Some(e) = &self.last_error {
                tracing::warn!(error = %e, "IP blocks cannot be made on this host");
            }
        }
        Poll::default()
    }

    fn health(&self) -> MonitorHealth {
        super::health_of(self.name(), self.last_run, &self.last_error, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitors::MonitorState;

    #[test]
    fn a_missing_nft_is_degraded() {
        let mut m = FirewallMonitor::new(Firewall::new(vec!["/nonexistent/nft".into()]));
        m.poll(5);
        let h = m.health();
        assert_eq!((h.state, h.last_run), (MonitorState::Degraded, Some(5)));
        assert!(h.last_error.unwrap().starts_with("nft missing"));
    }

    /// A command that runs and succeeds (`true` stands in for nft): running.
    #[test]
    fn a_runnable_nft_is_running() {
        let mut m = FirewallMonitor::new(Firewall::new(vec!["true".into()]));
        m.poll(5);
        let h = m.health();
        assert_eq!((h.state, h.last_error), (MonitorState::Running, None));
    }
}
