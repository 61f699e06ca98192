//! `vigil up` and `vigil server`: start the management server (and, for `up`, this host's agent).

use crate::cli::{ServerArgs, ServerOpts, UpArgs};
use anyhow::{Context, Result};

use std::sync::Arc;
use vigil_server::{RunningServer, ServerConfig, SystemClock};

/// Resolves on SIGINT or SIGTERM.
pub async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn config(opts: &ServerOpts) -> ServerConfig {
    let mut cfg = ServerConfig::new(opts.data.clone());
    cfg.api_listen = opts.listen;
    cfg.agent_listen = opts.agent_listen;
    cfg.public_url = opts.public_url.clone();
    cfg.heartbeat_secs = opts.heartbeat_secs.max(1);
    cfg.offline_after_secs = opts.offline_after_secs.max(cfg.heartbeat_secs + 1);
    cfg.never_block = opts.never_block.clone();
    cfg.max_connections = opts.max_connections;
    cfg.max_connections_per_source = opts.max_connections_per_source;
    cfg.max_block_prefix_v4 = opts.max_block_prefix_v4;
    cfg.max_block_prefix_v6 = opts.max_block_prefix_v6;
    cfg
}

/// Refuses a plain-HTTP console on a non-loopback address unless asked for it.
fn check_listen(opts: &ServerOpts) -> Result<()> {
    if opts.listen.ip().is_loopback() {
        return Ok(());
    }
    if !opts.insecure_http {
        anyhow::bail!(
            "--listen {} would serve the console and API over plain HTTP to the network, where \
             passwords and tokens travel unencrypted; they are also served over HTTPS on the agent \
             port (--agent-listen {}, https://HOST:{}/), or keep --listen on 127.0.0.1 behind a TLS \
             proxy; pass --insecure-http to do it anyway",
            opts.listen,
            opts.agent_listen,
            opts.agent_listen.port()
        );
    }
    eprintln!(
        "vigil: warning: the console and API are served over plain HTTP on {} (--insecure-http)",
        opts.listen
    );
    Ok(())
}

/// Starts the server on `db` and prints where to find it; returns it with the API token.
async fn start(opts: &ServerOpts, db: &str) -> Result<(RunningServer, String)> {
    check_listen(opts)?;
    crate::private::secure_and_report(&opts.data)?;
    let store = vigil_store::open(db)
        .await
        .with_context(|| format!("opening the database {db}"))?;
    // Listeners first: a busy port must fail before a password is made that nobody would see.
    let running = vigil_server::start(config(opts), store.clone(), Arc::new(SystemClock)).await?;
    let now = SystemClock.now_secs();
    let creds = vigil_server::bootstrap_admin(store.as_ref(), &opts.data, now).await?;
    let token_file = opts.data.join("admin.token");
    let token = match &creds {
        Some(c) => c.api_token.clone(),
        None => std::fs::read_to_string(&token_file)
            .map(|t| t.trim().to_string())
            .unwrap_or_default(),
    };
    println!("console: http://{}", running.api_addr);
    println!(
        "console over HTTPS: {}/ (the agent port, under this server's own CA)",
        running.public_url
    );
    println!(
        "agents connect to: {} (CA fingerprint {})",
        running.public_url, running.ca_fingerprint
    );
    println!("admin user: admin");
    match &creds {
        Some(c) => println!(
            "admin password: {}    (shown only now; stored as an argon2 hash)",
            c.password
        ),
        None => println!("admin password: set on first start (not shown again)"),
    }
    match (&creds, token.is_empty()) {
        (Some(c), _) => println!(
            "api token: {}    (shown only now; also in {})",
            c.api_token,
            token_file.display()
        ),
        (None, false) => println!("api token: in {}", token_file.display()),
        (None, true) => println!(
            "api token: unavailable ({} is missing)",
            token_file.display()
        ),
    }
    Ok((running, token))
}

trait NowSecs {
    fn now_secs(&self) -> i64;
}

impl NowSecs for SystemClock {
    fn now_secs(&self) -> i64 {
        vigil_server::Clock::now(self)
    }
}

pub async fn server(args: ServerArgs) -> Result<()> {
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", args.server.data.join("vigil.db").display()));
    let (running, _) = start(&args.server, &db).await?;
    println!("ready");
    stop_signal().await;
    running.stop().await;
    Ok(())
}

pub async fn up(args: UpArgs) -> Result<()> {
    let db = format!("sqlite://{}", args.server.data.join("vigil.db").display());
    let (running, token) = start(&args.server, &db).await?;
    if args.no_agent {
        println!("ready");
        stop_signal().await;
        running.stop().await;
        return Ok(());
    }
    let agent_dir = args.server.data.join("agent");
    crate::private::secure_and_report(&agent_dir)?;
    let local_url = format!("https://127.0.0.1:{}", running.agent_addr.port());
    if vigil_agent::Identity::load(&agent_dir)?.is_none() {
        let code = local_install_code(&running, &token).await?;
        let id =
            vigil_agent::enroll(&local_url, &code, &running.ca_fingerprint, &agent_dir).await?;
        println!("this host enrolled as {}", id.host_id);
    }
    let mut cfg = vigil_agent::AgentConfig::new(agent_dir);
    cfg.collect_secs = args.collect_secs.max(1);
    // The local agent always dials the loopback address, whatever port this start bound.
    cfg.server = Some(local_url);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut agent = tokio::spawn(vigil_agent::run(cfg, rx));
    println!("ready");
    let outcome = tokio::select! {
        _ = stop_signal() => Ok(()),
        r = &mut agent => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.context("the local agent stopped")),
            Err(e) => Err(anyhow::anyhow!("the local agent crashed: {e}")),
        },
    };
    let _ = tx.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), agent).await;
    running.stop().await;
    outcome
}

/// Creates a short-lived install code through the server's own API, as an operator would.
async fn local_install_code(running: &RunningServer, token: &str) -> Result<String> {
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("http://{}/api/v1/install-codes", running.api_addr))
        .bearer_auth(token)
        .json(&serde_json::json!({ "group": "default", "expires": "10m", "labels": { "role": "vigil-server" } }))
        .send()
        .await
        .context("asking the local server for an install code")?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("the local server refused an install code: {body}");
    }
    body.get("code")
        .and_then(|c| c.as_str())
        .map(String::from)
        .context("install code missing in the answer")
}
