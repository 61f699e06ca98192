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
use vigil_model::{Event, EventBody, Level, ListeningSocket, Protocol};
use vigil_notify::{ChannelConfig, ChannelKind, SmtpConfig, SmtpTls, WebhookShape};
use vigil_proto::agent::{
    BatchAck, EnrollRequest, EnrollResponse, EventBatch, PATH_ENROLL, PATH_EVENTS,
};
use vigil_proto::api::{CreateChannel, NotifySettings};
use vigil_proto::auth::AgentKey;
use vigil_proto::{codec, PROTO_VERSION};
use vigil_server::{Clock, RunningServer, ServerConfig, SystemClock};

mod agents;
mod legs;
mod outbox;
mod receivers;
mod report;
use agents::*;
use legs::*;
use outbox::*;
use receivers::*;

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
    let api = crate::util::api_client(&ctx.api, &ctx.token);
    api.put_notify_settings(&NotifySettings {
        utc_offset_minutes: 0,
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: smtp.port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "Vigil bench <vigil@bench.example.com>".into(),
            ca_cert_pem: None,
        }),
    })
    .await?;
    let channel = |name: &str, kind: ChannelKind| {
        let mut config = ChannelConfig::new(0, kind);
        config.levels = vec![Level::Reminder, Level::Suspicious, Level::Urgent];
        config.max_per_day = LIMIT_PER_DAY;
        config.max_per_host_per_day = LIMIT_PER_DAY;
        CreateChannel {
            name: name.into(),
            config,
        }
    };
    let webhook_id = api
        .create_channel(&channel(
            "bench webhook",
            ChannelKind::Webhook {
                url: format!("http://{hook_addr}/hook/s3cr3t-bench-token"),
                shape: WebhookShape::Generic,
            },
        ))
        .await?
        .id;
    let email_id = api
        .create_channel(&channel(
            "bench email",
            ChannelKind::Email {
                to: vec!["soc@bench.example.com".into()],
            },
        ))
        .await?
        .id;
    let n_channels = api.channels().await?.channels.len();
    if n_channels != 2 {
        bail!("the server lists {n_channels} notification channels, 2 were created");
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
