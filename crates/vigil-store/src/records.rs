//! Records the store reads and writes.

use std::collections::BTreeMap;
use vigil_model::{
    AlertKind, AlertStatus, CommandState, Direction, IpRuleHostState, IpRuleStatus, Level,
    OutboxState, QuarantineState, RuleOrigin, ScopeKind, Timestamp, TokenKind,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub username: String,
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// A bearer token, stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_hash: String,
    pub username: String,
    pub kind: TokenKind,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub name: String,
    pub created_at: Timestamp,
    pub hosts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallCodeRecord {
    pub id: String,
    /// SHA-256 of the code, hex. The code itself is never stored.
    pub code_hash: String,
    pub hint: String,
    pub group: String,
    pub os: String,
    pub provider: String,
    pub labels: BTreeMap<String, String>,
    pub proxy_cluster: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub uses: i64,
    /// At most this many hosts enroll with the code (`None`: any number until it expires).
    pub max_uses: Option<i64>,
}

/// A host as enrollment creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHost {
    pub id: String,
    pub hostname: String,
    pub public_key: Vec<u8>,
    pub agent_version: String,
    /// OS facts as JSON (`vigil_model::OsInfo`).
    pub os_json: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRecord {
    pub id: String,
    pub hostname: String,
    pub group: String,
    pub provider: String,
    pub labels: BTreeMap<String, String>,
    pub public_key: Vec<u8>,
    pub agent_version: String,
    pub os_json: String,
    pub enrolled_at: Timestamp,
    pub last_seen: Option<Timestamp>,
    pub uninstalled_at: Option<Timestamp>,
    pub inventory_at: Option<Timestamp>,
    /// Highest event batch sequence number committed.
    pub last_seq: i64,
    /// The agent's last reported health (spool counters, memory) as JSON.
    pub agent_stats: String,
    /// The agent's monitors as of its last heartbeat that reported them, as a JSON array.
    pub monitors: String,
}

/// An event as stored: its kind and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub time: Timestamp,
    pub kind: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub host_id: String,
    pub seq: i64,
    pub time: Timestamp,
    pub kind: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub id: i64,
    pub host_id: String,
    pub kind: AlertKind,
    pub level: Level,
    pub status: AlertStatus,
    pub name: String,
    pub key: String,
    pub evidence: Vec<(String, String)>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: i64,
    /// When and by whom the status was last set by an operator.
    pub handled_at: Option<Timestamp>,
    pub handled_by: String,
    pub note: String,
    /// The whitelist rule that covers this alert, while its status is `whitelisted`.
    pub whitelist_rule_id: Option<i64>,
}

/// What happened to one alert of a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Changed(i64),
    /// The alert was not in a status the change starts from (already handled by someone).
    Unchanged {
        id: i64,
        status: AlertStatus,
    },
    Missing(i64),
}

/// A whitelist rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistRuleRecord {
    pub id: i64,
    pub kind: AlertKind,
    pub scope: ScopeKind,
    /// The group name or host id; empty for `all`.
    pub scope_value: String,
    pub fields: BTreeMap<String, String>,
    pub note: String,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// Alert list query; `None` fields do not filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertFilter {
    pub host_id: Option<String>,
    pub level: Option<Level>,
    pub status: Option<AlertStatus>,
    pub kind: Option<AlertKind>,
    /// Last seen at or after.
    pub since: Option<Timestamp>,
    /// Last seen before.
    pub until: Option<Timestamp>,
    /// Case-insensitive text the alert's name contains.
    pub search: Option<String>,
    pub sort: AlertSort,
    pub limit: i64,
    pub offset: i64,
}

/// Order of an alert list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertSort {
    /// Most recently seen first.
    #[default]
    Newest,
    Oldest,
    /// Urgent first, then suspicious, then reminders; newest first within a level.
    Level,
}

impl AlertSort {
    pub(crate) fn order_by(self) -> &'static str {
        match self {
            AlertSort::Newest => "last_seen DESC, id DESC",
            AlertSort::Oldest => "last_seen ASC, id ASC",
            AlertSort::Level => {
                "CASE level WHEN 'urgent' THEN 0 WHEN 'suspicious' THEN 1 ELSE 2 END, last_seen DESC, id DESC"
            }
        }
    }
}

impl Default for AlertFilter {
    fn default() -> Self {
        AlertFilter {
            host_id: None,
            level: None,
            status: None,
            kind: None,
            since: None,
            until: None,
            search: None,
            sort: AlertSort::Newest,
            limit: 50,
            offset: 0,
        }
    }
}

/// Alert lists count matches only up to this many (or to the requested page's end, if further):
/// an exact count of a million rows costs more than the page itself. A total above the cap
/// means "at least this many".
pub fn alert_count_cap(f: &AlertFilter) -> i64 {
    10_000i64.max(f.offset.max(0) + f.limit.clamp(0, 1000))
}

/// A host action as queued by an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommand {
    pub host_id: String,
    pub alert_id: Option<i64>,
    /// `kill_process`, `quarantine_file`, `kill_and_quarantine`, `restore_file`.
    pub action: String,
    /// The action's parameters as JSON.
    pub params: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    pub id: i64,
    pub host_id: String,
    pub alert_id: Option<i64>,
    pub action: String,
    pub params: String,
    pub state: CommandState,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub message: String,
    pub result: String,
}

/// A file in a host's quarantine box, as the agent reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRecord {
    pub host_id: String,
    pub qid: String,
    pub path: String,
    pub sha256: String,
    pub md5: String,
    pub size: i64,
    pub quarantined_at: Timestamp,
    pub state: QuarantineState,
    pub restored_at: Option<Timestamp>,
    /// The agent's full record, JSON.
    pub record: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    /// The channel's settings as JSON (`vigil_notify::ChannelConfig`).
    pub config: String,
    pub created_at: Timestamp,
}

/// One notification waiting for, or done with, delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub channel_id: i64,
    pub host_id: String,
    pub alert_id: Option<i64>,
    pub state: OutboxState,
    pub next_at: Timestamp,
    pub created_at: Timestamp,
    /// Start of the channel's local day the notification counts against.
    pub day_start: Timestamp,
    /// The outbox item as JSON (`vigil_notify::OutboxItem`).
    pub item: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub host_id: String,
    pub title: String,
    pub body: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A block in the IP policy library, as created (SPEC R-LG8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIpRule {
    /// Normalized CIDR, e.g. `192.0.2.7/32`.
    pub target: String,
    pub direction: Direction,
    /// Host ids the rule applies to; empty means every host.
    pub hosts: Vec<String>,
    pub origin: RuleOrigin,
    pub reason: String,
    pub alert_id: Option<i64>,
    pub created_at: Timestamp,
    pub created_by: String,
    /// `None`: until disabled.
    pub expires_at: Option<Timestamp>,
}

/// A block with its lifecycle: `active`, then `disabled` by a person or `expired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRuleRecord {
    pub id: i64,
    pub rule: NewIpRule,
    pub status: IpRuleStatus,
    pub ended_at: Option<Timestamp>,
    pub ended_by: String,
}

/// Where a rule stands on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRuleHostRecord {
    pub rule_id: i64,
    pub host_id: String,
    pub state: IpRuleHostState,
    pub message: String,
    pub updated_at: Timestamp,
}

/// Failed logins from one source to one service on a host during one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailureRow {
    /// Start of the UTC day.
    pub day: Timestamp,
    pub source: String,
    pub service: String,
    pub failures: i64,
}

/// One host's day in the attack analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackDay {
    pub host_id: String,
    pub day: Timestamp,
    pub failures: i64,
    /// Distinct sources that failed.
    pub sources: i64,
}

/// Where a vulnerability on a host stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VulnStatus {
    /// The last scan found it.
    Unfixed,
    /// A later scan no longer found it. Only a scan sets this.
    Fixed,
    /// An operator accepted it, with a reason; scans keep it ignored.
    Ignored,
}

impl VulnStatus {
    /// In the order lists offer them: what waits, what an operator set, what a scan set.
    pub const ALL: [VulnStatus; 3] = [VulnStatus::Unfixed, VulnStatus::Ignored, VulnStatus::Fixed];

    pub fn as_str(self) -> &'static str {
        match self {
            VulnStatus::Unfixed => "unfixed",
            VulnStatus::Fixed => "fixed",
            VulnStatus::Ignored => "ignored",
        }
    }

    pub fn parse(s: &str) -> Option<VulnStatus> {
        VulnStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One vulnerability a scan found on a host's package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VulnFinding {
    pub package: String,
    /// The finding's first advisory id: with host and package, the row's key.
    pub advisory_id: String,
    /// Every advisory id of the finding (CVE ids, vendor ids), the key first.
    pub ids: Vec<String>,
    /// The ecosystem the package was matched in (`Debian:12`).
    pub ecosystem: String,
    pub installed: String,
    pub fixed: Option<String>,
    /// `high`, `medium` or `low`.
    pub level: String,
    pub rce: bool,
    pub summary: String,
    pub fix_command: Option<String>,
    pub needs_restart: bool,
}

/// A vulnerability on a host, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnRecord {
    pub host_id: String,
    pub finding: VulnFinding,
    pub status: VulnStatus,
    /// Why it was ignored (kept after an undo, for the record).
    pub reason: String,
    pub handled_by: String,
    pub handled_at: Option<Timestamp>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// When a scan last found it gone.
    pub fixed_at: Option<Timestamp>,
}

/// Names one stored vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VulnKey {
    pub host_id: String,
    pub package: String,
    pub advisory_id: String,
}

/// What one host's scan changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VulnSync {
    /// Never seen on this host before.
    pub new: u64,
    /// Were fixed, found again.
    pub reopened: u64,
    /// Were unfixed, not found any more.
    pub fixed: u64,
}

/// Outcome of one operator status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VulnTransition {
    Changed,
    /// The vulnerability is in this status, which the change does not start from.
    Unchanged(VulnStatus),
    Missing,
}

/// Vulnerability list query; `None` fields do not filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnFilter {
    pub host_id: Option<String>,
    pub status: Option<VulnStatus>,
    pub level: Option<String>,
    /// Exact package name.
    pub package: Option<String>,
    /// Case-insensitive text one of the advisory ids contains.
    pub search: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl Default for VulnFilter {
    fn default() -> Self {
        VulnFilter {
            host_id: None,
            status: None,
            level: None,
            package: None,
            search: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// Most rows one vulnerability page returns.
pub const MAX_VULN_PAGE: i64 = 100_000;

/// One baseline check's latest result on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineRecord {
    pub host_id: String,
    pub check_id: String,
    pub status: vigil_model::CheckStatus,
    pub evidence: String,
    pub file: String,
    /// When it began failing (kept while it keeps failing).
    pub first_failed_at: Option<Timestamp>,
    pub last_run_at: Timestamp,
    /// An operator's reason to ignore it; empty when not ignored.
    pub ignored_reason: String,
    pub ignored_by: String,
    pub ignored_at: Option<Timestamp>,
    /// When an operator asked for a fresh run of it; cleared by the host's next run.
    pub verify_requested_at: Option<Timestamp>,
}
