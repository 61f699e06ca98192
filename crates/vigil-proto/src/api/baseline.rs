//! Bodies of `/api/v1/baseline…`: each host's baseline results joined with the checks in force,
//! ignoring a failed check with a reason (and undoing it), asking a host to verify, and the
//! schedule of the scheduled runs.

use serde::{Deserialize, Serialize};
use vigil_model::{CheckStatus, Timestamp};

/// An operator's ignore of one check on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineIgnore {
    pub reason: String,
    pub by: String,
    pub at: Timestamp,
}

/// One check's latest result on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineResultView {
    pub host_id: String,
    pub hostname: String,
    pub check_id: String,
    /// From the content in force; the id when the check is no longer in it.
    pub title: String,
    /// `identity_authentication`, `access_control`, `network_services`,
    /// `service_configuration`, `file_rights`, `security_audit`, `attack_defense`, `other`.
    pub category: String,
    /// `high`, `medium` or `low`.
    pub level: String,
    pub status: CheckStatus,
    /// Set when an operator ignores it (it still shows its own status).
    pub ignored: Option<BaselineIgnore>,
    pub evidence: String,
    pub file: String,
    pub remediation: String,
    pub refs: Vec<String>,
    pub first_failed_at: Option<Timestamp>,
    pub last_run_at: Timestamp,
    /// When an operator asked the host to run it again; until that run arrives the check is
    /// being verified (its status is still the last run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifying: Option<Timestamp>,
}

/// How many results of the host and check selection are in each state, whatever status the
/// list shows (an ignored failure counts as ignored only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSummary {
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    pub not_applicable: usize,
    pub error: usize,
    /// Results being verified (also counted under their status).
    #[serde(default)]
    pub verifying: usize,
}

/// `GET /api/v1/baseline`: failed first, highest level first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineList {
    pub results: Vec<BaselineResultView>,
    pub summary: BaselineSummary,
}

/// `POST /api/v1/baseline/ignore` (a reason is needed) and `/unignore` (no reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreBaseline {
    pub host_id: String,
    pub check_id: String,
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/baseline/verify`: run the baseline on a host now; `check_id` names the
/// check the operator is verifying (empty: all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyBaseline {
    pub host_id: String,
    #[serde(default)]
    pub check_id: String,
}

/// The command that carries a verify, and how many results wait for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyingBaseline {
    pub host_id: String,
    pub check_id: String,
    pub command_id: i64,
    pub verifying: u64,
    pub message: String,
}

/// The result of an ignore or undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredBaseline {
    pub host_id: String,
    pub check_id: String,
    pub ignored: bool,
}
