//! The body of `GET /api/v1/meta`: the enums and choice lists the console offers, filled in by
//! the server from the crates that own them, so the console copies none of them by hand.

use crate::api::HandleAction;
use serde::{Deserialize, Serialize};
use vigil_model::{AlertKind, AlertStatus, HostState, Level};

/// Block durations offered for an alert's source IP and in the IP policy library. The API takes
/// any duration [`crate::api::parse_validity`] reads; these are the ones a form offers.
pub const BLOCK_DURATIONS: [&str; 6] = ["30m", "1h", "12h", "24h", "7d", "permanent"];
/// The block duration a form starts with.
pub const DEFAULT_BLOCK_DURATION: &str = "12h";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub alerts: AlertMeta,
    pub hosts: HostMeta,
    pub score: ScoreMeta,
    pub vulns: VulnMeta,
    pub brute_force: BruteForceMeta,
    pub notify: NotifyMeta,
}

/// A value an API field takes and how a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

impl Choice {
    pub fn new(value: &str, label: &str) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
        }
    }
}

/// A number of minutes an API field takes and how a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesChoice {
    pub minutes: u32,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMeta {
    /// Most urgent first.
    pub levels: Vec<Level>,
    pub statuses: Vec<AlertStatus>,
    pub kinds: Vec<KindMeta>,
    pub actions: Vec<ActionMeta>,
    /// Values for `duration` of `block_ip` and of a new IP rule.
    pub block_durations: Vec<Choice>,
    pub default_block_duration: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindMeta {
    pub kind: AlertKind,
    /// The evidence fields a whitelist rule of this kind is keyed by (SPEC R-AL4).
    pub key_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionMeta {
    pub action: HandleAction,
    pub label: String,
    /// The statuses the action may start from; an alert in another is left unchanged.
    pub from: Vec<AlertStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMeta {
    pub states: Vec<HostState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreMeta {
    /// Presence caps: any pending item of `module` caps a host's score at `at`.
    pub caps: Vec<ScoreCap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreCap {
    /// The module as score deductions name it (`alerts`, `vulnerabilities`, `baseline`).
    pub module: String,
    pub at: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnMeta {
    /// Most urgent first.
    pub levels: Vec<String>,
    pub statuses: Vec<String>,
}

/// The brute-force rule's allowed settings (`PUT /api/v1/login-settings` refuses others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BruteForceMeta {
    pub span_mins: Vec<u32>,
    pub max_failures: Vec<u32>,
    /// Values for `block_mins`; 0 blocks permanently.
    pub block_mins: Vec<MinutesChoice>,
    pub protocols: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyMeta {
    /// Values of a channel's `kind.type`.
    pub channel_types: Vec<Choice>,
    pub webhook_shapes: Vec<Choice>,
    /// Values of the SMTP settings' `tls`, the default first.
    pub smtp_tls: Vec<Choice>,
    /// How many times one notification is tried at most.
    pub max_attempts: u32,
    pub default_max_per_day: u32,
    pub default_max_per_host_per_day: u32,
}

/// `5 minutes`, `1 hour`, `6 hours`, `1 day`, `7 days`: the largest whole unit.
pub fn minutes_label(minutes: u32) -> String {
    let (n, unit) = if minutes > 0 && minutes.is_multiple_of(1440) {
        (minutes / 1440, "day")
    } else if minutes > 0 && minutes.is_multiple_of(60) {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `30m` → `30 minutes`, `24h` → `24 hours` (the unit as written), `permanent` → `Permanent`.
pub fn validity_label(text: &str) -> String {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    let (num, unit) = text.split_at(split);
    let unit = match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        _ => {
            let mut c = text.chars();
            return c
                .next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default();
        }
    };
    format!("{num} {unit}{}", if num == "1" { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_people_write_them() {
        let got: Vec<String> = BLOCK_DURATIONS.iter().map(|d| validity_label(d)).collect();
        assert_eq!(
            got,
            [
                "30 minutes",
                "1 hour",
                "12 hours",
                "24 hours",
                "7 days",
                "Permanent"
            ]
        );
        let got: Vec<String> = [5, 15, 60, 120, 1440, 10080, 90]
            .into_iter()
            .map(minutes_label)
            .collect();
        assert_eq!(
            got,
            [
                "5 minutes",
                "15 minutes",
                "1 hour",
                "2 hours",
                "1 day",
                "7 days",
                "90 minutes"
            ]
        );
    }

    #[test]
    fn offered_durations_are_accepted() {
        for d in BLOCK_DURATIONS {
            assert!(crate::api::parse_validity(d).is_ok(), "{d}");
        }
        assert!(BLOCK_DURATIONS.contains(&DEFAULT_BLOCK_DURATION));
    }
}
