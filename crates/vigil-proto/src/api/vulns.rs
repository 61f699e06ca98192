//! Bodies of `/api/v1/vulns…`: vulnerability rows, fleet views by advisory or package,
//! ignoring, and verifying a host.

use serde::{Deserialize, Serialize};
use vigil_model::Timestamp;

/// One vulnerability on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnView {
    pub host_id: String,
    pub hostname: String,
    pub package: String,
    pub advisory: String,
    /// The advisory's CVE and other ids.
    pub ids: Vec<String>,
    pub ecosystem: String,
    pub installed: String,
    pub fixed: Option<String>,
    /// `high`, `medium` or `low`.
    pub level: String,
    /// Remote code execution.
    pub rce: bool,
    pub summary: String,
    pub fix_command: Option<String>,
    pub needs_restart: bool,
    /// `unfixed`, `ignored` or `fixed`.
    pub status: String,
    /// Why it was ignored.
    pub reason: String,
    pub handled_by: String,
    pub handled_at: Option<Timestamp>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub fixed_at: Option<Timestamp>,
}

/// The hosts and vulnerabilities one advisory or one package covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnGroup {
    /// The advisory id (`group_by=advisory`) or the package name (`group_by=package`).
    pub key: String,
    pub ids: Vec<String>,
    pub packages: Vec<String>,
    /// The highest level among the group's rows.
    pub level: String,
    pub rce: bool,
    pub summary: String,
    pub hosts: usize,
    pub host_ids: Vec<String>,
    pub installed: Vec<String>,
    pub fixed: Vec<String>,
    pub fix_commands: Vec<String>,
    pub needs_restart: bool,
    pub unfixed: usize,
    pub ignored: usize,
    pub fixed_count: usize,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// The advisory database the server matches with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnDbView {
    pub loaded: bool,
    pub path: String,
    pub advisories: usize,
    pub sources: Vec<VulnSourceView>,
    /// How to build the database, when none is loaded.
    pub hint: Option<String>,
}

/// One imported advisory source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnSourceView {
    pub name: String,
    pub imported_at: Timestamp,
}

/// Rows or groups, as `group_by` asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VulnItems {
    Rows(Vec<VulnView>),
    Groups(Vec<VulnGroup>),
}

/// `GET /api/v1/vulns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnList {
    /// `none`, `advisory` or `package`.
    pub group_by: String,
    /// Matching rows (`none`) or groups.
    pub total: i64,
    /// Grouped views group at most this many rows; `true` when more matched.
    pub truncated: bool,
    pub items: VulnItems,
    pub database: VulnDbView,
}

/// Names one vulnerability row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnKeyRef {
    pub host_id: String,
    pub package: String,
    pub advisory: String,
}

/// `POST /api/v1/vulns/handle`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleVulns {
    pub keys: Vec<VulnKeyRef>,
    /// `ignore` or `unignore`.
    pub action: String,
    /// Why it does not matter here (needed to ignore).
    #[serde(default)]
    pub reason: String,
}

/// What became of one row of a [`HandleVulns`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleVulnResult {
    pub host_id: String,
    pub package: String,
    pub advisory: String,
    /// `changed`, `unchanged` (its status does not allow the action: the message says why) or
    /// `missing`.
    pub outcome: String,
    pub status: Option<String>,
    pub message: String,
}

/// The answer to a [`HandleVulns`], one result per key in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleVulnResponse {
    pub results: Vec<HandleVulnResult>,
}

/// `POST /api/v1/hosts/{id}/vulns/verify` (202): a fresh inventory was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyVulns {
    pub host_id: String,
    pub command_id: i64,
    pub action: String,
    pub database_loaded: bool,
    pub message: String,
}
