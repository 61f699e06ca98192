//! The agent's life: enroll once, then heartbeat, run the host actions the server sends, and
//! keep the monitors (`monitors/`) and the sender of their spooled events going until stopped.

use crate::client::{error_chain, pinned_client, signed_post_with, unix_now, CallError, Channel};
use crate::collect::{self_rss_kb, Collector};
use crate::identity::Identity;
use crate::monitors::{LoginPolicy, Outlet, Policy};
use crate::spool::Spool;
use anyhow::{bail, Context, Result};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use vigil_proto::agent::*;
use vigil_proto::auth::AgentKey;
use vigil_proto::{codec, PROTO_VERSION};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub data_dir: PathBuf,
    /// Filesystem root to inventory (`/` on a live host).
    pub root: PathBuf,
    /// How often fingerprints are collected and compared.
    pub collect_secs: u64,
    /// Spool bound in bytes.
    pub spool_max_bytes: u64,
    /// Server URL to use instead of the one saved at enrollment.
    pub server: Option<String>,
    /// The `nft` command (with any prefix, e.g. `ip netns exec NS nft`).
    pub nft: Vec<String>,
    /// Login logs to follow.
    pub login_logs: Vec<PathBuf>,
    /// Binary login records (wtmp, btmp) to follow.
    pub login_records: Vec<(PathBuf, vigil_collect::utmp::UtmpFile)>,
    /// How often the login logs are read, in milliseconds.
    pub login_poll_ms: u64,
    /// The systemd journal to read login entries from (the system's when journald runs).
    pub journal: Option<crate::journal::JournalSource>,
    /// Trees the file scan covers besides the web roots and the credential files of each home
    /// (`VIGIL_SCAN_PATHS`, colon-separated).
    pub file_scan_paths: Vec<PathBuf>,
    /// How often the file scan runs.
    pub file_scan_secs: u64,
}

impl AgentConfig {
    pub fn new(data_dir: PathBuf) -> AgentConfig {
        AgentConfig {
            data_dir,
            root: PathBuf::from("/"),
            collect_secs: 60,
            spool_max_bytes: 64 << 20,
            server: None,
            nft: nft_command(),
            login_logs: crate::logins::DEFAULT_LOGS
                .iter()
                .map(PathBuf::from)
                .collect(),
            login_records: crate::logins::default_record_logs(),
            login_poll_ms: 200,
            journal: crate::journal::JournalSource::detect(),
            file_scan_paths: std::env::var_os("VIGIL_SCAN_PATHS")
                .map(|v| {
                    std::env::split_paths(&v)
                        .filter(|p| p.is_absolute())
                        .collect()
                })
                .unwrap_or_default(),
            file_scan_secs: 86_400,
        }
    }
}

/// `VIGIL_NFT` (e.g. `ip netns exec lab nft`) or `nft`.
fn nft_command() -> Vec<String> {
    std::env::var("VIGIL_NFT")
        .ok()
        .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec!["nft".into()])
}

/// Enrolls this host with an install code and saves the identity in `data_dir`.
pub async fn enroll(
    server: &str,
    code: &str,
    ca_fingerprint: &str,
    data_dir: &Path,
) -> Result<Identity> {
    let server = server.trim_end_matches('/');
    if !server.starts_with("https://") {
        bail!("the server URL must start with https:// (got {server:?})");
    }
    let http = pinned_client(ca_fingerprint)?;
    let key = AgentKey::generate();
    let os = Collector::new(Path::new("/")).os_info();
    let req = EnrollRequest {
        proto: PROTO_VERSION,
        code: code.trim().to_string(),
        public_key: key.public_base64(),
        hostname: if os.hostname.is_empty() {
            "unknown".into()
        } else {
            os.hostname.clone()
        },
        agent_version: crate::VERSION.to_string(),
        os,
    };
    let body = codec::encode(&req);
    // The server checks the code from this header before it reads the body.
    let code_hash = hex::encode(sha2::Sha256::digest(req.code.as_bytes()));
    let extra = [(vigil_proto::auth::HEADER_INSTALL_CODE, code_hash)];
    let sent = signed_post_with(&http, server, PATH_ENROLL, "enroll", &key, body, &extra).await;
    let resp = match sent {
        Ok(r) => r,
        Err(CallError::Identity(e)) | Err(CallError::Refused(e)) => {
            bail!("enrollment refused: {} ({})", e.message, e.code)
        }
        Err(CallError::Retry(e)) => bail!("cannot reach the server at {server}: {e}"),
    };
    let resp: EnrollResponse =
        serde_json::from_slice(&resp).context("enrollment answer is not understood")?;
    let id = Identity {
        server: server.to_string(),
        host_id: resp.host_id,
        group: resp.group,
        ca_fingerprint: ca_fingerprint.trim().to_ascii_lowercase(),
        key: Identity::encode_key(&key),
        command_key: resp.command_key,
    };
    id.save(data_dir)?;
    Ok(id)
}

/// Tells the server this host is uninstalled, then removes the agent's data directory.
pub async fn uninstall(data_dir: &Path) -> Result<Identity> {
    let id = Identity::load(data_dir)?.with_context(|| {
        format!(
            "no agent identity in {}: nothing to uninstall",
            data_dir.display()
        )
    })?;
    let channel = Channel::new(
        pinned_client(&id.ca_fingerprint)?,
        &id.server,
        &id.host_id,
        id.key()?,
    );
    match channel
        .post(PATH_UNINSTALL, codec::encode(&serde_json::json!({})))
        .await
    {
        Ok(_) => {}
        Err(CallError::Identity(e)) if e.code == codes::UNINSTALLED_HOST => {}
        Err(e) => bail!("the server was not told of the uninstall ({e}); nothing removed, retry"),
    }
    std::fs::remove_dir_all(data_dir)
        .with_context(|| format!("removing {}", data_dir.display()))?;
    Ok(id)
}

/// Resolves once `rx` turns true (or its sender is gone), holding no borrow of the value.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Runs the agent until `shutdown` turns true or the server says this host is gone.
pub async fn run(cfg: AgentConfig, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let id = Identity::load(&cfg.data_dir)?.with_context(|| {
        format!(
            "this host is not enrolled (no {} in {}): run `vigil agent install --server URL --code CODE --ca-fingerprint FP`",
            crate::identity::FILE,
            cfg.data_dir.display()
        )
    })?;
    let server = cfg.server.as_deref().unwrap_or(&id.server);
    let channel = Channel::new(
        pinned_client(&id.ca_fingerprint)?,
        server,
        &id.host_id,
        id.key()?,
    );
    let spool = Arc::new(Mutex::new(Spool::open(
        &cfg.data_dir.join("spool"),
        cfg.spool_max_bytes,
    )?));
    let wake = Arc::new(Notify::new());
    let (fatal_tx, mut fatal_rx) = watch::channel::<Option<String>>(None);
    tracing::info!(host = %id.host_id, %server, "agent started");

    let sender = tokio::spawn(send_loop(
        channel.clone(),
        spool.clone(),
        wake.clone(),
        fatal_tx.clone(),
        shutdown.clone(),
    ));

    let base_protected = protected_addresses(server).await;
    let mut login_settings: Option<LoginSettings> = None;
    let mut firewall = crate::firewall::Firewall::new(cfg.nft.clone());
    firewall.set_protected(base_protected.clone());
    let executor = crate::commands::Executor::open(&cfg.data_dir, &id.host_id, &id.command_key)?
        .with_firewall(firewall.clone());
    let executor = Arc::new(Mutex::new(executor));
    let mut unreported: Vec<vigil_proto::agent::CommandResult> = Vec::new();
    let mut policy = Policy::default();
    let post_channel = channel.clone();
    let post: crate::monitors::Post = Arc::new(move |path, body| {
        let ch = post_channel.clone();
        Box::pin(async move { ch.post(path, body).await.map(|_| ()) })
    });
    let monitors = crate::monitors::Scheduler::start(
        crate::monitors::all(&cfg, &firewall, unix_now()),
        policy.clone(),
        Outlet {
            spool: spool.clone(),
            wake: wake.clone(),
            post,
            fatal: fatal_tx.clone(),
        },
    );
    let mut heartbeat = tokio::time::interval(Duration::from_secs(policy.settings.heartbeat_secs));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let result = loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break Ok(()),
            _ = fatal_rx.changed() => {
                let why = fatal_rx.borrow().clone().unwrap_or_default();
                break Err(anyhow::anyhow!("agent stopped: {why}"));
            }
            _ = heartbeat.tick() => {
                let hb = Heartbeat {
                    agent_version: crate::VERSION.to_string(),
                    spool: spool.lock().unwrap_or_else(|p| p.into_inner()).stats(),
                    rss_kb: self_rss_kb(),
                    monitors: monitors.health(),
                };
                match channel.post(PATH_HEARTBEAT, codec::encode(&hb)).await {
                    Ok(body) => {
                        if let Ok(r) = serde_json::from_slice::<HeartbeatResponse>(&body) {
                            let mut changed = false;
                            if r.settings != policy.settings && r.settings.heartbeat_secs > 0 {
                                policy.settings = r.settings;
                                changed = true;
                                heartbeat = tokio::time::interval(Duration::from_secs(policy.settings.heartbeat_secs));
                                heartbeat.reset();
                            }
                            if let Some(b) = r.baseline.filter(|b| *b != policy.baseline) {
                                match b.check() {
                                    Ok(()) => {
                                        policy.baseline = b;
                                        changed = true;
                                        tracing::info!(every_days = b.every_days, from_hour = b.from_hour, to_hour = b.to_hour, "baseline schedule applied");
                                    }
                                    Err(e) => tracing::warn!(error = %e, "the server's baseline schedule is not valid; keeping the previous one"),
                                }
                            }
                            if r.login.is_some() && r.login != login_settings {
                                let ls = r.login.clone().unwrap_or_default();
                                match ls.to_config() {
                                    Ok(config) => {
                                        let mut protected = base_protected.clone();
                                        protected.extend(config.whitelist.0.iter().map(|net| crate::firewall::Protected {
                                            net: *net,
                                            why: "the access whitelist".into(),
                                        }));
                                        executor.lock().unwrap_or_else(|p| p.into_inner()).set_protected(protected.clone());
                                        policy.login = Some(LoginPolicy { config, protected });
                                        changed = true;
                                        tracing::info!(span_mins = ls.span_mins, max_failures = ls.max_failures, block_mins = ls.block_mins, whitelist = ls.access_whitelist.len(), "login defense settings applied");
                                    }
                                    Err(e) => tracing::warn!(error = %e, "the server's login settings are not valid here; keeping the previous ones"),
                                }
                                login_settings = r.login.clone();
                            }
                            if changed {
                                monitors.apply_policy(policy.clone());
                            }
                            // Actions run off the async thread; their reports wait for delivery.
                            let commands = r.commands;
                            let ex = executor.clone();
                            let ran = tokio::task::spawn_blocking(move || {
                                let mut ex = ex.lock().unwrap_or_else(|p| p.into_inner());
                                let now = unix_now();
                                ex.purge(now);
                                let ran = commands.iter().filter_map(|c| ex.run(c, now)).collect::<Vec<_>>();
                                (ran, ex.take_inventory_request())
                            })
                            .await
                            .unwrap_or_default();
                            let (ran, rescan) = ran;
                            if rescan {
                                monitors.rescan();
                            }
                            unreported.extend(ran);
                        }
                        let mut still = Vec::new();
                        for r in unreported.drain(..) {
                            match channel.post(PATH_COMMAND_RESULT, codec::encode(&r)).await {
                                Ok(_) | Err(CallError::Refused(_)) => {}
                                Err(e) => {
                                    tracing::warn!(id = r.id, error = %e, "command report failed; retrying");
                                    still.push(r);
                                }
                            }
                        }
                        unreported = still;
                    }
                    Err(CallError::Identity(e)) => break Err(anyhow::anyhow!("agent stopped: {}", e.message)),
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                }
            }
        }
    };
    monitors.stop().await;
    sender.abort();
    result
}

/// The server's and the proxy's addresses: a block must never cut the agent off from them.
async fn protected_addresses(server: &str) -> Vec<crate::firewall::Protected> {
    let mut out = Vec::new();
    let mut add = |url: &str, why: &str, addrs: Vec<std::net::IpAddr>| {
        for ip in addrs {
            tracing::debug!(%ip, %url, "never blocked: {why}");
            out.push(crate::firewall::Protected {
                net: vigil_detect::ip::Cidr::host(ip),
                why: why.to_string(),
            });
        }
    };
    add(server, "the management server", resolve(server).await);
    for var in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        if let Ok(proxy) = std::env::var(var) {
            if !proxy.is_empty() {
                add(
                    &proxy,
                    "the proxy to the management server",
                    resolve(&proxy).await,
                );
            }
        }
    }
    out
}

/// The addresses of a URL's host (`https://h:8601`, `http://proxy:3128`, `socks5://…`).
async fn resolve(url: &str) -> Vec<std::net::IpAddr> {
    let Ok(u) = url::Url::parse(url) else {
        return Vec::new();
    };
    let Some(host) = u.host_str() else {
        return Vec::new();
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return vec![ip];
    }
    let port = u.port_or_known_default().unwrap_or(443);
    let found = tokio::net::lookup_host((host.as_str(), port)).await;
    match found {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(e) => {
            tracing::warn!(%host, error = %e, "cannot resolve; its addresses are not protected from blocks");
            Vec::new()
        }
    }
}

/// Sends spooled batches oldest first, one at a time, forgetting each only once committed.
async fn send_loop(
    channel: Channel,
    spool: Arc<Mutex<Spool>>,
    wake: Arc<Notify>,
    fatal: watch::Sender<Option<String>>,
    shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let next = spool.lock().unwrap_or_else(|p| p.into_inner()).first();
        let Some(batch) = next else {
            let _ = tokio::time::timeout(Duration::from_secs(5), wake.notified()).await;
            continue;
        };
        match channel.post(PATH_EVENTS, batch.body).await {
            Ok(body) => {
                let ack: Option<BatchAck> = serde_json::from_slice(&body).ok();
                if let Some(next) = ack
                    .as_ref()
                    .filter(|a| a.seq == batch.seq)
                    .and_then(|a| a.behind)
                {
                    let n = spool
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .renumber_from(next);
                    tracing::warn!(seq = batch.seq, next, renumbered = n, "the server is ahead of this spool's numbering (restored snapshot or lost counter); pending batches renumbered and sent again");
                } else if ack.as_ref().is_some_and(|a| a.seq == batch.seq) {
                    spool
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .ack(batch.seq);
                    backoff = Duration::from_millis(500);
                } else {
                    tracing::warn!(seq = batch.seq, "unexpected acknowledgement; will resend");
                    tokio::time::sleep(backoff).await;
                }
            }
            Err(CallError::Refused(e)) => {
                tracing::error!(seq = batch.seq, code = %e.code, message = %e.message, "server refused a batch; dropping it (counted)");
                spool
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .reject(batch.seq);
            }
            Err(CallError::Identity(e)) => {
                let _ = fatal.send(Some(e.message));
                return;
            }
            Err(CallError::Retry(e)) => {
                tracing::warn!(seq = batch.seq, error = %e, retry_in = ?backoff, "sending events failed; kept in the spool");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// For the CLI: a one-line description of why a request failed.
pub fn describe(e: &reqwest::Error) -> String {
    error_chain(e)
}
