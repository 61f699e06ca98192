//! Bodies of the small system endpoints: `/healthz`, `/api/v1/me`, and the shapes several
//! endpoints share (a created id, a queued command).

use serde::{Deserialize, Serialize};

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// The storage backend: `sqlite` or `postgres`.
    pub backend: String,
}

/// `GET /api/v1/me`: who the token or session belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
}

/// The answer to a create that only needs to say which id it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedId {
    pub id: i64,
}

/// The answer to a request that queued a command for a host's agent (202 Accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedCommand {
    pub command_id: i64,
    pub message: String,
}
