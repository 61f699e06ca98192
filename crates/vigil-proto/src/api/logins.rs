//! Bodies of `/api/v1/login-policy`: the approved login locations, IPs, times and accounts.

use serde::{Deserialize, Serialize};

/// The policy as the API reads and writes it. A factor left out (or `null`) is learned; a list
/// replaces learning for its factor. Locations are `CC` or `CC/Region` (ISO 3166 country code,
/// region as the geolocation database names it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    #[serde(default)]
    pub locations: Option<Vec<String>>,
    #[serde(default)]
    pub ips: Option<Vec<String>>,
    #[serde(default)]
    pub times: Option<TimesDoc>,
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// `false` turns unusual-location alerts off.
    #[serde(default)]
    pub location_alerts: Option<bool>,
    #[serde(default)]
    pub malicious_ips: Vec<String>,
}

/// Approved login hours: `HH:MM-HH:MM` ranges of local time at `utc_offset_mins` from UTC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimesDoc {
    #[serde(default)]
    pub utc_offset_mins: i32,
    pub ranges: Vec<String>,
}
