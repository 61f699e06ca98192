//! Query strings of the list endpoints: every field optional, absent or empty meaning "any".

use serde::{Deserialize, Serialize};

/// `GET /api/v1/alerts?…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `reminder`, `suspicious` or `urgent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Unix seconds: last seen at or after / before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Text the alert's name contains (case-insensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `newest` (default), `oldest` or `level`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// `?host=ID`: one host, or every host when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// `GET /api/v1/hosts?…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostQuery {
    /// `online`, `offline` or `uninstalled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// `?limit=N`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `GET /api/v1/ip-rules?…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRuleFilter {
    /// `active`, `disabled` or `expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// `GET /api/v1/attacks?…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Days back from today, 1 to 366 (default 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
}

/// `?host=ID`, `?group=NAME` or neither (the fleet): whose settings or policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// `GET /api/v1/vulns?…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `unfixed`, `fixed` or `ignored`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `high`, `medium` or `low`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `none` (default), `advisory` or `package`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// `GET /api/v1/baseline?…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `passed`, `failed`, `ignored`, `not_applicable`, `error` or `all` (the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// One check id, or a family prefix ending in `.` (`ssh.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
}
