//! The fleet's brute-force defense settings and access whitelist: stored as one setting,
//! validated against the engine's allowed choices, handed to every agent with its heartbeat.

use crate::state::SharedState;
use vigil_proto::agent::LoginSettings;
use vigil_store::StoreError;

const SETTING: &str = "login_settings";

/// The settings in force (the reference product's defaults until changed).
pub async fn load(st: &SharedState) -> Result<LoginSettings, StoreError> {
    Ok(st
        .store
        .setting(SETTING)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

pub async fn save(st: &SharedState, s: &LoginSettings) -> Result<(), StoreError> {
    st.store
        .put_setting(
            SETTING,
            &serde_json::to_string(s).expect("settings serialize"),
        )
        .await
}
