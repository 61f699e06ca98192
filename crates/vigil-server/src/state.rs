//! Shared server state: store, clock, configuration, TLS identity and the host-key cache.

use crate::pki::Pki;
use crate::ServerConfig;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use vigil_detect::whitelist::{Rule, Scope};
use vigil_store::{Store, WhitelistRuleRecord};

/// The server's only source of time, so tests can move it.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// What signature checks need of a host, cached so that agent requests do not read the
/// database before they are authenticated.
#[derive(Debug, Clone)]
pub struct CachedHost {
    pub public_key: Vec<u8>,
    pub uninstalled: bool,
    pub group: String,
}

/// Whitelist rules as the engines use them, reloaded when changed here and at least every
/// [`RULES_MAX_AGE_SECS`] (other servers sharing the database may have changed them).
#[derive(Debug, Default)]
pub struct RuleCache {
    rules: Arc<Vec<Rule>>,
    loaded_at: Option<i64>,
}

pub const RULES_MAX_AGE_SECS: i64 = 30;

/// Turns a stored rule into the engine's form; a rule with an unknown scope matches nothing.
pub fn rule_of(r: &WhitelistRuleRecord) -> Rule {
    let scope = match r.scope.as_str() {
        "all" => Scope::All,
        "group" => Scope::Group(r.scope_value.clone()),
        _ => Scope::Host(r.scope_value.clone()),
    };
    Rule {
        id: r.id,
        kind: r.kind,
        scope,
        fields: r.fields.clone(),
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: ServerConfig,
    pub pki: Pki,
    pub public_url: String,
    pub hosts: RwLock<HashMap<String, CachedHost>>,
    pub whitelist: tokio::sync::Mutex<RuleCache>,
    /// This binary and its SHA-256, read on first download.
    pub binary: tokio::sync::OnceCell<(bytes::Bytes, String)>,
    /// The abnormal-login model's geolocation and per-host locks.
    pub logins: crate::login_defense::model::Logins,
    /// The ingest pipeline's stages and its per-host lock.
    pub stages: Vec<Box<dyn crate::pipeline::IngestStage>>,
    pub ingest_locks: crate::agent::ingest::HostLocks,
    /// The advisory database and the lock of vulnerability matching.
    pub vulns: crate::vulns::VulnDb,
    /// The key notification settings are sealed with.
    pub secrets: Arc<crate::secrets::Secrets>,
    /// Who hears that a host action ended.
    pub command_listeners: Vec<Box<dyn crate::commands::CommandListener>>,
    /// The detection content in force (rule packs, lists).
    pub content: crate::content::ContentState,
    /// Console sign-in guards (hashing slots, failure counts).
    pub sign_ins: crate::http::sign_in::SignIns,
    /// Signatures of agent requests seen recently, and per-host event quotas.
    pub replays: crate::agent::guard::Replays,
    pub quota: crate::agent::guard::Quota,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        pki: Pki,
        secrets: crate::secrets::Secrets,
        public_url: String,
    ) -> SharedState {
        let geo = crate::login_defense::geo::load(config.geoip.as_deref(), &config.data_dir);
        let content = crate::content::ContentState::load(&config.data_dir, clock.now());
        Arc::new(AppState {
            store,
            clock,
            config,
            pki,
            public_url,
            hosts: RwLock::new(HashMap::new()),
            whitelist: tokio::sync::Mutex::new(RuleCache::default()),
            binary: tokio::sync::OnceCell::new(),
            logins: crate::login_defense::model::Logins::new(geo),
            // Every batch goes through these, in order: adding an engine is adding it here.
            stages: vec![
                Box::new(crate::hosts::assets::AssetRules),
                Box::new(crate::alerts::raised::AgentAlerts),
                Box::new(crate::login_defense::model::LoginModelStage),
                Box::new(crate::login_defense::model::FailureCountStage),
                Box::new(crate::baseline::BaselineStage),
            ],
            ingest_locks: Default::default(),
            vulns: crate::vulns::VulnDb::default(),
            secrets: Arc::new(secrets),
            command_listeners: vec![
                Box::new(crate::quarantine::BoxListener),
                Box::new(crate::ip_policy::BlockListener),
                Box::new(crate::alerts::SettleListener),
            ],
            content,
            sign_ins: Default::default(),
            replays: Default::default(),
            quota: Default::default(),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// What one client may hold on either listener.
    pub fn listen_limits(&self) -> crate::listener::Limits {
        crate::listener::Limits {
            max_connections: self.config.max_connections.max(1),
            max_per_source: self.config.max_connections_per_source.max(1),
            exempt: self.config.never_block.clone(),
            handshake: std::time::Duration::from_secs(self.config.header_timeout_secs.clamp(1, 10)),
            headers: std::time::Duration::from_secs(self.config.header_timeout_secs.max(1)),
        }
    }

    /// The current whitelist rules.
    pub async fn whitelist_rules(&self) -> Result<Arc<Vec<Rule>>, vigil_store::StoreError> {
        let mut cache = self.whitelist.lock().await;
        let now = self.now();
        if cache
            .loaded_at
            .is_none_or(|t| now - t >= RULES_MAX_AGE_SECS || now < t)
        {
            let rules = self.store.whitelist_rules().await?;
            cache.rules = Arc::new(rules.iter().map(rule_of).collect());
            cache.loaded_at = Some(now);
        }
        Ok(cache.rules.clone())
    }

    /// Forces a reload on next use, after a rule changed.
    pub async fn invalidate_whitelist(&self) {
        self.whitelist.lock().await.loaded_at = None;
    }
}
