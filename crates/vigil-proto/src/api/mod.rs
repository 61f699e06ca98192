//! Bodies of the operator REST API under `/api/v1`.

mod baseline;
mod commands;
mod ip_rules;
mod logins;
mod notify;
mod query;
mod system;
mod vulns;

pub use baseline::*;
pub use commands::*;
pub use ip_rules::*;
pub use logins::*;
pub use notify::*;
pub use query::*;
pub use system::*;
pub use vulns::*;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_model::{AlertKind, AlertStatus, HostState, Level};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiErrorBody {
    pub error: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostView {
    pub id: String,
    pub hostname: String,
    pub group: String,
    pub labels: BTreeMap<String, String>,
    pub os: String,
    pub kernel: String,
    pub ips: Vec<String>,
    pub state: HostState,
    pub agent_version: String,
    pub enrolled_at: i64,
    pub last_seen: Option<i64>,
    pub uninstalled_at: Option<i64>,
    pub inventory_at: Option<i64>,
    /// Unhandled alerts on this host, by level name.
    pub alerts: BTreeMap<String, i64>,
    /// The agent's own health from its last heartbeat.
    pub agent: AgentHealth,
    /// Each of the agent's monitors, from its last heartbeat (none from older agents).
    #[serde(default)]
    pub monitors: Vec<crate::agent::MonitorHealth>,
}

/// What an agent last said about itself: memory and spool counters (events dropped past the
/// spool bound and failed spool writes are shown here, never lost silently).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AgentHealth {
    pub rss_kb: u64,
    pub spool: crate::agent::SpoolStats,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostList {
    pub hosts: Vec<HostView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupView {
    pub name: String,
    pub hosts: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupList {
    pub groups: Vec<GroupView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateGroup {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateInstallCode {
    /// Group the enrolled hosts join; created if it does not exist.
    #[serde(default = "default_group")]
    pub group: String,
    #[serde(default = "default_os")]
    pub os: String,
    /// Validity as a duration (`30m`, `24h`, `7d`).
    #[serde(default = "default_expires")]
    pub expires: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Server provider shown on the hosts (e.g. `aws`, `idc`).
    #[serde(default)]
    pub provider: String,
    /// Proxy cluster the hosts connect through, if any.
    #[serde(default)]
    pub proxy_cluster: Option<String>,
    /// At most this many hosts enroll with the code (1: single use); none: any number until
    /// it expires.
    #[serde(default)]
    pub max_hosts: Option<i64>,
}

impl Default for CreateInstallCode {
    /// The defaults the server applies to fields left out.
    fn default() -> Self {
        CreateInstallCode {
            group: default_group(),
            os: default_os(),
            expires: default_expires(),
            labels: BTreeMap::new(),
            provider: String::new(),
            proxy_cluster: None,
            max_hosts: None,
        }
    }
}

impl HandleAlerts {
    /// `action` on `ids`, with no note, the host scope, no related alerts and no duration.
    pub fn new(ids: Vec<i64>, action: HandleAction) -> HandleAlerts {
        HandleAlerts {
            ids,
            action,
            note: String::new(),
            scope: WhitelistScope::default(),
            include_related: false,
            duration: None,
        }
    }
}

pub fn default_group() -> String {
    "default".into()
}
fn default_os() -> String {
    "linux".into()
}
fn default_expires() -> String {
    "24h".into()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InstallCodeState {
    Active,
    Expired,
    Revoked,
    /// It enrolled as many hosts as it was made for.
    #[serde(rename = "used_up")]
    UsedUp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstallCodeView {
    pub id: String,
    /// First characters of the code, to recognise it; the full code is shown only at creation.
    pub hint: String,
    pub group: String,
    pub os: String,
    pub provider: String,
    pub labels: BTreeMap<String, String>,
    pub proxy_cluster: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub uses: i64,
    /// How many hosts the code may enroll; none: no limit.
    #[serde(default)]
    pub max_hosts: Option<i64>,
    pub state: InstallCodeState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedInstallCode {
    #[serde(flatten)]
    pub view: InstallCodeView,
    pub code: String,
    /// One line to run as root on the host to install and enroll the agent.
    pub command: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstallCodeList {
    pub codes: Vec<InstallCodeView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    pub host_id: String,
    pub hostname: String,
    pub kind: AlertKind,
    pub level: Level,
    pub status: AlertStatus,
    pub name: String,
    pub evidence: Vec<Evidence>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
    /// Who last set the status, when, and why (`agent` for host actions).
    pub handled_at: Option<i64>,
    pub handled_by: String,
    pub note: String,
    /// The rule covering the alert while it is whitelisted.
    pub whitelist_rule_id: Option<i64>,
    pub group: String,
    /// MITRE ATT&CK tactic, e.g. `TA0006 Credential Access`.
    pub tactic: String,
    /// Alerts about the same process or file on the host, handled together on request.
    pub related: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Evidence {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertList {
    pub alerts: Vec<AlertView>,
    /// Matching alerts, counted up to a cap (10,000 or the page's end).
    pub total: i64,
    /// True when `total` is the cap: at least that many match.
    pub total_capped: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Overview {
    pub hosts_total: i64,
    pub hosts_online: i64,
    pub hosts_offline: i64,
    pub hosts_uninstalled: i64,
    /// Unhandled alerts by level name.
    pub alerts: BTreeMap<String, i64>,
}

/// What an operator does to alerts. The last three run on the alert's host, as signed
/// commands; the alert is `in_progress` until the agent reports the outcome.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HandleAction {
    Ignore,
    Handled,
    Whitelist,
    Unwhitelist,
    /// Kill the process named by the alert's `pid` evidence.
    KillProcess,
    /// Quarantine the file named by the alert's `path` (or `file`) evidence.
    Quarantine,
    /// Kill the process and quarantine its executable.
    KillAndQuarantine,
    /// Block the alert's `source_ip` on its host for `duration` (an IP policy rule).
    BlockIp,
}

impl HandleAction {
    pub const ALL: [HandleAction; 8] = [
        HandleAction::Ignore,
        HandleAction::Handled,
        HandleAction::Whitelist,
        HandleAction::Unwhitelist,
        HandleAction::KillProcess,
        HandleAction::Quarantine,
        HandleAction::KillAndQuarantine,
        HandleAction::BlockIp,
    ];
}

/// Where a whitelist rule applies (default: the alert's host only).
pub use vigil_model::ScopeKind as WhitelistScope;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandleAlerts {
    pub ids: Vec<i64>,
    pub action: HandleAction,
    #[serde(default)]
    pub note: String,
    /// For `whitelist`: where the rule applies (default: the alert's host).
    #[serde(default)]
    pub scope: WhitelistScope,
    /// Also act on the alerts linked to these (same process or same file on the host).
    #[serde(default)]
    pub include_related: bool,
    /// For `block_ip`: how long, `30m`, `12h`, `7d`, or `permanent`.
    #[serde(default)]
    pub duration: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HandleResult {
    pub id: i64,
    /// `changed`, `unchanged` (already in another state: the message says which), `missing`,
    /// or `refused` (the action does not apply to this alert).
    pub outcome: String,
    pub status: Option<AlertStatus>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandleResponse {
    pub results: Vec<HandleResult>,
}

/// Restores a quarantined file on its host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreRequest {
    pub host_id: String,
    /// The quarantine box id (16 hex digits).
    pub qid: String,
    /// Replace a file that has since appeared at the original path.
    #[serde(default)]
    pub overwrite: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhitelistRuleView {
    pub id: i64,
    pub kind: AlertKind,
    pub scope: WhitelistScope,
    pub scope_value: String,
    pub fields: BTreeMap<String, String>,
    pub note: String,
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhitelistRuleList {
    pub rules: Vec<WhitelistRuleView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateWhitelistRule {
    pub kind: AlertKind,
    #[serde(default)]
    pub scope: WhitelistScope,
    /// The group name or host id for `group` / `host` scopes.
    #[serde(default)]
    pub scope_value: String,
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub note: String,
}

/// `DELETE /api/v1/whitelist/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedWhitelistRule {
    pub deleted: i64,
    /// Alerts the rule covered, back in the list as `unhandled`.
    pub restored: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedWhitelistRule {
    pub rule: WhitelistRuleView,
    /// Existing alerts the rule now covers.
    pub whitelisted: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScoreView {
    pub score: u32,
    pub band: String,
    /// (module, points lost), most costly first.
    pub deductions: Vec<(String, f64)>,
    pub capped_at: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostScore {
    pub host_id: String,
    pub hostname: String,
    #[serde(flatten)]
    pub score: ScoreView,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetScore {
    /// The mean of the installed hosts' scores (100 with no host).
    pub fleet: ScoreView,
    /// Lowest score first.
    pub hosts: Vec<HostScore>,
}

/// Parses a duration such as `90s`, `30m`, `24h`, `7d` into seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult).filter(|&v| v > 0)
}

/// The shortest exact text for a duration in seconds: `12h`, `90m`, `7d`, `45s`.
pub fn format_duration(secs: i64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= size && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (secs, text) in [
            (43_200, "12h"),
            (5400, "90m"),
            (604_800, "7d"),
            (45, "45s"),
            (3601, "3601s"),
        ] {
            assert_eq!(format_duration(secs), text);
            assert_eq!(parse_duration(text), Some(secs));
        }
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("24"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5w"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }
}

/// A block to add to the IP policy library.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateIpRule {
    /// An address or CIDR network.
    pub target: String,
    /// `in` (default) or `out`.
    #[serde(default)]
    pub direction: Option<String>,
    /// Host ids; empty or absent: every host.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// `30m`, `12h`, `7d`, or `permanent`.
    pub duration: String,
    #[serde(default)]
    pub reason: String,
    /// Needed for a network wider than the server's prefix limit (by default /8 for IPv4, /32
    /// for IPv6).
    #[serde(default)]
    pub confirm_wide: bool,
}

/// Parses a block validity: a duration or `permanent` (`None`).
pub fn parse_validity(s: &str) -> Result<Option<i64>, String> {
    match s.trim() {
        "permanent" | "forever" => Ok(None),
        other => parse_duration(other)
            .map(Some)
            .ok_or_else(|| format!("{other:?} is not a duration like 30m, 12h, 7d, or permanent")),
    }
}

/// `GET /api/v1/content`: the detection content in force and the state of its override tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContentStatus {
    pub version: String,
    /// The override tree watched (`<data>/content`).
    pub override_dir: String,
    /// When the content in force was loaded.
    pub loaded_at: i64,
    pub files: Vec<ContentFileView>,
    /// The last override that was refused, while the content above stayed in force; cleared
    /// when a good one loads.
    pub rejected: Option<ContentRejection>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContentFileView {
    pub path: String,
    /// `embedded` or `override`.
    pub origin: String,
    pub sha256: String,
    pub bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContentRejection {
    pub at: i64,
    pub file: String,
    pub message: String,
}
