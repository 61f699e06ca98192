//! `vigil-bench ingest`: event batches from many simulated agents through the real server.
//!
//! The server runs in this process on its own runtime (threads named `vigil-srv`), on a fresh
//! SQLite file or PostgreSQL schema. The simulated agents run on a second runtime (`bench-cli`)
//! and speak the real protocol: enrollment with an install code made through the REST API, one
//! Ed25519 key per agent, signed gzip-JSON batches over TLS pinned to the server's CA. They
//! share a few keep-alive connections (as behind a relay), each agent with one batch in flight
//! at most and sequence numbers 1, 2, 3… Only batches acknowledged with `stored: true` count,
//! and the total is checked against the store at the end.

use crate::events::{batch_events, os_info};
use crate::procfs;
use crate::util::{create_install_code, json_line, percentile, r2, until_interrupted};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use vigil_agent::client::{pinned_client, signed_post, unix_now, CallError};
use vigil_proto::agent::{
    BatchAck, EnrollRequest, EnrollResponse, EventBatch, PATH_ENROLL, PATH_EVENTS,
};
use vigil_proto::auth::{self, AgentKey};
use vigil_proto::{codec, MAX_INFLATED_BYTES, PROTO_VERSION};
use vigil_server::{Clock, RunningServer, ServerConfig, SystemClock};
use vigil_store::{EventRow, IngestPlan, Ingested, Store};

/// The goal on a 2-core machine, for each backend.
const GOAL_EVENTS_PER_SEC: f64 = 50_000.0;
/// Enrollments in flight at once.
const ENROLL_CONCURRENCY: usize = 32;
const SERVER_THREADS: &str = "vigil-srv";
const CLIENT_THREADS: &str = "bench-cli";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Storage backend: a SQLite file in a temporary directory, or a fresh schema in the
    /// PostgreSQL at VIGIL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, value_enum)]
    db: Db,
    /// Simulated agents, each enrolled with its own key.
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// How long the agents send.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Events per batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Keep-alive TLS connections the agents share (one HTTP client each); at most this many
    /// batches are in flight.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Skip the per-stage cost breakdown printed after the run.
    #[arg(long)]
    no_breakdown: bool,
}

/// Builds the two runtimes and runs the bench; the server runtime outlives the agents'.
pub fn main(args: Args) -> Result<()> {
    if args.agents == 0 || args.batch == 0 || args.connections == 0 || args.seconds == 0 {
        bail!("--agents, --batch, --connections and --seconds must be at least 1");
    }
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(SERVER_THREADS)
        // Blocking-pool threads (SQLite calls) stay alive so their CPU time is still counted
        // when the run ends.
        .thread_keep_alive(Duration::from_secs(3600))
        .build()
        .context("starting the server runtime")?;
    let client_rt: Runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .thread_name(CLIENT_THREADS)
        .build()
        .context("starting the agents' runtime")?;
    let srv = server_rt.handle().clone();
    let outcome = client_rt.block_on(until_interrupted(run(args, srv)));
    client_rt.shutdown_timeout(Duration::from_secs(2));
    server_rt.shutdown_timeout(Duration::from_secs(2));
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

async fn run(args: Args, srv: Handle) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-ingest-")
        .tempdir()?;
    let (url, schema) = match args.db {
        Db::Sqlite => (
            format!("sqlite://{}", tmp.path().join("vigil.db").display()),
            None,
        ),
        Db::Postgres => {
            check_postgres().await?;
            let schema = on_server(&srv, async {
                Ok(vigil_store::testing::fresh_postgres_schema().await)
            })
            .await?;
            println!(
                "ingest (postgres): fresh schema {} in {}",
                schema.name,
                vigil_store::testing::postgres_base_url()
            );
            (schema.url.clone(), Some(schema))
        }
    };
    let outcome = bench(&args, &srv, &url, tmp.path().to_path_buf()).await;
    if let Some(schema) = schema {
        let name = schema.name.clone();
        let dropped = on_server(&srv, async move {
            vigil_store::testing::drop_schema(&schema).await;
            Ok(())
        })
        .await;
        match dropped {
            Ok(()) => println!("ingest (postgres): schema {name} dropped"),
            Err(e) => eprintln!("ingest (postgres): schema {name} was not dropped: {e:#}"),
        }
    }
    outcome
}

/// Fails loudly, with the URL, when PostgreSQL cannot be reached.
pub(crate) async fn check_postgres() -> Result<()> {
    let base = vigil_store::testing::postgres_base_url();
    match tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(&base, tokio_postgres::NoTls)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => bail!(
            "PostgreSQL at {base} is unreachable: {:#} (set VIGIL_TEST_PG_URL to another server)",
            anyhow::Error::new(e)
        ),
        Err(_) => bail!("PostgreSQL at {base} did not answer within 10 s (set VIGIL_TEST_PG_URL to another server)"),
    }
}

/// One simulated host.
struct SimAgent {
    idx: usize,
    host_id: String,
    key: AgentKey,
    /// Last sequence number acknowledged.
    seq: u64,
}

#[derive(Default)]
struct WorkerStats {
    batches: u64,
    events: u64,
    duplicates: u64,
    retries: u64,
    last_error: Option<String>,
    latencies_us: Vec<u64>,
    encode_ns: u128,
}

struct Started {
    store: Arc<dyn Store>,
    running: RunningServer,
    token: String,
}

async fn start_server(url: String, data_dir: PathBuf) -> Result<Started> {
    let store = vigil_store::open(&url)
        .await
        .with_context(|| format!("opening {url}"))?;
    let mut cfg = ServerConfig::new(data_dir.clone());
    cfg.api_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.agent_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let running = vigil_server::start(cfg, store.clone(), Arc::new(SystemClock)).await?;
    let creds = vigil_server::bootstrap_admin(store.as_ref(), &data_dir, SystemClock.now())
        .await?
        .context("the fresh store already had an operator")?;
    Ok(Started {
        store,
        running,
        token: creds.api_token,
    })
}

async fn bench(args: &Args, srv: &Handle, url: &str, data_dir: PathBuf) -> Result<()> {
    let db = args.db.name();
    let Started {
        store,
        running,
        token,
    } = on_server(srv, start_server(url.to_string(), data_dir)).await?;
    let fp = running.ca_fingerprint.clone();
    let server_url = format!("https://{}", running.agent_addr);
    let api = format!("http://{}", running.api_addr);
    println!(
        "ingest ({db}): server on {server_url} (API {api}), {} cores, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        procfs::cpu_model()
    );

    let result = measure(args, srv, store.clone(), &api, &token, &server_url, &fp).await;
    let stop = on_server(srv, async move {
        running.stop().await;
        Ok(())
    });
    let _ = tokio::time::timeout(Duration::from_secs(10), stop).await;
    result
}

async fn measure(
    args: &Args,
    srv: &Handle,
    store: Arc<dyn Store>,
    api: &str,
    token: &str,
    server_url: &str,
    fp: &str,
) -> Result<()> {
    let db = args.db.name();
    let code = create_install_code(api, token, "bench").await?;

    // Enrollment: every agent its own key, signed, over real TLS.
    let t = Instant::now();
    let agents = enroll_all(args.agents, server_url, &code, fp).await?;
    let enroll_secs = t.elapsed().as_secs_f64();
    println!(
        "ingest ({db}): {} agents enrolled with one install code in {:.1} s ({:.0}/s)",
        agents.len(),
        enroll_secs,
        agents.len() as f64 / enroll_secs
    );

    // Sending.
    println!(
        "ingest ({db}): {} agents send {}-event batches for {} s over {} shared keep-alive TLS connections",
        agents.len(),
        args.batch,
        args.seconds,
        args.connections
    );
    let queue = Arc::new(Mutex::new(agents.into_iter().collect::<VecDeque<_>>()));
    let cpu0 = CpuSnapshot::take();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let mut workers = JoinSet::new();
    for _ in 0..args.connections {
        let http = pinned_client(fp)?;
        workers.spawn(send_worker(
            http,
            server_url.to_string(),
            queue.clone(),
            deadline,
            args.batch,
        ));
    }
    let mut stats = WorkerStats::default();
    let mut fatal = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(w)) => {
                stats.batches += w.batches;
                stats.events += w.events;
                stats.duplicates += w.duplicates;
                stats.retries += w.retries;
                stats.encode_ns += w.encode_ns;
                stats.latencies_us.extend(w.latencies_us);
                if w.last_error.is_some() {
                    stats.last_error = w.last_error;
                }
            }
            Ok(Err(e)) => fatal = Some(e),
            Err(e) => fatal = Some(anyhow!("a sending task failed: {e}")),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = CpuSnapshot::take().since(&cpu0);
    if let Some(e) = fatal {
        return Err(e.context("the server refused the simulated agents"));
    }
    stats.latencies_us.sort_unstable();
    let p50 = percentile(&stats.latencies_us, 50.0) as f64 / 1000.0;
    let p99 = percentile(&stats.latencies_us, 99.0) as f64 / 1000.0;
    let rate = stats.events as f64 / elapsed;

    // Verification through the store.
    let counted = {
        let store = store.clone();
        on_server(srv, async move { Ok(store.event_count(None).await?) }).await?
    };
    let verified = counted == stats.events as i64;

    println!("agents:                {}", args.agents);
    println!("connections:           {}", args.connections);
    println!("batches acknowledged:  {} (stored: true)", stats.batches);
    println!("events committed:      {}", stats.events);
    println!("elapsed:               {elapsed:.2} s");
    println!(
        "events/s:              {rate:.0}   (goal >= {GOAL_EVENTS_PER_SEC:.0}: {})",
        if rate >= GOAL_EVENTS_PER_SEC {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "batch latency:         p50 {p50:.1} ms   p99 {p99:.1} ms   (request sent → ack received)"
    );
    println!(
        "retries / duplicates:  {} / {}",
        stats.retries, stats.duplicates
    );
    if let Some(e) = &stats.last_error {
        println!("last error:            {e}");
    }
    let srv_pct = cpu.pct(cpu.server);
    let cli_pct = cpu.pct(cpu.process.saturating_sub(cpu.server));
    let pg_pct = cpu.pct(cpu.postgres);
    println!(
        "CPU (% of one core):   server {srv_pct:.0}%, simulated agents {cli_pct:.0}%, postgres processes {pg_pct:.0}%, machine busy {:.0}% of {} cores",
        cpu.machine_busy_pct, cpu.cores
    );
    println!("                       (the simulated agents share these cores; a real server does not pay their part)");
    let srv_us_per_event = cpu.server as f64 * 10_000.0 / stats.events.max(1) as f64;
    let pg_us_per_event = cpu.postgres as f64 * 10_000.0 / stats.events.max(1) as f64;
    println!(
        "CPU per event:         server {srv_us_per_event:.1} µs, postgres {pg_us_per_event:.1} µs, agent-side encode {:.1} µs",
        stats.encode_ns as f64 / 1000.0 / stats.events.max(1) as f64
    );
    if verified {
        println!(
            "verify:                store event_count(None) = {counted} = acknowledged {}: OK",
            stats.events
        );
    } else {
        println!(
            "verify:                MISMATCH: store event_count(None) = {counted}, acknowledged {}",
            stats.events
        );
    }

    let breakdown = if args.no_breakdown || !verified {
        serde_json::Value::Null
    } else {
        breakdown(args, srv, store, queue).await?
    };

    let json = serde_json::json!({
        "db": db,
        "agents": args.agents,
        "connections": args.connections,
        "batch": args.batch,
        "seconds": r2(elapsed),
        "enroll_seconds": r2(enroll_secs),
        "batches": stats.batches,
        "events": stats.events,
        "events_per_sec": rate.round(),
        "goal_events_per_sec": GOAL_EVENTS_PER_SEC,
        "goal_met": rate >= GOAL_EVENTS_PER_SEC,
        "p50_ms": r2(p50),
        "p99_ms": r2(p99),
        "retries": stats.retries,
        "duplicates": stats.duplicates,
        "cpu_server_pct": r2(srv_pct),
        "cpu_agents_pct": r2(cli_pct),
        "cpu_postgres_pct": r2(pg_pct),
        "server_cpu_us_per_event": r2(srv_us_per_event),
        "store_event_count": counted,
        "verified": verified,
        "breakdown": breakdown,
    });
    println!("{}", json_line("ingest", json));
    if !verified {
        bail!(
            "MISMATCH: the store holds {counted} events but {} were acknowledged as stored",
            stats.events
        );
    }
    Ok(())
}

async fn enroll_all(n: usize, server_url: &str, code: &str, fp: &str) -> Result<Vec<SimAgent>> {
    let http = pinned_client(fp)?;
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
                hostname: format!("bench-{idx:05}"),
                agent_version: vigil_agent::VERSION.to_string(),
                os: os_info(idx),
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

/// One keep-alive connection: takes the agent at the head of the queue, sends its next batch,
/// puts it back at the tail, until the deadline.
async fn send_worker(
    http: reqwest::Client,
    server_url: String,
    queue: Arc<Mutex<VecDeque<SimAgent>>>,
    deadline: Instant,
    batch: usize,
) -> Result<WorkerStats> {
    let mut st = WorkerStats::default();
    while Instant::now() < deadline {
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let Some(mut agent) = next else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        let seq = agent.seq + 1;
        let t0 = Instant::now();
        let body = codec::encode(&EventBatch {
            seq,
            events: batch_events(agent.idx, seq, batch, unix_now()),
        });
        let t1 = Instant::now();
        st.encode_ns += (t1 - t0).as_nanos();
        match signed_post(
            &http,
            &server_url,
            PATH_EVENTS,
            &agent.host_id,
            &agent.key,
            body,
        )
        .await
        {
            Ok(resp) => match serde_json::from_slice::<BatchAck>(&resp) {
                Ok(ack) if ack.seq == seq => {
                    agent.seq = seq;
                    if ack.stored {
                        st.batches += 1;
                        st.events += batch as u64;
                        st.latencies_us.push(t1.elapsed().as_micros() as u64);
                    } else {
                        st.duplicates += 1;
                    }
                }
                other => {
                    st.retries += 1;
                    st.last_error = Some(format!(
                        "unexpected acknowledgement for seq {seq}: {other:?}"
                    ));
                }
            },
            Err(CallError::Retry(e)) => {
                st.retries += 1;
                st.last_error = Some(e);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => bail!("host {} batch {seq}: {e}", agent.host_id),
        }
        queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(agent);
    }
    Ok(st)
}

/// CPU counters around the sending phase, in clock ticks.
struct CpuSnapshot {
    at: Instant,
    process: u64,
    server: u64,
    postgres: u64,
    machine: (u64, u64),
}

struct CpuDelta {
    secs: f64,
    process: u64,
    server: u64,
    postgres: u64,
    machine_busy_pct: f64,
    cores: usize,
}

impl CpuSnapshot {
    fn take() -> CpuSnapshot {
        CpuSnapshot {
            at: Instant::now(),
            process: procfs::cpu_ticks(std::process::id()).unwrap_or(0),
            server: procfs::own_thread_ticks(SERVER_THREADS),
            postgres: procfs::processes_ticks("postgres"),
            machine: procfs::machine_ticks().unwrap_or((0, 0)),
        }
    }

    fn since(&self, before: &CpuSnapshot) -> CpuDelta {
        let busy = self.machine.0.saturating_sub(before.machine.0) as f64;
        let total = self.machine.1.saturating_sub(before.machine.1) as f64;
        CpuDelta {
            secs: (self.at - before.at).as_secs_f64(),
            process: self.process.saturating_sub(before.process),
            server: self.server.saturating_sub(before.server),
            postgres: self.postgres.saturating_sub(before.postgres),
            machine_busy_pct: if total > 0.0 {
                busy * 100.0 / total
            } else {
                0.0
            },
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

impl CpuDelta {
    /// Ticks as a percentage of one core over the interval.
    fn pct(&self, ticks: u64) -> f64 {
        ticks as f64 / procfs::TICKS_PER_SEC * 100.0 / self.secs.max(1e-9)
    }
}

/// Per-batch cost of each stage of the ingest path, measured apart: what the server spends on
/// signature checks, decoding and detection, and what the store alone sustains.
async fn breakdown(
    args: &Args,
    srv: &Handle,
    store: Arc<dyn Store>,
    queue: Arc<Mutex<VecDeque<SimAgent>>>,
) -> Result<serde_json::Value> {
    let mut agents: Vec<SimAgent> = queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain(..)
        .collect();
    agents.sort_by_key(|a| a.idx);
    let batch = args.batch;
    const ROUNDS: u32 = 300;

    let agent = &agents[0];
    let now = unix_now();
    let time_us = |f: &mut dyn FnMut()| {
        f();
        let t = Instant::now();
        for _ in 0..ROUNDS {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
    };
    let sample = EventBatch {
        seq: agent.seq + 1,
        events: batch_events(agent.idx, agent.seq + 1, batch, now),
    };
    let body = codec::encode(&sample);
    let sig = agent
        .key
        .sign("POST", PATH_EVENTS, &agent.host_id, now, &body);
    let public_key = agent.key.public_key().to_vec();

    let encode = time_us(&mut || {
        std::hint::black_box(codec::encode(&EventBatch {
            seq: 7,
            events: batch_events(agent.idx, 7, batch, now),
        }));
    });
    let sign = time_us(&mut || {
        std::hint::black_box(
            agent
                .key
                .sign("POST", PATH_EVENTS, &agent.host_id, now, &body),
        );
    });
    let verify = time_us(&mut || {
        let ok = auth::verify(
            &public_key,
            "POST",
            PATH_EVENTS,
            &agent.host_id,
            now,
            None,
            &sig,
            &body,
            now,
        );
        std::hint::black_box(ok.is_ok());
    });
    let mut decoded: Option<EventBatch> = None;
    let decode = time_us(&mut || {
        decoded = codec::decode::<EventBatch>(&body, MAX_INFLATED_BYTES).ok();
    });
    let decoded = decoded.context("the sample batch does not decode")?;
    let rows_of = |b: &EventBatch| -> Vec<EventRow> {
        b.events
            .iter()
            .map(|e| EventRow {
                time: e.time,
                kind: e.body.kind().to_string(),
                body: serde_json::to_string(&e.body).unwrap_or_default(),
            })
            .collect()
    };
    let rows = time_us(&mut || {
        std::hint::black_box(rows_of(&decoded));
    });
    let assets = vigil_content::Content::embedded().assets;
    let detect = time_us(&mut || {
        std::hint::black_box(vigil_detect::asset_rules::evaluate(
            &decoded.events,
            &assets,
        ));
    });

    // The store alone: one stream, then as many streams as connections, on distinct hosts.
    let streams = args.connections.min(agents.len());
    let plan: Vec<(String, u64)> = agents
        .iter()
        .take(streams)
        .map(|a| (a.host_id.clone(), a.seq))
        .collect();
    let rows_sample = rows_of(&decoded);
    let alerts_sample = vigil_detect::asset_rules::evaluate(&decoded.events, &assets);
    let one = {
        let (store, rows, alerts, (host, seq)) = (
            store.clone(),
            rows_sample.clone(),
            alerts_sample.clone(),
            plan[0].clone(),
        );
        on_server(srv, async move {
            store_stream(store, host, seq, 100, rows, alerts).await
        })
        .await?
    };
    let per_stream = 60usize;
    let t = Instant::now();
    let mut set = JoinSet::new();
    for (i, (host, seq)) in plan.iter().enumerate() {
        // Stream 0 already used 100 sequence numbers above.
        let seq = if i == 0 { seq + 100 } else { *seq };
        let (store, rows, alerts, host) = (
            store.clone(),
            rows_sample.clone(),
            alerts_sample.clone(),
            host.clone(),
        );
        set.spawn_on(
            store_stream(store, host, seq, per_stream, rows, alerts),
            srv,
        );
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| anyhow!("store stream failed: {e}"))??;
    }
    let many_secs = t.elapsed().as_secs_f64();
    let many_rate = (streams * per_stream * batch) as f64 / many_secs;
    let one_rate = (100 * batch) as f64 / one;

    let server_cpu = verify + decode + rows + detect;
    println!("breakdown (one {batch}-event batch, measured apart, single thread):");
    println!("  agent: build events + gzip JSON      {encode:>9.0} µs");
    println!("  agent: Ed25519 sign                  {sign:>9.0} µs");
    println!("  server: verify signature             {verify:>9.0} µs");
    println!("  server: decode (gunzip + JSON)       {decode:>9.0} µs");
    println!("  server: rows (re-serialize bodies)   {rows:>9.0} µs");
    println!("  server: detection rules              {detect:>9.0} µs");
    println!(
        "  server CPU above, per batch          {server_cpu:>9.0} µs  (= {:.0} events/s per core before TLS, HTTP and store)",
        batch as f64 * 1e6 / server_cpu
    );
    println!(
        "  store.ingest, 1 stream               {:>9.2} ms/batch  ({one_rate:.0} events/s)",
        one * 1000.0 / 100.0
    );
    println!(
        "  store.ingest, {streams} streams              {:>9.2} ms/batch  ({many_rate:.0} events/s)",
        many_secs * 1000.0 / per_stream as f64
    );
    Ok(serde_json::json!({
        "agent_encode_us": r2(encode),
        "agent_sign_us": r2(sign),
        "verify_us": r2(verify),
        "decode_us": r2(decode),
        "rows_us": r2(rows),
        "detect_us": r2(detect),
        "store_one_stream_events_per_sec": one_rate.round(),
        "store_streams": streams,
        "store_many_streams_events_per_sec": many_rate.round(),
    }))
}

/// Commits `n` batches for `host` after sequence number `after`; returns the seconds taken.
async fn store_stream(
    store: Arc<dyn Store>,
    host: String,
    after: u64,
    n: usize,
    rows: Vec<EventRow>,
    alerts: Vec<vigil_model::NewAlert>,
) -> Result<f64> {
    let alerts: Vec<_> = alerts.into_iter().map(|a| (a, None)).collect();
    let t = Instant::now();
    for i in 1..=n as i64 {
        let seq = after as i64 + i;
        let plan = IngestPlan::new(&host, seq, rows.clone(), alerts.clone(), unix_now());
        let out = store.ingest(plan).await?;
        if out != Ingested::Stored {
            bail!("store.ingest of {host} seq {seq} was not stored ({out:?})");
        }
    }
    Ok(t.elapsed().as_secs_f64())
}
