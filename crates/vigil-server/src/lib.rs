//! Vigil's management server: the agent channel over TLS, the REST API, the console and ingest.
//!
//! [`start`] binds both listeners and returns a [`RunningServer`] whose addresses tests read
//! (bind `127.0.0.1:0`); [`RunningServer::stop`] shuts it down. Nothing here reads the clock
//! directly: time comes from the [`Clock`] handed in.

mod admin;
mod agent;
mod alerts;
mod baseline;
mod commands;
mod console;
mod content;
mod hosts;
mod http;
mod install;
mod ip_policy;
mod listener;
mod login_defense;
mod meta;
mod notify;
mod overview;
mod pipeline;
pub mod pki;
mod quarantine;
mod scoped;
mod secrets;
mod state;
mod vulns;

pub use admin::{bootstrap_admin, hash_password, AdminCredentials};
pub use state::{Clock, SystemClock};

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use vigil_store::Store;

/// How the server runs. [`ServerConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Holds the CA, the server certificate and (for SQLite) the database.
    pub data_dir: PathBuf,
    /// Console and REST API over plain HTTP (keep it on loopback or behind a TLS proxy).
    pub api_listen: SocketAddr,
    /// Agent channel over TLS; also serves the API and console over HTTPS.
    pub agent_listen: SocketAddr,
    /// The agent-facing URL written into install commands, e.g. `https://10.0.0.5:8601`.
    /// Derived from `agent_listen` and this host's addresses when absent.
    pub public_url: Option<String>,
    pub heartbeat_secs: u64,
    /// A host is offline after this long without a heartbeat.
    pub offline_after_secs: u64,
    /// How often agents send a full fingerprint snapshot even when nothing changed.
    pub inventory_secs: u64,
    /// Seconds between maintenance rounds (alert expiry, host-action time-outs).
    pub maintenance_secs: u64,
    /// Seconds between looks at the notification outbox.
    pub notify_poll_secs: u64,
    /// The agent binary served to install commands; this executable when absent.
    pub agent_binary: Option<PathBuf>,
    /// IP geolocation database (MMDB, DB-IP flat schema) for unusual-location login alerts;
    /// `<data_dir>/geoip.mmdb` when absent and that file exists. Without one, no location is
    /// known and those alerts are off.
    pub geoip: Option<PathBuf>,
    /// Blocks of networks wider than this IPv4 prefix (and [`ServerConfig::max_block_prefix_v6`]
    /// for IPv6) need an explicit confirmation: a `/1` typed by mistake cuts a host off.
    pub max_block_prefix_v4: u8,
    pub max_block_prefix_v6: u8,
    /// Addresses that are never blocked besides the server's own (proxies, jump hosts).
    pub never_block: Vec<std::net::IpAddr>,
    /// Seconds between looks at `<data_dir>/content` for changed detection content.
    pub content_poll_secs: u64,
    /// Open connections at once on each listener, and from one address (the `never_block`
    /// addresses, i.e. proxies, are exempt from the second).
    pub max_connections: usize,
    pub max_connections_per_source: usize,
    /// A request's headers must arrive within this many seconds (an idle keep-alive
    /// connection is closed after it too), and its body within `body_timeout_secs`.
    pub header_timeout_secs: u64,
    pub body_timeout_secs: u64,
}

impl ServerConfig {
    pub fn new(data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            data_dir,
            api_listen: SocketAddr::from(([127, 0, 0, 1], 8600)),
            agent_listen: SocketAddr::from(([0, 0, 0, 0], 8601)),
            public_url: None,
            heartbeat_secs: 10,
            offline_after_secs: 35,
            inventory_secs: 600,
            maintenance_secs: 60,
            notify_poll_secs: 2,
            agent_binary: None,
            geoip: None,
            max_block_prefix_v4: 8,
            max_block_prefix_v6: 32,
            never_block: Vec::new(),
            content_poll_secs: 5,
            max_connections: 10_000,
            max_connections_per_source: 256,
            header_timeout_secs: 30,
            body_timeout_secs: 60,
        }
    }
}

/// A started server. Dropping it does not stop it; call [`RunningServer::stop`].
#[derive(Debug)]
pub struct RunningServer {
    pub api_addr: SocketAddr,
    pub agent_addr: SocketAddr,
    /// Agent-facing URL used in install commands.
    pub public_url: String,
    /// SHA-256 of the server's CA certificate: what agents pin.
    pub ca_fingerprint: String,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting connections and waits for the accept loops to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Resolves when the server is asked to stop.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Binds both listeners, creates or loads the TLS identity, and serves until stopped.
pub async fn start(
    config: ServerConfig,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer> {
    let api_listener = TcpListener::bind(config.api_listen)
        .await
        .with_context(|| format!("binding the console/API address {}", config.api_listen))?;
    let agent_listener = TcpListener::bind(config.agent_listen)
        .await
        .with_context(|| format!("binding the agent address {}", config.agent_listen))?;
    let api_addr = api_listener.local_addr()?;
    let agent_addr = agent_listener.local_addr()?;

    let public_url = match &config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => default_public_url(agent_addr),
    };
    let mut names: Vec<String> = Vec::new();
    if let Some(host) = url_host(&public_url) {
        names.push(host);
    }
    let pki = pki::load_or_create(&config.data_dir.join("tls"), &names)?;
    let ca_fingerprint = pki.ca_fingerprint.clone();
    let tls_config = pki.server_config.clone();

    let secrets = secrets::Secrets::load_or_create(&config.data_dir)?;
    let state = state::AppState::new(config, store, clock, pki, secrets, public_url.clone());
    match notify::seal_existing(&state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            sealed = n,
            "notification settings stored before sealing are sealed now"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "sealing stored notification settings failed; retried at the next start")
        }
    }
    {
        // The decoy hash unknown users are checked against, made before the first sign-in.
        let st = state.clone();
        tokio::spawn(async move {
            let s = st.clone();
            st.sign_ins
                .hash(move || s.sign_ins.dummy_hash().len())
                .await;
        });
    }
    vulns::refresh(&state).await;
    let api_router = http::router(state.clone()).merge(console::router());
    let agent_router = agent::router(state.clone()).merge(api_router.clone());

    let body_deadline = Duration::from_secs(state.config.body_timeout_secs.max(1));
    let agent_router = agent_router.layer(axum::middleware::from_fn_with_state(
        body_deadline,
        http::read_body_within,
    ));
    let api_router = api_router.layer(axum::middleware::from_fn_with_state(
        body_deadline,
        http::read_body_within,
    ));
    let fds = listener::raise_fd_limit();
    let limits = state.listen_limits();
    tracing::info!(
        open_files = fds
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unlimited".into()),
        max_connections = limits.max_connections,
        max_per_source = limits.max_per_source,
        "connection limits"
    );

    let (shutdown, rx) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(listener::serve(
            api_listener,
            None,
            api_router,
            limits.clone(),
            rx.clone(),
        )),
        tokio::spawn(listener::serve(
            agent_listener,
            Some(tls_config),
            agent_router,
            limits,
            rx.clone(),
        )),
        tokio::spawn(maintenance(state.clone(), rx.clone())),
        tokio::spawn(content::watch(state.clone(), rx.clone())),
        tokio::spawn(dispatch_notifications(state.clone(), rx)),
    ];
    tracing::info!(%api_addr, %agent_addr, %public_url, "server started");
    Ok(RunningServer {
        api_addr,
        agent_addr,
        public_url,
        ca_fingerprint,
        shutdown,
        tasks,
    })
}

/// Delivers due notifications every `notify_poll_secs`, and without pausing while a backlog
/// fills whole rounds.
async fn dispatch_notifications(state: state::SharedState, mut shutdown: watch::Receiver<bool>) {
    let http = match vigil_notify::webhook_client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for webhooks; notifications are not sent");
            return;
        }
    };
    loop {
        match notify::dispatch(&state, &http).await {
            // A full round means more are due: go on without pausing.
            Ok(n) if n >= notify::DISPATCH_BATCH && !*shutdown.borrow() => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "notification dispatch failed; retrying"),
        }
        let pause = std::time::Duration::from_secs(state.config.notify_poll_secs.max(1));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// Every `maintenance_secs` (and at start): alerts unhandled for 30 days become expired, and
/// host actions their hosts did not run in time are timed out, IP blocks past their time end;
/// a changed advisory database is reloaded and every host re-matched (at start too, for a
/// database that changed while the server was down).
async fn maintenance(state: state::SharedState, mut shutdown: watch::Receiver<bool>) {
    let mut first = true;
    loop {
        if vulns::refresh(&state).await || std::mem::take(&mut first) {
            match vulns::rescan_all(&state).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(hosts = n, "hosts re-matched against the advisory database")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "re-matching hosts failed; retrying at the next change")
                }
            }
        }
        let cutoff = state.now() - vigil_model::ALERT_EXPIRES_AFTER_SECS;
        match state.store.expire_alerts(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "alerts expired after 30 days"),
            Err(e) => tracing::warn!(error = %e, "expiring alerts failed; retrying later"),
        }
        match commands::expire(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(timed_out = n, "host actions timed out"),
            Err(e) => tracing::warn!(error = %e, "timing out host actions failed; retrying later"),
        }
        match ip_policy::expire(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "IP block rules expired"),
            Err(e) => tracing::warn!(error = %e, "expiring IP block rules failed; retrying later"),
        }
        let pause = std::time::Duration::from_secs(state.config.maintenance_secs.max(1));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

fn default_public_url(agent_addr: SocketAddr) -> String {
    let ip = if agent_addr.ip().is_unspecified() {
        primary_address().unwrap_or_else(|| "127.0.0.1".to_string())
    } else {
        agent_addr.ip().to_string()
    };
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip
    };
    format!("https://{host}:{}", agent_addr.port())
}

/// This host's first non-loopback IPv4 address, as agents elsewhere would dial it.
fn primary_address() -> Option<String> {
    let trie = std::fs::read_to_string("/proc/net/fib_trie").ok()?;
    vigil_collect::ifaddr::local_ipv4(&trie)
        .into_iter()
        .find(|ip| !ip.is_loopback())
        .map(|ip| ip.to_string())
}

pub(crate) fn url_host(url: &str) -> Option<String> {
    let rest = url.split("://").nth(1)?;
    let authority = rest.split('/').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority)
    };
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("https://10.0.0.5:8601").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            url_host("https://[fd00::1]:8601/x").as_deref(),
            Some("fd00::1")
        );
        assert_eq!(
            url_host("https://vigil.example").as_deref(),
            Some("vigil.example")
        );
        assert_eq!(url_host("nonsense"), None);
    }
}
