//! Documents kept for the fleet, a group or one host (login defense settings, login policy, and
//! the engines' settings to come): one setting per scope, the most specific applying or merged
//! over the less specific ones, and a removed document falling back to the next level up.

use crate::state::SharedState;
use serde::de::DeserializeOwned;
use serde::Serialize;
use vigil_store::StoreError;

/// Where a document applies.
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

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Global => f.write_str("the fleet"),
            Scope::Group(g) => write!(f, "group {g}"),
            Scope::Host(h) => write!(f, "host {h}"),
        }
    }
}

/// A document type kept per scope.
pub trait Scoped: Serialize + DeserializeOwned + Send + Sync {
    /// The setting it is stored under (suffixed per group and host).
    const SETTING: &'static str;
    /// What it is, for messages ("login settings").
    const WHAT: &'static str;
}

/// The scope's own document; `None` when it inherits. An empty stored value means removed; an
/// unreadable one is logged and read as absent.
pub async fn own<D: Scoped>(st: &SharedState, scope: &Scope) -> Result<Option<D>, StoreError> {
    let key = scope.key(D::SETTING);
    let Some(text) = st.store.setting(&key).await?.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            tracing::error!(setting = %key, error = %e, "stored {} unreadable; ignored", D::WHAT);
            Ok(None)
        }
    }
}

/// Saves a scope's document, or removes it (`None`) so the scope inherits again.
pub async fn save<D: Scoped>(
    st: &SharedState,
    scope: &Scope,
    doc: Option<&D>,
) -> Result<(), StoreError> {
    let value = doc
        .map(|d| serde_json::to_string(d).expect("scoped documents serialize"))
        .unwrap_or_default();
    st.store.put_setting(&scope.key(D::SETTING), &value).await
}

/// A host's own document, its group's and the fleet's, most specific first.
pub async fn chain<D: Scoped>(
    st: &SharedState,
    host: &str,
    group: &str,
) -> Result<[Option<D>; 3], StoreError> {
    Ok([
        own(st, &Scope::Host(host.into())).await?,
        own(st, &Scope::Group(group.into())).await?,
        own(st, &Scope::Global).await?,
    ])
}

/// The most specific document that exists, else the default.
pub async fn most_specific<D: Scoped + Default>(
    st: &SharedState,
    host: &str,
    group: &str,
) -> Result<D, StoreError> {
    let [h, g, f] = chain(st, host, group).await?;
    Ok(h.or(g).or(f).unwrap_or_default())
}
