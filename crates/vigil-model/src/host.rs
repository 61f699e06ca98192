//! Host identity and the online / offline / uninstalled state derived from heartbeats.

use crate::Timestamp;
use std::fmt;

/// A host's id, assigned by the server at enrollment (`h-` followed by 16 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct HostId(pub String);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a host's agent is reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum HostState {
    /// A heartbeat arrived within the offline threshold.
    Online,
    /// No heartbeat within the offline threshold.
    Offline,
    /// The agent was removed; the host's history is kept.
    Uninstalled,
}

impl HostState {
    pub const ALL: [HostState; 3] = [
        HostState::Online,
        HostState::Offline,
        HostState::Uninstalled,
    ];

    /// Derives the state from the last heartbeat, the uninstall mark and the threshold.
    pub fn derive(
        last_seen: Option<Timestamp>,
        uninstalled: bool,
        now: Timestamp,
        offline_after_secs: i64,
    ) -> HostState {
        if uninstalled {
            return HostState::Uninstalled;
        }
        match last_seen {
            Some(t) if now - t <= offline_after_secs => HostState::Online,
            _ => HostState::Offline,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Online => "online",
            HostState::Offline => "offline",
            HostState::Uninstalled => "uninstalled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_follows_heartbeats() {
        assert_eq!(
            HostState::derive(Some(100), false, 130, 30),
            HostState::Online
        );
        assert_eq!(
            HostState::derive(Some(100), false, 131, 30),
            HostState::Offline
        );
        assert_eq!(HostState::derive(None, false, 0, 30), HostState::Offline);
        assert_eq!(
            HostState::derive(Some(100), true, 100, 30),
            HostState::Uninstalled
        );
    }
}
