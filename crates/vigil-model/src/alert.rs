//! Alerts: kinds, risk levels, statuses and the record an engine raises.

use crate::Timestamp;

/// An unhandled alert that has not recurred for this long becomes expired (SPEC R-AL5).
pub const ALERT_EXPIRES_AFTER_SECS: i64 = 30 * 86_400;

/// A quarantined file can be restored for this long, then it is purged (SPEC R-MW3).
pub const QUARANTINE_KEEP_SECS: i64 = 30 * 86_400;

/// Risk level of an alert (SPEC R-AL1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Level {
    /// Behaviour not needed on an attack path (e.g. a suspicious port listening).
    Reminder,
    /// Damaging or persistent behaviour that resembles some O&M actions.
    Suspicious,
    /// Damaging or persistent behaviour resembling a common attack.
    Urgent,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Urgent, Level::Suspicious, Level::Reminder];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Urgent => "urgent",
            Level::Suspicious => "suspicious",
            Level::Reminder => "reminder",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Where an alert stands in its handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AlertStatus {
    Unhandled,
    Handled,
    Ignored,
    Whitelisted,
    /// Stopped automatically (precise defense).
    Blocked,
    /// An action is running on the agent.
    InProgress,
    /// Older than 30 days without recurring.
    Expired,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 7] = [
        AlertStatus::Unhandled,
        AlertStatus::Handled,
        AlertStatus::Ignored,
        AlertStatus::Whitelisted,
        AlertStatus::Blocked,
        AlertStatus::InProgress,
        AlertStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Unhandled => "unhandled",
            AlertStatus::Handled => "handled",
            AlertStatus::Ignored => "ignored",
            AlertStatus::Whitelisted => "whitelisted",
            AlertStatus::Blocked => "blocked",
            AlertStatus::InProgress => "in_progress",
            AlertStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        AlertStatus::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Alert types (SPEC R-AL2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AlertKind {
    AbnormalLogin,
    BruteForce,
    MaliciousFile,
    Webshell,
    MaliciousScript,
    SuspiciousProcess,
    ReverseShell,
    Persistence,
    SensitiveFileTampering,
    MaliciousNetworkAccess,
    SuspiciousConnection,
    NetworkAttack,
    DataLeak,
    SuspiciousAccount,
    SuspiciousPort,
    ConfigurationRisk,
    WebThreat,
    ApplicationIntrusion,
}

impl AlertKind {
    pub const ALL: [AlertKind; 18] = [
        AlertKind::AbnormalLogin,
        AlertKind::BruteForce,
        AlertKind::MaliciousFile,
        AlertKind::Webshell,
        AlertKind::MaliciousScript,
        AlertKind::SuspiciousProcess,
        AlertKind::ReverseShell,
        AlertKind::Persistence,
        AlertKind::SensitiveFileTampering,
        AlertKind::MaliciousNetworkAccess,
        AlertKind::SuspiciousConnection,
        AlertKind::NetworkAttack,
        AlertKind::DataLeak,
        AlertKind::SuspiciousAccount,
        AlertKind::SuspiciousPort,
        AlertKind::ConfigurationRisk,
        AlertKind::WebThreat,
        AlertKind::ApplicationIntrusion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::AbnormalLogin => "abnormal_login",
            AlertKind::BruteForce => "brute_force",
            AlertKind::MaliciousFile => "malicious_file",
            AlertKind::Webshell => "webshell",
            AlertKind::MaliciousScript => "malicious_script",
            AlertKind::SuspiciousProcess => "suspicious_process",
            AlertKind::ReverseShell => "reverse_shell",
            AlertKind::Persistence => "persistence",
            AlertKind::SensitiveFileTampering => "sensitive_file_tampering",
            AlertKind::MaliciousNetworkAccess => "malicious_network_access",
            AlertKind::SuspiciousConnection => "suspicious_connection",
            AlertKind::NetworkAttack => "network_attack",
            AlertKind::DataLeak => "data_leak",
            AlertKind::SuspiciousAccount => "suspicious_account",
            AlertKind::SuspiciousPort => "suspicious_port",
            AlertKind::ConfigurationRisk => "configuration_risk",
            AlertKind::WebThreat => "web_threat",
            AlertKind::ApplicationIntrusion => "application_intrusion",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The MITRE ATT&CK tactic an alert of this kind most often belongs to: (id, name).
    pub fn tactic(self) -> (&'static str, &'static str) {
        use AlertKind::*;
        match self {
            AbnormalLogin => ("TA0001", "Initial Access"),
            BruteForce => ("TA0006", "Credential Access"),
            MaliciousFile | MaliciousScript | SuspiciousProcess | ApplicationIntrusion => {
                ("TA0002", "Execution")
            }
            Webshell | Persistence | SuspiciousAccount => ("TA0003", "Persistence"),
            ReverseShell | MaliciousNetworkAccess | SuspiciousConnection => {
                ("TA0011", "Command and Control")
            }
            SensitiveFileTampering => ("TA0005", "Defense Evasion"),
            NetworkAttack | SuspiciousPort => ("TA0007", "Discovery"),
            DataLeak => ("TA0010", "Exfiltration"),
            WebThreat => ("TA0043", "Reconnaissance"),
            ConfigurationRisk => ("TA0001", "Initial Access"),
        }
    }
}

/// An alert as an engine raises it, before storage gives it an id and a status.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NewAlert {
    pub kind: AlertKind,
    pub level: Level,
    /// Short human title, e.g. `New account with uid 0: toor`.
    pub name: String,
    /// Deduplication key within a host: the same key raised again updates the existing alert.
    pub key: String,
    /// Named evidence fields, in display order.
    pub evidence: Vec<(String, String)>,
    pub time: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
        for s in AlertStatus::ALL {
            assert_eq!(AlertStatus::parse(s.as_str()), Some(s));
        }
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Level::parse("critical"), None);
    }

    #[test]
    fn every_kind_has_an_attack_tactic() {
        for k in AlertKind::ALL {
            let (id, name) = k.tactic();
            assert!(
                id.starts_with("TA00") && id.len() == 6 && !name.is_empty(),
                "{k:?}"
            );
        }
        assert_eq!(AlertKind::BruteForce.tactic().0, "TA0006");
    }

    #[test]
    fn levels_order_by_risk() {
        assert!(Level::Urgent > Level::Suspicious && Level::Suspicious > Level::Reminder);
    }
}
