//! Bodies of `/api/v1/commands`, `/api/v1/quarantine…` and a host's events: what was asked of
//! agents and what they keep.

use crate::agent::CommandAction;
use serde::{Deserialize, Serialize};
use vigil_model::{CommandState, QuarantineState, Timestamp};

/// One command queued for a host's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandView {
    pub id: i64,
    pub host_id: String,
    pub alert_id: Option<i64>,
    /// The action's name (`kill_process`, `block_ip`, …).
    pub action: String,
    /// The whole action as it was signed for the agent; `None` if it could not be read back.
    pub params: Option<CommandAction>,
    pub state: CommandState,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The agent's message when it finished (or why it timed out).
    pub message: String,
}

/// `GET /api/v1/commands`: the newest commands first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandList {
    pub commands: Vec<CommandView>,
}

/// A file in a host's quarantine box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedFileView {
    pub host_id: String,
    /// `None` when the host is no longer known.
    pub hostname: Option<String>,
    /// The id of the entry in the host's box.
    pub qid: String,
    pub path: String,
    pub sha256: String,
    pub md5: String,
    pub size: i64,
    pub quarantined_at: Timestamp,
    /// When it stops being restorable.
    pub expires_at: Timestamp,
    pub state: QuarantineState,
    pub restored_at: Option<Timestamp>,
    /// True while a restore can be asked for.
    pub restorable: bool,
}

/// `GET /api/v1/quarantine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineList {
    pub files: Vec<QuarantinedFileView>,
}

/// One event a host's agent reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostEventView {
    pub id: i64,
    pub seq: i64,
    pub time: Timestamp,
    pub kind: String,
    /// The event as the agent sent it (its shape depends on `kind`); null if unreadable.
    pub body: serde_json::Value,
}

/// `GET /api/v1/hosts/{id}/events`: newest first, with the host's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostEventList {
    pub events: Vec<HostEventView>,
    pub total: i64,
}
