//! Brute-force defense settings and access whitelist for the fleet, a group or one host: stored
//! as scoped documents, validated against the engine's allowed choices, handed to each agent
//! with its heartbeat (the most specific document wins, SPEC R-LG4 and R-LG9).

use crate::scoped::{self, Scoped};
use crate::state::SharedState;
use vigil_proto::agent::LoginSettings;
use vigil_store::StoreError;

impl Scoped for LoginSettings {
    const SETTING: &'static str = "login_settings";
    const WHAT: &'static str = "login settings";
}

/// The settings in force on a host: its own, else its group's, else the fleet's (the reference
/// product's defaults until changed).
pub async fn effective(
    st: &SharedState,
    host: &str,
    group: &str,
) -> Result<LoginSettings, StoreError> {
    scoped::most_specific(st, host, group).await
}
