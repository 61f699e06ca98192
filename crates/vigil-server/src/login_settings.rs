//! Brute-force defense settings and access whitelist for the fleet, a group or one host: stored
//! as settings, validated against the engine's allowed choices, handed to each agent with its
//! heartbeat (the most specific document wins, SPEC R-LG4 and R-LG9).

use crate::state::SharedState;
use vigil_proto::agent::LoginSettings;
use vigil_store::StoreError;

const SETTING: &str = "login_settings";

/// Where a settings document applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Group(String),
    Host(String),
}

impl Scope {
    /// The setting key of a document under `base` (`login_settings`, `login_policy`).
    pub fn key(&self, base: &str) -> String {
        match self {
            Scope::Global => base.to_string(),
            Scope::Group(g) => format!("{base}:group:{g}"),
            Scope::Host(h) => format!("{base}:host:{h}"),
        }
    }
}

/// A scope's own document; `None` when it inherits (an empty stored value means removed).
pub async fn load_scope(
    st: &SharedState,
    scope: &Scope,
) -> Result<Option<LoginSettings>, StoreError> {
    Ok(st
        .store
        .setting(&scope.key(SETTING))
        .await?
        .filter(|v| !v.is_empty())
        .and_then(|v| serde_json::from_str(&v).ok()))
}

/// The fleet's settings (the reference product's defaults until changed).
pub async fn load(st: &SharedState) -> Result<LoginSettings, StoreError> {
    Ok(load_scope(st, &Scope::Global).await?.unwrap_or_default())
}

/// The settings in force on a host: its own, else its group's, else the fleet's.
pub async fn effective(
    st: &SharedState,
    host: &str,
    group: &str,
) -> Result<LoginSettings, StoreError> {
    for scope in [Scope::Host(host.into()), Scope::Group(group.into())] {
        if let Some(s) = load_scope(st, &scope).await? {
            return Ok(s);
        }
    }
    load(st).await
}

/// Saves a scope's document, or removes it (`None`) so the scope inherits again.
pub async fn save(
    st: &SharedState,
    scope: &Scope,
    s: Option<&LoginSettings>,
) -> Result<(), StoreError> {
    let value = s
        .map(|s| serde_json::to_string(s).expect("settings serialize"))
        .unwrap_or_default();
    st.store.put_setting(&scope.key(SETTING), &value).await
}
