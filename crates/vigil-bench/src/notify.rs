//! `vigil-bench notify`: notification throughput through the persisted outbox, end to end.
//!
//! The real server runs in this process on its own runtime (threads named `vigil-srv`), on a
//! fresh SQLite file and, with `--pg`, on a fresh PostgreSQL schema. Everything it is told goes
//! through its public interfaces:
//!
//! - notification settings and channels through the REST API (`PUT /api/v1/notify/settings`,
//!   `POST /api/v1/notify/channels`): the SMTP server, a generic webhook channel and an email
//!   channel, every level, daily limits raised to 1,000,000 (per channel and per host) so they
//!   never cap the run;
//! - alerts through the agent API: simulated agents enrolled with an install code, each with
//!   its own Ed25519 key, send signed gzip batches over TLS of `PortOpened` events on `0.0.0.0`,
//!   which the server's detection rules turn into one `suspicious_port` alert each (one unique
//!   port per alert and host). The server commits them and queues the notifications in the
//!   outbox before it acknowledges the batch; its dispatcher loop delivers them.
//!
//! The receivers are real: a webhook receiver (axum) in this process that records the arrival
//! time of every POST, and the aiosmtpd server of vigil-notify's tests
//! (`crates/vigil-notify/tests/smtp_server.py`) as a child process, which writes every message
//! to a file before answering `250`. Each alert carries its index (`vbnotify-N` as the listening
//! process), so every delivery is matched to its alert: each must arrive exactly once on each
//! channel, or the bench fails.
//!
//! Two legs: `steady` (`--alerts`, everything up) and `smtp-outage` (`--outage-alerts`): the
//! SMTP server is killed once a fifth of that leg's mail has arrived, stays down
//! `--outage-secs`, and is started again on the same port; every message must still arrive,
//! through the outbox's retries with backoff. With `--outage stop` the SMTP server is frozen
//! (SIGSTOP) instead, then resumed (SIGCONT): connections are accepted but never answered, as
//! with a hung mail server or a black-holing middlebox.
//!
//! Figures: time from the first alert sent to the last delivery and deliveries/s per channel
//! (receiver clocks, millisecond precision); enqueue → sent latency from the outbox rows
//! (`created_at` and the `sent` attempt's `at`, whole seconds, as the server records them);
//! arrival latency per notification from its batch's acknowledgement (the notification is
//! queued before the ack); attempts per row; and what the dispatcher's rounds look like.

use crate::ingest::{check_postgres, Db};
use crate::procfs;
use crate::util::{create_install_code, json_line, percentile, r2, until_interrupted};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use vigil_agent::client::{pinned_client, signed_post, unix_now, CallError};
use vigil_model::{Event, EventBody, ListeningSocket, Protocol};
use vigil_proto::agent::{
    BatchAck, EnrollRequest, EnrollResponse, EventBatch, PATH_ENROLL, PATH_EVENTS,
};
use vigil_proto::auth::AgentKey;
use vigil_proto::{codec, PROTO_VERSION};
use vigil_server::{Clock, RunningServer, ServerConfig, SystemClock};

const SERVER_THREADS: &str = "vigil-srv";
const CLIENT_THREADS: &str = "bench-cli";
/// Every alert's process is `vbnotify-INDEX`; receivers read the index back from the message.
const MARKER: &str = "vbnotify-";
/// Items the dispatcher claims per round (`claim_outbox(.., 50)` in vigil-server's notify.rs);
/// only used to explain the figures, the bench measures the actual round sizes.
const SERVER_CLAIM_BATCH: usize = 50;
/// Daily limits set on both channels: high enough never to hold anything back.
const LIMIT_PER_DAY: u32 = 1_000_000;
const ENROLL_CONCURRENCY: usize = 8;
/// Deliveries further apart than this are in different dispatcher rounds.
const ROUND_GAP_SECS: f64 = 0.5;
/// How long the outbox may keep `pending` rows once every receiver has its messages.
const SETTLE_SECS: u64 = 30;
const PROGRESS_EVERY: Duration = Duration::from_secs(15);
const LOWEST_PORT: usize = 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Alerts raised in the steady leg; each notifies on both channels (webhook and email).
    #[arg(long, default_value_t = 2000)]
    alerts: usize,
    /// Also run on PostgreSQL, in a fresh schema of VIGIL_TEST_PG_URL (default
    /// postgres://postgres@127.0.0.1:5432/test), after SQLite.
    #[arg(long)]
    pg: bool,
    /// Skip the SQLite run (with --pg: PostgreSQL only).
    #[arg(long)]
    no_sqlite: bool,
    /// Alerts in the failure leg, during which the SMTP server is stopped and restarted; 0
    /// skips the leg.
    #[arg(long, default_value_t = 500)]
    outage_alerts: usize,
    /// How long the SMTP server stays down in the failure leg.
    #[arg(long, default_value_t = 5)]
    outage_secs: u64,
    /// How the SMTP server goes down in the failure leg: `kill` (SIGKILL, then started again
    /// on the same port: connections are refused meanwhile) or `stop` (SIGSTOP, then SIGCONT:
    /// connections are accepted by the kernel but never answered, as with a hung mail server;
    /// an attempt then waits as long as the server's SMTP client lets it).
    #[arg(long, value_enum, default_value_t = OutageKind::Kill)]
    outage: OutageKind,
    /// Simulated agents the alerts come from (alert i from agent i mod hosts).
    #[arg(long, default_value_t = 20)]
    hosts: usize,
    /// Alerts per event batch an agent sends.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// The server's `notify_poll_secs` (seconds between dispatcher rounds); the server's
    /// default when absent.
    #[arg(long)]
    poll_secs: Option<u64>,
    /// A leg fails when its notifications have not all arrived after this long.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
    /// Python with aiosmtpd installed (`pip install aiosmtpd`).
    #[arg(long, default_value = "python3")]
    python: String,
    /// The SMTP server script; vigil-notify's test server by default.
    #[arg(long)]
    smtp_script: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutageKind {
    Kill,
    Stop,
}

/// Builds the runtimes (server and bench apart, so the server's CPU time can be told from the
/// receivers') and runs the bench on each backend; the PostgreSQL schema is dropped even when
/// the bench fails or is interrupted.
pub fn main(args: Args) -> Result<()> {
    if args.alerts == 0 || args.hosts == 0 || args.batch == 0 || args.timeout_secs == 0 {
        bail!("--alerts, --hosts, --batch and --timeout-secs must be at least 1");
    }
    if args.poll_secs == Some(0) {
        bail!("--poll-secs must be at least 1 (the server waits at least a second anyway)");
    }
    if args.no_sqlite && !args.pg {
        bail!("--no-sqlite leaves nothing to run without --pg");
    }
    let highest = LOWEST_PORT + (args.alerts + args.outage_alerts - 1) / args.hosts;
    if highest > usize::from(u16::MAX) {
        bail!(
            "each alert needs its own port on its host: at most {} alerts per host, use more --hosts",
            usize::from(u16::MAX) - LOWEST_PORT + 1
        );
    }
    let script = match &args.smtp_script {
        Some(p) => p.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../vigil-notify/tests/smtp_server.py"),
    };
    if !script.is_file() {
        bail!(
            "the SMTP server script {} does not exist (pass --smtp-script)",
            script.display()
        );
    }
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(SERVER_THREADS)
        .thread_keep_alive(Duration::from_secs(3600))
        .build()
        .context("starting the server runtime")?;
    let bench_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .thread_name(CLIENT_THREADS)
        .build()
        .context("starting the bench runtime")?;
    let srv = server_rt.handle().clone();
    let outcome = bench_rt.block_on(run_all(&args, &script, &srv));
    bench_rt.shutdown_timeout(Duration::from_secs(2));
    server_rt.shutdown_timeout(Duration::from_secs(2));
    outcome
}

async fn run_all(args: &Args, script: &Path, srv: &Handle) -> Result<()> {
    check_aiosmtpd(&args.python).await?;
    let mut dbs = Vec::new();
    if !args.no_sqlite {
        dbs.push(Db::Sqlite);
    }
    if args.pg {
        dbs.push(Db::Postgres);
    }
    let mut failed = Vec::new();
    for db in dbs {
        match run(args, script, srv, db).await {
            Ok(()) => {}
            Err(e) if e.to_string().starts_with("interrupted") => return Err(e),
            Err(e) => {
                eprintln!("notify ({}): FAILED: {e:#}", db.name());
                failed.push(db.name());
            }
        }
    }
    if !failed.is_empty() {
        bail!("the notify bench failed on {}", failed.join(" and "));
    }
    Ok(())
}

async fn check_aiosmtpd(python: &str) -> Result<()> {
    let ok = tokio::process::Command::new(python)
        .args(["-c", "import aiosmtpd"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !ok {
        bail!("the notify bench needs {python} with aiosmtpd (`pip install aiosmtpd`, or pass --python)");
    }
    Ok(())
}

/// Where the bench reads the outbox rows from, beside the server.
#[derive(Debug, Clone)]
enum DbTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

async fn run(args: &Args, script: &Path, srv: &Handle, db: Db) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-notify-")
        .tempdir()?;
    let (url, target, schema) = match db {
        Db::Sqlite => {
            let path = tmp.path().join("vigil.db");
            (
                format!("sqlite://{}", path.display()),
                DbTarget::Sqlite(path),
                None,
            )
        }
        Db::Postgres => {
            check_postgres().await?;
            let schema = vigil_store::testing::fresh_postgres_schema().await;
            println!(
                "notify (postgres): fresh schema {} in {}",
                schema.name,
                vigil_store::testing::postgres_base_url()
            );
            (
                schema.url.clone(),
                DbTarget::Postgres(schema.url.clone()),
                Some(schema),
            )
        }
    };
    let outcome = until_interrupted(bench(args, script, srv, db, &url, target, tmp.path())).await;
    if let Some(schema) = schema {
        vigil_store::testing::drop_schema(&schema).await;
        println!("notify (postgres): schema {} dropped", schema.name);
    }
    outcome
}

/// Awaits `fut` on the server runtime.
async fn on_server<T, F>(srv: &Handle, fut: F) -> Result<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T>> + Send + 'static,
{
    srv.spawn(fut)
        .await
        .map_err(|e| anyhow!("server task failed: {e}"))?
}

async fn start_server(
    url: String,
    data_dir: PathBuf,
    poll_secs: Option<u64>,
) -> Result<(RunningServer, String, u64)> {
    let store = vigil_store::open(&url)
        .await
        .with_context(|| format!("opening {url}"))?;
    let mut cfg = ServerConfig::new(data_dir.clone());
    cfg.api_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.agent_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    if let Some(p) = poll_secs {
        cfg.notify_poll_secs = p;
    }
    let poll = cfg.notify_poll_secs;
    let running = vigil_server::start(cfg, store.clone(), Arc::new(SystemClock)).await?;
    let creds = vigil_server::bootstrap_admin(store.as_ref(), &data_dir, SystemClock.now())
        .await?
        .context("the fresh store already had an operator")?;
    Ok((running, creds.api_token, poll))
}

async fn bench(
    args: &Args,
    script: &Path,
    srv: &Handle,
    db: Db,
    url: &str,
    target: DbTarget,
    tmp: &Path,
) -> Result<()> {
    let data_dir = tmp.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let (running, token, poll) =
        on_server(srv, start_server(url.to_string(), data_dir, args.poll_secs)).await?;
    let fp = running.ca_fingerprint.clone();
    let ctx = Ctx {
        db,
        api: format!("http://{}", running.api_addr),
        agent_url: format!("https://{}", running.agent_addr),
        token,
        poll,
        target,
    };
    println!(
        "notify ({}): server on {} (API {}), dispatcher every {poll} s, {} cores, {}",
        db.name(),
        ctx.agent_url,
        ctx.api,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        procfs::cpu_model()
    );
    let mut smtp = SmtpServer {
        python: args.python.clone(),
        script: script.to_path_buf(),
        root: tmp.join("smtp"),
        port: free_port()?,
        child: None,
        dirs: Vec::new(),
    };
    std::fs::create_dir_all(&smtp.root)?;
    let result = measure(args, &ctx, &fp, &mut smtp).await;
    smtp.kill().await;
    let stop = on_server(srv, async move {
        running.stop().await;
        Ok(())
    });
    let _ = tokio::time::timeout(Duration::from_secs(10), stop).await;
    result
}

struct Ctx {
    db: Db,
    api: String,
    agent_url: String,
    token: String,
    poll: u64,
    target: DbTarget,
}

async fn measure(args: &Args, ctx: &Ctx, fp: &str, smtp: &mut SmtpServer) -> Result<()> {
    let db = ctx.db.name();
    // Receivers.
    let hooks = Arc::new(HookLog::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_addr = listener.local_addr()?;
    let router = axum::Router::new()
        .route("/hook/{token}", axum::routing::post(receive_hook))
        .with_state(hooks.clone());
    let receiver = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let _abort = AbortOnDrop(receiver);
    smtp.start().await?;
    println!(
        "notify ({db}): webhook receiver on http://{hook_addr}, aiosmtpd (pid {}) on 127.0.0.1:{}",
        smtp.pid().unwrap_or(0),
        smtp.port
    );

    // Channels, through the REST API.
    let http = reqwest::Client::new();
    api_call(
        &http,
        ctx,
        reqwest::Method::PUT,
        "/api/v1/notify/settings",
        serde_json::json!({
            "utc_offset_minutes": 0,
            "smtp": { "host": "127.0.0.1", "port": smtp.port, "tls": "none",
                      "from": "Vigil bench <vigil@bench.example.com>" },
        }),
    )
    .await?;
    let channel = |kind: serde_json::Value| {
        serde_json::json!({
            "id": 0,
            "kind": kind,
            "levels": ["reminder", "suspicious", "urgent"],
            "max_per_day": LIMIT_PER_DAY,
            "max_per_host_per_day": LIMIT_PER_DAY,
            "enabled": true,
        })
    };
    let webhook_id = api_call(
        &http,
        ctx,
        reqwest::Method::POST,
        "/api/v1/notify/channels",
        serde_json::json!({
            "name": "bench webhook",
            "config": channel(serde_json::json!({
                "type": "webhook",
                "url": format!("http://{hook_addr}/hook/s3cr3t-bench-token"),
                "shape": "generic",
            })),
        }),
    )
    .await?["id"]
        .as_i64()
        .context("no id for the webhook channel")?;
    let email_id = api_call(
        &http,
        ctx,
        reqwest::Method::POST,
        "/api/v1/notify/channels",
        serde_json::json!({
            "name": "bench email",
            "config": channel(serde_json::json!({ "type": "email", "to": ["soc@bench.example.com"] })),
        }),
    )
    .await?["id"]
        .as_i64()
        .context("no id for the email channel")?;
    let listed = api_call(
        &http,
        ctx,
        reqwest::Method::GET,
        "/api/v1/notify/channels",
        serde_json::Value::Null,
    )
    .await?;
    let n_channels = listed["channels"].as_array().map_or(0, Vec::len);
    if n_channels != 2 {
        bail!("the server lists {n_channels} notification channels, 2 were created: {listed}");
    }
    let channels = Channels {
        webhook: webhook_id,
        email: email_id,
    };
    println!(
        "notify ({db}): channels through the API: webhook #{webhook_id} (generic) and email #{email_id}, every level, {LIMIT_PER_DAY} a day and per host"
    );

    // Agents.
    let code = create_install_code(&ctx.api, &ctx.token, "bench").await?;
    let agent_http = pinned_client(fp)?;
    let t = Instant::now();
    let mut agents = enroll_all(args.hosts, &agent_http, &ctx.agent_url, &code).await?;
    println!(
        "notify ({db}): {} agents enrolled in {:.1} s",
        agents.len(),
        t.elapsed().as_secs_f64()
    );

    let mut legs = Vec::new();
    let steady = Leg {
        name: "steady",
        first: 0,
        n: args.alerts,
        outage_secs: None,
    };
    legs.push(
        run_leg(
            args,
            ctx,
            &steady,
            &mut agents,
            &agent_http,
            &hooks,
            smtp,
            &channels,
        )
        .await?,
    );
    if args.outage_alerts > 0 && legs.iter().any(|l| l.timed_out) {
        println!("notify ({db}): failure leg skipped: the steady leg timed out");
    } else if args.outage_alerts > 0 {
        let outage = Leg {
            name: "smtp-outage",
            first: args.alerts,
            n: args.outage_alerts,
            outage_secs: Some(args.outage_secs),
        };
        legs.push(
            run_leg(
                args,
                ctx,
                &outage,
                &mut agents,
                &agent_http,
                &hooks,
                smtp,
                &channels,
            )
            .await?,
        );
    }

    // Exactly once, over the whole run: every alert on each channel, nothing else.
    let total = args.alerts + args.outage_alerts;
    let mails = smtp.messages()?;
    let hook_hits = hooks.snapshot();
    let global = [
        ("webhook", check_once(&hook_hits, 0, total)),
        ("email", check_once(&mails, 0, total)),
    ];
    let rows = read_outbox(&ctx.target, 0).await?;
    let not_sent = rows.values().filter(|r| r.state != "sent").count();
    let multi_sent = rows.values().filter(|r| r.sent_attempts() != 1).count();

    println!();
    println!(
        "notify ({db}) — {} hosts, {}-alert batches, dispatcher every {} s, {} items per claim (server constant)",
        args.hosts, args.batch, ctx.poll, SERVER_CLAIM_BATCH
    );
    for leg in &legs {
        leg.print(ctx.poll);
    }
    let mut ok = true;
    println!("verify (whole run, {total} alerts):");
    for (name, c) in &global {
        println!(
            "  {name:<8} received {} for {total} alerts: lost {}, duplicated {}, unknown {}{}",
            c.received,
            c.lost,
            c.duplicated,
            c.unknown,
            if c.ok() { "  OK" } else { "  FAILED" }
        );
        ok &= c.ok();
    }
    println!(
        "  outbox   {} rows (expected {}), not sent {not_sent}, rows without exactly one `sent` attempt {multi_sent}{}",
        rows.len(),
        2 * total,
        if rows.len() == 2 * total && not_sent == 0 && multi_sent == 0 {
            "  OK"
        } else {
            "  FAILED"
        }
    );
    ok &= rows.len() == 2 * total && not_sent == 0 && multi_sent == 0;
    ok &= legs.iter().all(|l| !l.timed_out);

    let json = serde_json::json!({
        "db": db,
        "hosts": args.hosts,
        "batch": args.batch,
        "poll_secs": ctx.poll,
        "legs": legs.iter().map(LegResult::json).collect::<Vec<_>>(),
        "verified": ok,
    });
    println!("{}", json_line("notify", json));
    if !ok {
        bail!("notifications were lost, duplicated or left unsent (see the verify lines above)");
    }
    Ok(())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A REST call with the admin token; the JSON answer.
async fn api_call(
    http: &reqwest::Client,
    ctx: &Ctx,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value> {
    let mut req = http
        .request(method.clone(), format!("{}{path}", ctx.api))
        .bearer_auth(&ctx.token);
    if !body.is_null() {
        req = req.json(&body);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("{method} {path}"))?;
    let status = resp.status();
    let answer: serde_json::Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{method} {path} answered {status}: {answer}");
    }
    Ok(answer)
}

// --- receivers ---------------------------------------------------------------------------

/// Webhook deliveries: (alert index read from the body, arrival time).
#[derive(Default)]
struct HookLog {
    hits: Mutex<Vec<(Option<usize>, f64)>>,
}

impl HookLog {
    fn len(&self) -> usize {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn snapshot(&self) -> Vec<(Option<usize>, f64)> {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn receive_hook(
    axum::extract::State(log): axum::extract::State<Arc<HookLog>>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let at = unix_f64(SystemTime::now());
    let index = marker_index(&body);
    log.hits
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((index, at));
    axum::http::StatusCode::OK
}

/// The alert index after the first `vbnotify-` in a message.
fn marker_index(text: &[u8]) -> Option<usize> {
    let m = MARKER.as_bytes();
    let at = text.windows(m.len()).position(|w| w == m)? + m.len();
    let digits: Vec<u8> = text[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn unix_f64(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// vigil-notify's aiosmtpd test server as a child process. Each start writes to a new
/// directory (the script numbers its files from 1 again).
struct SmtpServer {
    python: String,
    script: PathBuf,
    root: PathBuf,
    port: u16,
    /// The child and its stdin: the script runs until its stdin closes.
    child: Option<(tokio::process::Child, tokio::process::ChildStdin)>,
    dirs: Vec<PathBuf>,
}

impl SmtpServer {
    async fn start(&mut self) -> Result<()> {
        let n = self.dirs.len();
        let dir = self.root.join(format!("inbox-{n}"));
        std::fs::create_dir_all(&dir)?;
        let stderr_path = self.root.join(format!("smtp-{n}.stderr.log"));
        let stderr = std::fs::File::create(&stderr_path)?;
        let mut cmd = tokio::process::Command::new(&self.python);
        cmd.arg(&self.script)
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {} {}", self.python, self.script.display()))?;
        let stdin = child.stdin.take().context("the SMTP server's stdin")?;
        let stdout = child.stdout.take().context("the SMTP server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        if !matches!(&ready, Ok(Ok(Some(l))) if l.trim() == "READY") {
            let _ = child.start_kill();
            bail!(
                "the SMTP server did not start on port {} ({ready:?}); its stderr:\n{}",
                self.port,
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        self.dirs.push(dir);
        self.child = Some((child, stdin));
        Ok(())
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|(c, _)| c.id())
    }

    /// Kills the server (SIGKILL: a crash, not a goodbye) and reaps it.
    async fn kill(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            drop(stdin);
        }
    }

    /// Sends `SIGNAL` (`STOP`, `CONT`) to the running server with kill(1).
    async fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.pid().context("the SMTP server is not running")?;
        let ok = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if !ok {
            bail!("kill -{signal} {pid} failed");
        }
        Ok(())
    }

    /// Messages received so far (files written), over every start.
    fn count(&self) -> usize {
        self.dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|rd| rd.filter_map(|e| e.ok()))
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    }

    /// Every message received: (alert index read from the body, time the file was written).
    fn messages(&self) -> Result<Vec<(Option<usize>, f64)>> {
        let mut out = Vec::new();
        for d in &self.dirs {
            for e in std::fs::read_dir(d)? {
                let path = e?.path();
                if path.extension().is_none_or(|x| x != "json") {
                    continue;
                }
                let at = unix_f64(std::fs::metadata(&path)?.modified()?);
                let msg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
                    .with_context(|| format!("reading {}", path.display()))?;
                let body = msg["body"].as_str().unwrap_or_default();
                let subject = msg["subject"].as_str().unwrap_or_default();
                let index = marker_index(body.as_bytes()).or(marker_index(subject.as_bytes()));
                out.push((index, at));
            }
        }
        Ok(out)
    }
}

// --- agents -------------------------------------------------------------------------------

struct SimAgent {
    idx: usize,
    host_id: String,
    key: AgentKey,
    seq: u64,
}

async fn enroll_all(
    n: usize,
    http: &reqwest::Client,
    server_url: &str,
    code: &str,
) -> Result<Vec<SimAgent>> {
    let limit = Arc::new(Semaphore::new(ENROLL_CONCURRENCY));
    let mut set = JoinSet::new();
    for idx in 0..n {
        let (http, url, code, limit) = (
            http.clone(),
            server_url.to_string(),
            code.to_string(),
            limit.clone(),
        );
        set.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let key = AgentKey::generate();
            let req = EnrollRequest {
                proto: PROTO_VERSION,
                code,
                public_key: key.public_base64(),
                hostname: format!("notify-bench-{idx:04}"),
                agent_version: vigil_agent::VERSION.to_string(),
                os: crate::events::os_info(idx),
            };
            let resp = signed_post(
                &http,
                &url,
                PATH_ENROLL,
                "enroll",
                &key,
                codec::encode(&req),
            )
            .await
            .map_err(|e| anyhow!("enrolling agent {idx}: {e}"))?;
            let resp: EnrollResponse =
                serde_json::from_slice(&resp).context("enrollment answer")?;
            Ok::<_, anyhow::Error>(SimAgent {
                idx,
                host_id: resp.host_id,
                key,
                seq: 0,
            })
        });
    }
    let mut agents = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        agents.push(r.map_err(|e| anyhow!("an enrollment task failed: {e}"))??);
    }
    agents.sort_by_key(|a| a.idx);
    Ok(agents)
}

/// The event that makes the server raise alert `i`: a port opened on every interface, owned by
/// process `vbnotify-i`, on a port no other alert of that host uses.
fn alert_event(i: usize, hosts: usize, time: i64) -> Event {
    Event {
        time,
        body: EventBody::PortOpened {
            socket: ListeningSocket {
                protocol: Protocol::Tcp,
                address: "0.0.0.0".into(),
                port: (LOWEST_PORT + i / hosts) as u16,
                inode: 500_000 + i as u64,
                uid: 0,
                pid: 10_000 + (i % 50_000) as u32,
                process: format!("{MARKER}{i}"),
                exe: format!("/opt/bench/{MARKER}{i}"),
            },
        },
    }
}

/// What sending a leg's alerts took.
#[derive(Default)]
struct Sent {
    /// Per alert index: (batch sent, batch acknowledged), unix seconds.
    times: HashMap<usize, (f64, f64)>,
    batch_ms: Vec<u64>,
    retries: u64,
}

/// Each agent sends its alerts of `first..first + n` in batches of `batch`, one batch in
/// flight per agent, all agents at once.
async fn send_alerts(
    agents: &mut Vec<SimAgent>,
    http: &reqwest::Client,
    server_url: &str,
    first: usize,
    n: usize,
    batch: usize,
) -> Result<Sent> {
    let hosts = agents.len();
    let mut set = JoinSet::new();
    for mut agent in agents.drain(..) {
        let mine: Vec<usize> = (first..first + n)
            .filter(|i| i % hosts == agent.idx)
            .collect();
        let (http, url) = (http.clone(), server_url.to_string());
        set.spawn(async move {
            let mut sent = Sent::default();
            for chunk in mine.chunks(batch) {
                let seq = agent.seq + 1;
                let now = unix_now();
                let events = chunk.iter().map(|&i| alert_event(i, hosts, now)).collect();
                let body = codec::encode(&EventBatch { seq, events });
                let t0 = SystemTime::now();
                let mut tries = 0;
                let ack = loop {
                    match signed_post(
                        &http,
                        &url,
                        PATH_EVENTS,
                        &agent.host_id,
                        &agent.key,
                        body.clone(),
                    )
                    .await
                    {
                        Ok(resp) => break serde_json::from_slice::<BatchAck>(&resp)?,
                        Err(CallError::Retry(e)) if tries < 20 => {
                            tries += 1;
                            sent.retries += 1;
                            eprintln!("  host {} batch {seq}: {e}; retrying", agent.host_id);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(e) => return Err(anyhow!("host {} batch {seq}: {e}", agent.host_id)),
                    }
                };
                let t1 = SystemTime::now();
                if ack.seq != seq || (!ack.stored && tries == 0) {
                    bail!(
                        "host {} batch {seq}: unexpected acknowledgement {ack:?}",
                        agent.host_id
                    );
                }
                agent.seq = seq;
                sent.batch_ms.push(
                    t1.duration_since(t0)
                        .unwrap_or_default()
                        .as_millis()
                        .try_into()
                        .unwrap_or(u64::MAX),
                );
                for &i in chunk {
                    sent.times.insert(i, (unix_f64(t0), unix_f64(t1)));
                }
            }
            Ok::<_, anyhow::Error>((agent, sent))
        });
    }
    let mut all = Sent::default();
    let mut fatal = None;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok((agent, sent))) => {
                agents.push(agent);
                all.times.extend(sent.times);
                all.batch_ms.extend(sent.batch_ms);
                all.retries += sent.retries;
            }
            Ok(Err(e)) => fatal = Some(e),
            Err(e) => fatal = Some(anyhow!("a sending task failed: {e}")),
        }
    }
    agents.sort_by_key(|a| a.idx);
    if let Some(e) = fatal {
        return Err(e.context("the server refused the simulated agents' alerts"));
    }
    all.batch_ms.sort_unstable();
    Ok(all)
}

// --- the outbox as stored ------------------------------------------------------------------

/// One outbox row and its attempts: (number, at, outcome JSON).
struct OutboxInfo {
    channel_id: i64,
    state: String,
    created_at: i64,
    attempts: Vec<(i64, i64, String)>,
}

impl OutboxInfo {
    fn outcome(json: &str) -> serde_json::Value {
        serde_json::from_str(json).unwrap_or_default()
    }

    fn sent_attempts(&self) -> usize {
        self.attempts
            .iter()
            .filter(|(_, _, o)| Self::outcome(o)["outcome"] == "sent")
            .count()
    }

    /// When the `sent` attempt was recorded.
    fn sent_at(&self) -> Option<i64> {
        self.attempts
            .iter()
            .find(|(_, _, o)| Self::outcome(o)["outcome"] == "sent")
            .map(|(_, at, _)| *at)
    }
}

const OUTBOX_SQL_SQLITE: &str = "SELECT o.id, o.channel_id, o.state, o.created_at, a.number, a.at, a.outcome \
     FROM outbox o LEFT JOIN outbox_attempts a ON a.outbox_id = o.id WHERE o.id > ?1 ORDER BY o.id, a.number";
const OUTBOX_SQL_PG: &str = "SELECT o.id, o.channel_id, o.state, o.created_at, a.number, a.at, a.outcome \
     FROM outbox o LEFT JOIN outbox_attempts a ON a.outbox_id = o.id WHERE o.id > $1 ORDER BY o.id, a.number";

type Joined = (
    i64,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// Outbox rows with an id above `floor`, by id, read with SQL beside the server (the store's
/// `outbox` lists 1,000 rows at most).
async fn read_outbox(target: &DbTarget, floor: i64) -> Result<BTreeMap<i64, OutboxInfo>> {
    let joined: Vec<Joined> = match target {
        DbTarget::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> Result<Vec<Joined>> {
                let c = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )?;
                c.busy_timeout(Duration::from_secs(10))?;
                let mut st = c.prepare(OUTBOX_SQL_SQLITE)?;
                let rows = st.query_map([floor], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
            .map_err(|e| anyhow!("reading the outbox: {e}"))??
        }
        DbTarget::Postgres(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .context("connecting to PostgreSQL")?;
            let conn = tokio::spawn(conn);
            let rows = client.query(OUTBOX_SQL_PG, &[&floor]).await;
            drop(client);
            let _ = conn.await;
            rows?
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                        r.get(5),
                        r.get(6),
                    )
                })
                .collect()
        }
    };
    let mut out: BTreeMap<i64, OutboxInfo> = BTreeMap::new();
    for (id, channel_id, state, created_at, number, at, outcome) in joined {
        let row = out.entry(id).or_insert_with(|| OutboxInfo {
            channel_id,
            state,
            created_at,
            attempts: Vec::new(),
        });
        if let (Some(n), Some(at), Some(o)) = (number, at, outcome) {
            row.attempts.push((n, at, o));
        }
    }
    Ok(out)
}

// --- one leg --------------------------------------------------------------------------------

struct Leg {
    name: &'static str,
    first: usize,
    n: usize,
    /// Stop the SMTP server this long once a fifth of the leg's mail arrived.
    outage_secs: Option<u64>,
}

struct Channels {
    webhook: i64,
    email: i64,
}

/// Whether every alert of a range arrived exactly once on one channel.
#[derive(Debug, Default, PartialEq, Eq)]
struct OnceCheck {
    received: usize,
    lost: usize,
    duplicated: usize,
    /// Deliveries naming no alert of the range.
    unknown: usize,
}

impl OnceCheck {
    fn ok(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unknown == 0
    }
}

fn check_once(hits: &[(Option<usize>, f64)], first: usize, n: usize) -> OnceCheck {
    let mut seen = vec![0u32; n];
    let mut c = OnceCheck::default();
    for (index, _) in hits {
        match index {
            Some(i) if (first..first + n).contains(i) => {
                seen[i - first] += 1;
                c.received += 1;
            }
            Some(_) => {}
            None => c.unknown += 1,
        }
    }
    c.lost = seen.iter().filter(|&&k| k == 0).count();
    c.duplicated = seen.iter().filter(|&&k| k > 1).count();
    c
}

/// Per channel figures of a leg.
struct ChannelFigures {
    check: OnceCheck,
    /// First alert sent → last delivery on this channel, seconds.
    span_secs: f64,
    per_sec: f64,
    /// Batch acknowledged → arrival, ms, sorted.
    arrival_ms: Vec<u64>,
    /// Outbox `sent` attempt at − created_at, seconds, sorted.
    outbox_secs: Vec<u64>,
    /// Rows by attempts made.
    attempts: BTreeMap<i64, usize>,
    /// Failed attempts by code and message.
    failures: BTreeMap<(String, String), usize>,
}

struct Rounds {
    /// Distinct attempt times of the leg's rows (the dispatcher stamps a round with one time).
    count: usize,
    max_items: usize,
    median_items: usize,
    /// Receiver-side bursts: busy time (first to last delivery) and gap to the next burst.
    busy_ms: Vec<u64>,
    gap_ms: Vec<u64>,
    /// Time between consecutive deliveries within a burst, by the channel of the later one.
    step_email_ms: Vec<u64>,
    step_webhook_ms: Vec<u64>,
}

struct LegResult {
    name: &'static str,
    n: usize,
    timed_out: bool,
    ingest_secs: f64,
    batch_ms: Vec<u64>,
    send_retries: u64,
    /// First alert sent → last delivery on any channel.
    span_secs: f64,
    outbox_span_secs: i64,
    webhook: ChannelFigures,
    email: ChannelFigures,
    rows: usize,
    rows_not_sent: usize,
    rounds: Rounds,
    outage: Option<(f64, f64)>,
    /// How the SMTP server went down.
    outage_how: &'static str,
    cpu_server_pct: f64,
    cpu_smtp_pct: f64,
    cpu_postgres_pct: f64,
}

#[allow(clippy::too_many_arguments)]
async fn run_leg(
    args: &Args,
    ctx: &Ctx,
    leg: &Leg,
    agents: &mut Vec<SimAgent>,
    agent_http: &reqwest::Client,
    hooks: &HookLog,
    smtp: &mut SmtpServer,
    channels: &Channels,
) -> Result<LegResult> {
    let db = ctx.db.name();
    let range = leg.first..leg.first + leg.n;
    let floor = read_outbox(&ctx.target, 0)
        .await?
        .keys()
        .next_back()
        .copied()
        .unwrap_or(0);
    let base_hooks = hooks.len();
    let base_mails = smtp.count();
    println!(
        "notify ({db}) leg {}: {} alerts from {} agents in batches of {}{}",
        leg.name,
        leg.n,
        agents.len(),
        args.batch,
        match leg.outage_secs {
            Some(s) => format!(
                ", SMTP server down ({}) {s} s once a fifth of the mail arrived",
                match args.outage {
                    OutageKind::Kill => "killed",
                    OutageKind::Stop => "SIGSTOP",
                }
            ),
            None => String::new(),
        }
    );
    let cpu0 = Cpu::take(smtp.pid());
    let start = Instant::now();
    let sent = send_alerts(
        agents,
        agent_http,
        &ctx.agent_url,
        leg.first,
        leg.n,
        args.batch,
    )
    .await?;
    let ingest_secs = start.elapsed().as_secs_f64();
    println!(
        "  {} alerts acknowledged in {ingest_secs:.2} s ({:.0} alerts/s; each queued its 2 notifications before its ack)",
        leg.n,
        leg.n as f64 / ingest_secs
    );

    let deadline = start + Duration::from_secs(args.timeout_secs);
    let mut outage = None;
    let mut next_progress = Instant::now() + PROGRESS_EVERY;
    let mut timed_out = false;
    let mut smtp_cpu = 0u64;
    loop {
        let h = hooks.len() - base_hooks;
        let m = smtp.count() - base_mails;
        if let (Some(secs), None) = (leg.outage_secs, outage) {
            if m >= (leg.n / 5).max(1) {
                let down = unix_f64(SystemTime::now());
                match args.outage {
                    OutageKind::Kill => {
                        smtp_cpu += Cpu::smtp_ticks(smtp.pid());
                        smtp.kill().await;
                    }
                    OutageKind::Stop => smtp.signal("STOP").await?,
                }
                println!(
                    "  t={:>6.1} s  SMTP server {} after {m} of {} messages; down for {secs} s",
                    start.elapsed().as_secs_f64(),
                    match args.outage {
                        OutageKind::Kill => "killed",
                        OutageKind::Stop => "frozen (SIGSTOP)",
                    },
                    leg.n
                );
                tokio::time::sleep(Duration::from_secs(secs)).await;
                match args.outage {
                    OutageKind::Kill => smtp.start().await?,
                    OutageKind::Stop => smtp.signal("CONT").await?,
                }
                let up = unix_f64(SystemTime::now());
                println!(
                    "  t={:>6.1} s  SMTP server {} (pid {})",
                    start.elapsed().as_secs_f64(),
                    match args.outage {
                        OutageKind::Kill => "started again on the same port",
                        OutageKind::Stop => "resumed (SIGCONT)",
                    },
                    smtp.pid().unwrap_or(0)
                );
                outage = Some((down, up));
                continue;
            }
        }
        if h >= leg.n && m >= leg.n {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            eprintln!(
                "  TIMEOUT after {} s: webhook {h}/{}, email {m}/{}",
                args.timeout_secs, leg.n, leg.n
            );
            break;
        }
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            println!(
                "  t={:>6.1} s  delivered: webhook {h}/{}, email {m}/{}",
                start.elapsed().as_secs_f64(),
                leg.n,
                leg.n
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Wait until no row of the leg is pending: after that nothing more can be delivered, so
    // the receivers' counts are final.
    let settle = Instant::now() + Duration::from_secs(SETTLE_SECS);
    let rows = loop {
        let rows = read_outbox(&ctx.target, floor).await?;
        let pending = rows.values().filter(|r| r.state == "pending").count();
        if pending == 0 || timed_out || Instant::now() >= settle {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let cpu = Cpu::take(smtp.pid()).since(&cpu0, smtp_cpu);

    let hook_hits: Vec<(Option<usize>, f64)> = hooks.snapshot()[base_hooks..].to_vec();
    let mails: Vec<(Option<usize>, f64)> = smtp
        .messages()?
        .into_iter()
        .filter(|(i, _)| i.is_none_or(|i| range.contains(&i)))
        .collect();
    let first_sent = sent
        .times
        .values()
        .map(|(s, _)| *s)
        .fold(f64::INFINITY, f64::min);
    let figures = |hits: &[(Option<usize>, f64)], channel: i64| {
        let check = check_once(hits, leg.first, leg.n);
        let last = hits.iter().map(|(_, t)| *t).fold(first_sent, f64::max);
        let span_secs = last - first_sent;
        let mut first_arrival: HashMap<usize, f64> = HashMap::new();
        for (i, t) in hits {
            if let Some(i) = i {
                let e = first_arrival.entry(*i).or_insert(*t);
                *e = e.min(*t);
            }
        }
        let mut arrival_ms: Vec<u64> = first_arrival
            .iter()
            .filter_map(|(i, t)| {
                let (_, acked) = sent.times.get(i)?;
                Some(((t - acked).max(0.0) * 1000.0) as u64)
            })
            .collect();
        arrival_ms.sort_unstable();
        let mine: Vec<&OutboxInfo> = rows.values().filter(|r| r.channel_id == channel).collect();
        let mut outbox_secs: Vec<u64> = mine
            .iter()
            .filter_map(|r| Some((r.sent_at()? - r.created_at).max(0) as u64))
            .collect();
        outbox_secs.sort_unstable();
        let mut attempts = BTreeMap::new();
        let mut failures: BTreeMap<(String, String), usize> = BTreeMap::new();
        for r in &mine {
            *attempts.entry(r.attempts.len() as i64).or_insert(0) += 1;
            for (_, _, o) in &r.attempts {
                let o = OutboxInfo::outcome(o);
                if o["outcome"] == "failed" {
                    let code = o["code"].as_str().unwrap_or("?").to_string();
                    let message = o["message"].as_str().unwrap_or("").to_string();
                    *failures.entry((code, message)).or_insert(0) += 1;
                }
            }
        }
        ChannelFigures {
            per_sec: check.received as f64 / span_secs.max(1e-9),
            check,
            span_secs,
            arrival_ms,
            outbox_secs,
            attempts,
            failures,
        }
    };
    let webhook = figures(&hook_hits, channels.webhook);
    let email = figures(&mails, channels.email);
    let last_any = hook_hits
        .iter()
        .chain(&mails)
        .map(|(_, t)| *t)
        .fold(first_sent, f64::max);
    let created_min = rows.values().map(|r| r.created_at).min().unwrap_or(0);
    let sent_max = rows.values().filter_map(|r| r.sent_at()).max().unwrap_or(0);

    let mut all: Vec<(f64, bool)> = hook_hits
        .iter()
        .map(|(_, t)| (*t, false))
        .chain(mails.iter().map(|(_, t)| (*t, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut per_at: BTreeMap<i64, usize> = BTreeMap::new();
    for r in rows.values() {
        for (_, at, _) in &r.attempts {
            *per_at.entry(*at).or_insert(0) += 1;
        }
    }
    let mut sizes: Vec<usize> = per_at.values().copied().collect();
    sizes.sort_unstable();
    let rounds = analyse_rounds(&all, sizes);

    Ok(LegResult {
        name: leg.name,
        n: leg.n,
        timed_out,
        ingest_secs,
        batch_ms: sent.batch_ms,
        send_retries: sent.retries,
        span_secs: last_any - first_sent,
        outbox_span_secs: sent_max - created_min,
        webhook,
        email,
        rows: rows.len(),
        rows_not_sent: rows.values().filter(|r| r.state != "sent").count(),
        rounds,
        outage,
        outage_how: match args.outage {
            OutageKind::Kill => "killed, then started again on the same port",
            OutageKind::Stop => "frozen with SIGSTOP, then resumed with SIGCONT",
        },
        cpu_server_pct: cpu.pct(cpu.server),
        cpu_smtp_pct: cpu.pct(cpu.smtp),
        cpu_postgres_pct: cpu.pct(cpu.postgres),
    })
}

/// Dispatcher rounds as the receivers saw them: deliveries (time, is email), sorted.
fn analyse_rounds(all: &[(f64, bool)], sizes: Vec<usize>) -> Rounds {
    let mut busy_ms = Vec::new();
    let mut gap_ms = Vec::new();
    let mut step_email_ms = Vec::new();
    let mut step_webhook_ms = Vec::new();
    let mut burst_start = all.first().map(|d| d.0);
    for w in all.windows(2) {
        let dt = w[1].0 - w[0].0;
        if dt > ROUND_GAP_SECS {
            if let Some(s) = burst_start {
                busy_ms.push(((w[0].0 - s) * 1000.0) as u64);
            }
            gap_ms.push((dt * 1000.0) as u64);
            burst_start = Some(w[1].0);
        } else if w[1].1 {
            step_email_ms.push((dt * 1e6) as u64);
        } else {
            step_webhook_ms.push((dt * 1e6) as u64);
        }
    }
    if let (Some(s), Some(last)) = (burst_start, all.last()) {
        busy_ms.push(((last.0 - s) * 1000.0) as u64);
    }
    for v in [
        &mut busy_ms,
        &mut gap_ms,
        &mut step_email_ms,
        &mut step_webhook_ms,
    ] {
        v.sort_unstable();
    }
    Rounds {
        count: sizes.len(),
        max_items: sizes.last().copied().unwrap_or(0),
        median_items: sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        busy_ms,
        gap_ms,
        step_email_ms,
        step_webhook_ms,
    }
}

/// CPU time around a leg: the server's threads, the SMTP child, PostgreSQL's processes.
struct Cpu {
    at: Instant,
    server: u64,
    smtp: u64,
    postgres: u64,
}

/// CPU ticks used over an interval.
struct CpuDelta {
    secs: f64,
    server: u64,
    smtp: u64,
    postgres: u64,
}

impl Cpu {
    fn take(smtp_pid: Option<u32>) -> Cpu {
        Cpu {
            at: Instant::now(),
            server: procfs::own_thread_ticks(SERVER_THREADS),
            smtp: Cpu::smtp_ticks(smtp_pid),
            postgres: procfs::processes_ticks("postgres"),
        }
    }

    fn smtp_ticks(pid: Option<u32>) -> u64 {
        pid.and_then(procfs::cpu_ticks).unwrap_or(0)
    }

    /// The difference; `smtp_killed` holds the ticks of an SMTP child killed meanwhile (the
    /// one `before` measured), 0 when it still runs.
    fn since(&self, before: &Cpu, smtp_killed: u64) -> CpuDelta {
        let smtp = if smtp_killed > 0 {
            smtp_killed.saturating_sub(before.smtp) + self.smtp
        } else {
            self.smtp.saturating_sub(before.smtp)
        };
        CpuDelta {
            secs: (self.at - before.at).as_secs_f64(),
            server: self.server.saturating_sub(before.server),
            smtp,
            postgres: self.postgres.saturating_sub(before.postgres),
        }
    }
}

impl CpuDelta {
    /// Ticks as a percentage of one core over the interval.
    fn pct(&self, ticks: u64) -> f64 {
        ticks as f64 / procfs::TICKS_PER_SEC * 100.0 / self.secs.max(1e-9)
    }
}

// --- report ---------------------------------------------------------------------------------

fn pct_ms(v: &[u64], p: f64) -> f64 {
    percentile(v, p) as f64
}

fn median(v: &[u64]) -> u64 {
    percentile(v, 50.0)
}

impl LegResult {
    fn print(&self, poll: u64) {
        let (w, e) = (&self.webhook, &self.email);
        let total = w.check.received + e.check.received;
        println!();
        println!(
            "leg {} — {} alerts → {} notifications{}",
            self.name,
            self.n,
            2 * self.n,
            if self.timed_out { "  (TIMED OUT)" } else { "" }
        );
        if let Some((down, up)) = self.outage {
            println!(
                "  SMTP server down for {:.1} s ({})",
                up - down,
                self.outage_how
            );
        }
        let row = |label: &str, a: String, b: String, c: String| {
            println!("  {label:<42}{a:>20}{b:>20}{c:>12}");
        };
        row("", "webhook".into(), "email".into(), "both".into());
        row(
            "delivered / expected",
            format!("{}/{}", w.check.received, self.n),
            format!("{}/{}", e.check.received, self.n),
            format!("{total}/{}", 2 * self.n),
        );
        row(
            "lost / duplicated / unknown",
            format!(
                "{}/{}/{}",
                w.check.lost, w.check.duplicated, w.check.unknown
            ),
            format!(
                "{}/{}/{}",
                e.check.lost, e.check.duplicated, e.check.unknown
            ),
            String::new(),
        );
        row(
            "first alert sent → last delivery (s)",
            format!("{:.2}", w.span_secs),
            format!("{:.2}", e.span_secs),
            format!("{:.2}", self.span_secs),
        );
        row(
            "deliveries/s over that span",
            format!("{:.1}", w.per_sec),
            format!("{:.1}", e.per_sec),
            format!("{:.1}", total as f64 / self.span_secs.max(1e-9)),
        );
        let p = |v: &[u64], scale: f64, decimals: usize| {
            format!(
                "{:.d$}/{:.d$}/{:.d$}",
                pct_ms(v, 50.0) / scale,
                pct_ms(v, 99.0) / scale,
                pct_ms(v, 100.0) / scale,
                d = decimals
            )
        };
        row(
            "outbox enqueue→sent p50/p99/max (s) [1]",
            p(&w.outbox_secs, 1.0, 0),
            p(&e.outbox_secs, 1.0, 0),
            String::new(),
        );
        row(
            "batch ack→arrival p50/p99/max (s) [2]",
            p(&w.arrival_ms, 1000.0, 1),
            p(&e.arrival_ms, 1000.0, 1),
            String::new(),
        );
        let attempts = |f: &ChannelFigures| {
            f.attempts
                .iter()
                .map(|(k, v)| format!("{k}×{v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        row(
            "rows by attempts made (attempts×rows)",
            attempts(w),
            attempts(e),
            String::new(),
        );
        for (name, f) in [("webhook", w), ("email", e)] {
            for ((code, msg), n) in &f.failures {
                let msg: String = msg.chars().take(110).collect();
                println!("  failed attempts ({name}): {n} × [{code}] {msg}");
            }
        }
        println!(
            "  outbox: {} rows, {} not in state `sent`; first created_at → last sent attempt: {} s",
            self.rows, self.rows_not_sent, self.outbox_span_secs
        );
        println!(
            "  ingest: {} alerts acknowledged in {:.2} s ({:.0} alerts/s), batch ack p50 {} ms p99 {} ms, {} retries",
            self.n,
            self.ingest_secs,
            self.n as f64 / self.ingest_secs.max(1e-9),
            median(&self.batch_ms),
            percentile(&self.batch_ms, 99.0),
            self.send_retries
        );
        let r = &self.rounds;
        println!(
            "  dispatcher: {} rounds touched these rows (one attempt time each), items per round median {} max {} (claim limit {})",
            r.count, r.median_items, r.max_items, SERVER_CLAIM_BATCH
        );
        let busy = median(&r.busy_ms) as f64 / 1000.0;
        println!(
            "  receivers: {} bursts, busy median {:.2} s (max {:.2} s), gap between bursts median {:.2} s",
            r.busy_ms.len(),
            busy,
            percentile(&r.busy_ms, 100.0) as f64 / 1000.0,
            median(&r.gap_ms) as f64 / 1000.0
        );
        println!(
            "  within a burst: {:.2} ms before each email (p99 {:.2}), {:.2} ms before each webhook (p99 {:.2}) [3]",
            median(&r.step_email_ms) as f64 / 1000.0,
            percentile(&r.step_email_ms, 99.0) as f64 / 1000.0,
            median(&r.step_webhook_ms) as f64 / 1000.0,
            percentile(&r.step_webhook_ms, 99.0) as f64 / 1000.0
        );
        if r.max_items > 0 && busy > 0.0 {
            println!(
                "  ceiling of this schedule: {} items / ({poll} s sleep + {busy:.2} s busy) = {:.1}/s; without the sleep after a full claim: {:.0}/s",
                r.max_items,
                r.max_items as f64 / (poll as f64 + busy),
                r.max_items as f64 / busy
            );
        }
        println!(
            "  CPU (% of one core over the leg): server {:.0}%, aiosmtpd {:.0}%, postgres {:.0}%",
            self.cpu_server_pct, self.cpu_smtp_pct, self.cpu_postgres_pct
        );
        println!("  [1] from the outbox rows: whole seconds; the server stamps every attempt of a round with the round's start");
        println!("  [2] receiver clocks: the alert's batch acknowledgement (its notifications were queued before) → arrival");
        println!("  [3] time between consecutive deliveries: the previous item's outbox write plus this item's send");
    }

    fn json(&self) -> serde_json::Value {
        let ch = |f: &ChannelFigures| {
            serde_json::json!({
                "received": f.check.received,
                "lost": f.check.lost,
                "duplicated": f.check.duplicated,
                "unknown": f.check.unknown,
                "span_secs": r2(f.span_secs),
                "per_sec": r2(f.per_sec),
                "outbox_p50_secs": percentile(&f.outbox_secs, 50.0),
                "outbox_p99_secs": percentile(&f.outbox_secs, 99.0),
                "arrival_p50_ms": percentile(&f.arrival_ms, 50.0),
                "arrival_p99_ms": percentile(&f.arrival_ms, 99.0),
                "attempts": f.attempts.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
                "failed_attempts": f.failures.iter().fold(BTreeMap::<String, usize>::new(), |mut m, ((code, _), n)| {
                    *m.entry(code.clone()).or_insert(0) += n;
                    m
                }),
            })
        };
        serde_json::json!({
            "leg": self.name,
            "alerts": self.n,
            "timed_out": self.timed_out,
            "outage_secs": self.outage.map(|(d, u)| r2(u - d)),
            "ingest_secs": r2(self.ingest_secs),
            "span_secs": r2(self.span_secs),
            "per_sec": r2((self.webhook.check.received + self.email.check.received) as f64 / self.span_secs.max(1e-9)),
            "webhook": ch(&self.webhook),
            "email": ch(&self.email),
            "rounds": self.rounds.count,
            "round_max_items": self.rounds.max_items,
            "round_busy_median_ms": median(&self.rounds.busy_ms),
            "round_gap_median_ms": median(&self.rounds.gap_ms),
            "step_email_median_us": median(&self.rounds.step_email_ms),
            "step_webhook_median_us": median(&self.rounds.step_webhook_ms),
            "cpu_server_pct": r2(self.cpu_server_pct),
            "cpu_smtp_pct": r2(self.cpu_smtp_pct),
            "cpu_postgres_pct": r2(self.cpu_postgres_pct),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_their_alert() {
        assert_eq!(
            marker_index(b"New tcp port 1025 (vbnotify-1234)"),
            Some(1234)
        );
        assert_eq!(
            marker_index(br#"{"process":"vbnotify-7","exe":"/opt/bench/vbnotify-7"}"#),
            Some(7)
        );
        assert_eq!(marker_index(b"vbnotify-"), None);
        assert_eq!(marker_index(b"nothing here"), None);
    }

    #[test]
    fn alert_events_raise_one_alert_each_with_their_marker() {
        let events: Vec<Event> = (0..50).map(|i| alert_event(i, 10, 1000)).collect();
        let alerts = vigil_detect::asset_rules::evaluate(
            &events,
            &vigil_content::Content::embedded().assets,
        );
        assert_eq!(alerts.len(), 50);
        for (i, a) in alerts.iter().enumerate() {
            assert_eq!(marker_index(a.name.as_bytes()), Some(i));
        }
        // Per host (i mod 10), every key differs.
        let mut keys: Vec<(usize, &str)> = alerts
            .iter()
            .enumerate()
            .map(|(i, a)| (i % 10, a.key.as_str()))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 50);
    }

    #[test]
    fn once_check_counts_lost_duplicated_unknown() {
        let hits = vec![
            (Some(10), 1.0),
            (Some(11), 1.0),
            (Some(11), 2.0),
            (None, 3.0),
            (Some(99), 3.0),
        ];
        let c = check_once(&hits, 10, 3);
        assert_eq!(
            c,
            OnceCheck {
                received: 3,
                lost: 1,
                duplicated: 1,
                unknown: 1
            }
        );
        assert!(!c.ok());
        assert!(check_once(&[(Some(0), 0.0)], 0, 1).ok());
    }

    #[test]
    fn rounds_split_on_gaps() {
        // Two bursts of three, 2 s apart; emails 10 ms apart, webhooks 1 ms.
        let all = vec![
            (100.000, false),
            (100.010, true),
            (100.011, false),
            (102.011, true),
            (102.012, false),
            (102.022, true),
        ];
        let r = analyse_rounds(&all, vec![3, 3]);
        assert_eq!(r.busy_ms.len(), 2);
        assert_eq!(r.gap_ms, vec![2000]);
        assert_eq!(r.step_email_ms.len(), 2);
        assert_eq!(r.step_webhook_ms.len(), 2);
        assert_eq!((r.count, r.max_items, r.median_items), (2, 3, 3));
    }
}
