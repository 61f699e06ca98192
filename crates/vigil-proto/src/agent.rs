//! Messages between agents (possibly through a proxy) and the server, under `/agent/v1`.

use serde::{Deserialize, Serialize};
use vigil_model::{Event, Inventory, OsInfo};

pub const PATH_ENROLL: &str = "/agent/v1/enroll";
pub const PATH_HEARTBEAT: &str = "/agent/v1/heartbeat";
pub const PATH_INVENTORY: &str = "/agent/v1/inventory";
pub const PATH_EVENTS: &str = "/agent/v1/events";
pub const PATH_UNINSTALL: &str = "/agent/v1/uninstall";
pub const PATH_COMMAND_RESULT: &str = "/agent/v1/command-result";
pub const PATH_CA: &str = "/agent/v1/ca.pem";
pub const PATH_INSTALL_SCRIPT: &str = "/agent/v1/install.sh";
pub const PATH_DOWNLOAD: &str = "/agent/v1/download/vigil";
pub const PATH_DOWNLOAD_SHA256: &str = "/agent/v1/download/vigil.sha256";

/// Events in one batch at most; the agent splits larger appends.
pub const MAX_BATCH_EVENTS: usize = 20_000;

/// First contact: an install code and the agent's freshly generated public key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub proto: u32,
    pub code: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub hostname: String,
    pub agent_version: String,
    #[serde(default)]
    pub os: OsInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub host_id: String,
    pub group: String,
    pub settings: AgentSettings,
    /// Base64 Ed25519 public key that signs the server's commands; the agent pins it.
    #[serde(default)]
    pub command_key: String,
}

/// Cadences the server asks of its agents.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentSettings {
    pub heartbeat_secs: u64,
    pub inventory_secs: u64,
}

/// Sent every `heartbeat_secs`; carries the agent's own health.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Heartbeat {
    pub agent_version: String,
    pub spool: SpoolStats,
    pub rss_kb: u64,
    /// Each monitor's health, so a blind spot is shown rather than silent (absent from agents
    /// older than the monitors).
    pub monitors: Vec<MonitorHealth>,
}

/// How one of the agent's monitors is doing, as of its last run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MonitorHealth {
    /// `inventory`, `logins`, `firewall`, …
    pub name: String,
    pub state: MonitorState,
    /// When it last ran (Unix seconds); `None` before its first run.
    pub last_run: Option<i64>,
    /// What is wrong, in a sentence (e.g. "no log source found").
    pub last_error: Option<String>,
    /// Sources it could not read, each with the reason (`/var/log/secure: permission denied`).
    pub unreadable: Vec<String>,
}

/// A monitor's state: `degraded` still runs but misses something, `failed` stopped.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MonitorState {
    #[default]
    Running,
    Degraded,
    Failed,
    Off,
}

impl MonitorState {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorState::Running => "running",
            MonitorState::Degraded => "degraded",
            MonitorState::Failed => "failed",
            MonitorState::Off => "off",
        }
    }
}

/// State of the agent's on-disk spool, reported so loss is never silent.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SpoolStats {
    pub pending_batches: u64,
    pub pending_bytes: u64,
    /// Events dropped because the spool was over its bound (oldest first).
    pub dropped_events: u64,
    /// Spool writes that failed (e.g. disk full); those events were kept in memory.
    pub write_failures: u64,
    /// Batches renumbered because the server said the agent's numbers were behind.
    #[serde(default)]
    pub resynced_batches: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub settings: AgentSettings,
    /// Actions for this host, each signed by the server's command key.
    #[serde(default)]
    pub commands: Vec<SignedCommand>,
    /// The brute-force rule and access whitelist the agent enforces.
    #[serde(default)]
    pub login: Option<LoginSettings>,
    /// When the scheduled baseline runs (absent from servers older than the schedule).
    #[serde(default)]
    pub baseline: Option<BaselineSchedule>,
}

/// When an agent runs its security baseline (SPEC R-BL): every `every_days` days, inside the
/// host's local `from_hour`..`to_hour` window (the night by default), at a minute of the window
/// each host derives from its own id so that a fleet does not run at once.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BaselineSchedule {
    /// 1, 2, 3, 7 or 30.
    pub every_days: u32,
    /// Hours of the host's local day, 0–23 and 1–24, `from_hour` before `to_hour`.
    pub from_hour: u32,
    pub to_hour: u32,
}

impl Default for BaselineSchedule {
    fn default() -> Self {
        BaselineSchedule {
            every_days: 2,
            from_hour: 0,
            to_hour: 6,
        }
    }
}

impl BaselineSchedule {
    pub const DAYS: &'static [u32] = &[1, 2, 3, 7, 30];

    /// Why the schedule cannot be used.
    pub fn check(&self) -> Result<(), String> {
        if !Self::DAYS.contains(&self.every_days) {
            return Err(format!(
                "every_days must be one of 1, 2, 3, 7 or 30, not {}",
                self.every_days
            ));
        }
        if self.from_hour > 23 || self.to_hour > 24 || self.from_hour >= self.to_hour {
            return Err(format!(
                "the window {}:00–{}:00 is not a span of the day (from_hour 0–23 before to_hour 1–24)",
                self.from_hour, self.to_hour
            ));
        }
        Ok(())
    }
}

/// Brute-force defense settings (SPEC R-LG7, R-LG9), as the console edits them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LoginSettings {
    /// Block when a source fails more than `max_failures` times within `span_mins`.
    pub enabled: bool,
    /// 1, 2, 5, 10 or 15.
    pub span_mins: u32,
    /// 2, 3, 4, 5, 10, 50, 80 or 100.
    pub max_failures: u32,
    /// 5, 15, 30, 60, 120, 360, 720, 1440 or 10080; 0 blocks permanently.
    pub block_mins: u32,
    /// Which of `ssh`, `ftp`, `mysql` are watched.
    pub protocols: Vec<String>,
    /// Addresses and networks never blocked (an administrator's own, a bastion).
    pub access_whitelist: Vec<String>,
}

impl LoginSettings {
    /// The engine configuration the settings describe, or what is wrong with them.
    pub fn to_config(&self) -> Result<vigil_detect::bruteforce::BruteForceConfig, String> {
        use vigil_detect::bruteforce::{
            AccessWhitelist, BlockDuration, BruteForceConfig, BruteForceRule,
        };
        use vigil_model::LoginProtocol;
        let block = if self.block_mins == 0 {
            BlockDuration::Permanent
        } else {
            BlockDuration::minutes(self.block_mins).map_err(|e| e.to_string())?
        };
        let mut protocols = Vec::new();
        for p in &self.protocols {
            protocols.push(match p.as_str() {
                "ssh" => LoginProtocol::Ssh,
                "ftp" => LoginProtocol::Ftp,
                "mysql" => LoginProtocol::Mysql,
                other => return Err(format!("protocol {other:?} is not ssh, ftp or mysql")),
            });
        }
        let rule = BruteForceRule::new(
            self.span_mins,
            self.max_failures,
            block,
            protocols,
            self.enabled,
        )
        .map_err(|e| e.to_string())?;
        if self.access_whitelist.len() > 1000 {
            return Err("the access whitelist holds at most 1000 entries".into());
        }
        let whitelist = self
            .access_whitelist
            .iter()
            .map(|c| vigil_detect::ip::Cidr::parse(c).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BruteForceConfig {
            rule,
            whitelist: AccessWhitelist(whitelist),
            ..BruteForceConfig::default()
        })
    }
}

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            enabled: true,
            span_mins: 10,
            max_failures: 80,
            block_mins: 360,
            protocols: vec!["ssh".into(), "ftp".into(), "mysql".into()],
            access_whitelist: Vec::new(),
        }
    }
}

/// An action the server asks one host to take. Carried as the exact JSON text that was signed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Command {
    pub id: i64,
    pub host_id: String,
    pub issued_at: i64,
    /// The agent refuses the command after this time.
    pub expires_at: i64,
    #[serde(flatten)]
    pub action: CommandAction,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CommandAction {
    /// Kill a process; `exe` and `start_ticks` (field 22 of `/proc/PID/stat`) guard against a
    /// recycled pid.
    KillProcess {
        pid: u32,
        exe: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_ticks: Option<u64>,
    },
    /// Move a file into the agent's quarantine box; the agent refuses unless the file it opens
    /// is the one `expect` describes.
    QuarantineFile {
        path: String,
        #[serde(default, skip_serializing_if = "FileIdentity::is_empty")]
        expect: FileIdentity,
    },
    /// Kill a process and quarantine its executable.
    KillAndQuarantine {
        pid: u32,
        exe: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_ticks: Option<u64>,
    },
    /// Put a quarantined file back.
    RestoreFile {
        quarantine_id: String,
        overwrite: bool,
    },
    /// Drop traffic from (or to) an address or network until `until` (`None`: until unblocked).
    BlockIp {
        rule_id: i64,
        target: String,
        direction: Direction,
        until: Option<i64>,
    },
    /// Lift a block now.
    UnblockIp {
        rule_id: i64,
        target: String,
        direction: Direction,
    },
    /// Collect and send a full inventory now (the console's vulnerability "verify": a rescan).
    ReportInventory,
}

/// What an alert knew of a file (from its evidence), for the agent to check on the file it opens
/// before it acts on it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileIdentity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
}

impl FileIdentity {
    pub fn is_empty(&self) -> bool {
        *self == FileIdentity::default()
    }
}

/// Which way a block drops traffic.
pub use vigil_model::Direction;

impl CommandAction {
    pub fn name(&self) -> &'static str {
        match self {
            CommandAction::KillProcess { .. } => "kill_process",
            CommandAction::QuarantineFile { .. } => "quarantine_file",
            CommandAction::KillAndQuarantine { .. } => "kill_and_quarantine",
            CommandAction::RestoreFile { .. } => "restore_file",
            CommandAction::BlockIp { .. } => "block_ip",
            CommandAction::UnblockIp { .. } => "unblock_ip",
            CommandAction::ReportInventory => "report_inventory",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedCommand {
    /// JSON of a [`Command`], exactly as signed.
    pub payload: String,
    /// Base64 Ed25519 signature (see [`crate::auth::sign_command`]).
    pub signature: String,
}

/// What the agent did with a command.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommandResult {
    pub id: i64,
    pub ok: bool,
    /// On failure, the exact error; on success, what was done.
    pub message: String,
    /// Details, e.g. the quarantined file's record.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// A full fingerprint snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InventoryReport {
    pub inventory: Inventory,
}

/// Events in the order observed. `seq` grows by one per batch the agent creates; the server
/// commits each sequence number once, so a replayed or duplicated batch is acknowledged without
/// being stored again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventBatch {
    pub seq: u64,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchAck {
    pub seq: u64,
    /// False when the batch had been committed before (a replay or a retry).
    pub stored: bool,
    /// Set when the batch was not stored because its number is behind the server's: the agent
    /// renumbers its pending batches from this number and sends them again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<u64>,
}

/// Error body for every agent endpoint: a stable code and a sentence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentError {
    pub code: String,
    pub message: String,
}

/// Stable error codes an agent acts on.
pub mod codes {
    pub const UNKNOWN_CODE: &str = "install_code_unknown";
    pub const EXPIRED_CODE: &str = "install_code_expired";
    pub const REVOKED_CODE: &str = "install_code_revoked";
    pub const UNKNOWN_HOST: &str = "host_unknown";
    pub const UNINSTALLED_HOST: &str = "host_uninstalled";
    pub const BAD_SIGNATURE: &str = "bad_signature";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const TOO_LARGE: &str = "too_large";
    pub const INTERNAL: &str = "internal";
    /// A signed request seen before (a replay); a genuine retry is signed anew and passes.
    pub const REPLAYED: &str = "replayed";
    /// The host sent more events than its quota allows; retry later.
    pub const QUOTA: &str = "quota_exceeded";
}

#[cfg(test)]
mod heartbeat_tests {
    use super::*;

    /// A heartbeat from an agent that predates the monitors still parses, with none.
    #[test]
    fn old_heartbeats_parse_without_monitors() {
        let old = r#"{"agent_version":"0.1.0","spool":{"pending_batches":1},"rss_kb":9}"#;
        let hb: Heartbeat = serde_json::from_str(old).unwrap();
        assert!(hb.monitors.is_empty());
        let new = r#"{"monitors":[{"name":"logins","state":"degraded","last_run":5,
            "last_error":"no log source found","unreadable":["/var/log/auth.log: missing"]}]}"#;
        let hb: Heartbeat = serde_json::from_str(new).unwrap();
        assert_eq!(hb.monitors[0].state, MonitorState::Degraded);
        assert_eq!(hb.monitors[0].unreadable.len(), 1);
    }
}

#[cfg(test)]
mod login_settings_tests {
    use super::*;

    #[test]
    fn settings_convert_or_say_what_is_wrong() {
        let d = LoginSettings::default().to_config().unwrap();
        assert_eq!((d.rule.span_mins(), d.rule.max_failures()), (10, 80));
        for (change, fragment) in [
            (
                LoginSettings {
                    span_mins: 7,
                    ..Default::default()
                },
                "span",
            ),
            (
                LoginSettings {
                    max_failures: 6,
                    ..Default::default()
                },
                "failures",
            ),
            (
                LoginSettings {
                    block_mins: 7,
                    ..Default::default()
                },
                "7",
            ),
            (
                LoginSettings {
                    protocols: vec!["telnet".into()],
                    ..Default::default()
                },
                "telnet",
            ),
            (
                LoginSettings {
                    protocols: vec![],
                    ..Default::default()
                },
                "protocol",
            ),
            (
                LoginSettings {
                    access_whitelist: vec!["10.0.0.0/33".into()],
                    ..Default::default()
                },
                "10.0.0.0/33",
            ),
        ] {
            let err = change.to_config().unwrap_err();
            assert!(err.to_lowercase().contains(fragment), "{err}");
        }
        let ok = LoginSettings {
            block_mins: 0,
            access_whitelist: vec!["192.0.2.0/24".into()],
            ..Default::default()
        };
        let c = ok.to_config().unwrap();
        assert_eq!(
            c.rule.block(),
            vigil_detect::bruteforce::BlockDuration::Permanent
        );
        assert!(c.whitelist.covers("192.0.2.9".parse().unwrap()));
    }
}
