//! Bodies of `/api/v1/ip-rules…` and `/api/v1/attacks`: the IP policy library and attack
//! analysis.

use serde::{Deserialize, Serialize};
use vigil_model::{Direction, IpRuleHostState, IpRuleStatus, RuleOrigin, Timestamp};

/// Where one host stands with one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRuleOnHost {
    pub host_id: String,
    pub state: IpRuleHostState,
    /// The agent's message (why it failed, or what it did).
    pub message: String,
    pub updated_at: Timestamp,
}

/// One rule of the IP policy library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRuleView {
    pub id: i64,
    /// An address or a network (`203.0.113.7`, `198.51.100.0/24`).
    pub target: String,
    pub direction: Direction,
    /// The hosts it applies to; empty means every host.
    pub hosts: Vec<String>,
    pub origin: RuleOrigin,
    pub reason: String,
    pub alert_id: Option<i64>,
    pub created_at: Timestamp,
    pub created_by: String,
    /// `None`: until disabled.
    pub expires_at: Option<Timestamp>,
    pub status: IpRuleStatus,
    pub ended_at: Option<Timestamp>,
    pub ended_by: String,
    pub on_hosts: Vec<IpRuleOnHost>,
}

/// `GET /api/v1/ip-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRuleList {
    pub rules: Vec<IpRuleView>,
}

/// `POST /api/v1/ip-rules` (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedIpRule {
    pub id: i64,
    pub target: String,
    pub direction: Direction,
    pub expires_at: Option<Timestamp>,
    /// How many hosts a block command was queued for.
    pub sent_to_hosts: usize,
}

/// `POST /api/v1/ip-rules/{id}/disable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisabledIpRule {
    pub id: i64,
    pub status: IpRuleStatus,
    pub target: String,
}

/// Failed logins, distinct sources and automatic blocks on one host on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackDay {
    /// Start of the UTC day.
    pub day: Timestamp,
    pub host_id: String,
    pub failures: i64,
    pub sources: i64,
    pub blocks: i64,
}

/// A source address and its failed logins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackSource {
    pub source: String,
    pub failures: i64,
}

/// `GET /api/v1/attacks` (SPEC R-LG10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackReport {
    /// Start of the first day counted.
    pub since: Timestamp,
    pub days: Vec<AttackDay>,
    pub top_sources: Vec<AttackSource>,
}

/// `DELETE /api/v1/login-settings` and `/api/v1/login-policy`: whose own document was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedScoped {
    /// `group NAME` or `host ID`.
    pub removed: String,
}
