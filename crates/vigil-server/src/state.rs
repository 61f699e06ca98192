//! Shared server state: store, clock, configuration, TLS identity and the host-key cache.

use crate::pki::Pki;
use crate::ServerConfig;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use vigil_store::Store;

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
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: ServerConfig,
    pub pki: Pki,
    pub public_url: String,
    pub hosts: RwLock<HashMap<String, CachedHost>>,
    /// This binary and its SHA-256, read on first download.
    pub binary: tokio::sync::OnceCell<(bytes::Bytes, String)>,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        pki: Pki,
        public_url: String,
    ) -> SharedState {
        Arc::new(AppState {
            store,
            clock,
            config,
            pki,
            public_url,
            hosts: RwLock::new(HashMap::new()),
            binary: tokio::sync::OnceCell::new(),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
