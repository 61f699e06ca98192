//! `vigil-bench server-rss`: a `vigil server` child with N agents connected at once, each on its
//! own keep-alive TLS connection (its own HTTP client) and heartbeating like a real agent; the
//! server's resident memory and CPU come from `/proc/PID/{status,stat}`.

use crate::events::os_info;
use crate::procfs;
use crate::util::{
    check_fd_limit, create_install_code, json_line, mib, percentile, r2, start_server_child,
};
use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use vigil_agent::client::{pinned_client, signed_post, CallError};
use vigil_proto::agent::{EnrollRequest, EnrollResponse, Heartbeat, PATH_ENROLL, PATH_HEARTBEAT};
use vigil_proto::auth::AgentKey;
use vigil_proto::{codec, PROTO_VERSION};

const ENROLL_CONCURRENCY: usize = 32;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Agents connected at once, each with its own keep-alive TLS connection.
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// How long to watch the server once every agent is connected.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds between an agent's heartbeats (the server's default cadence is 10).
    #[arg(long, default_value_t = 10)]
    heartbeat_secs: u64,
    /// The vigil binary [default: `vigil` beside this binary, i.e. target/release/vigil]
    #[arg(long)]
    vigil: Option<PathBuf>,
}

#[derive(Default)]
struct AgentStats {
    ok: u64,
    failed: u64,
    last_error: Option<String>,
    latencies_us: Vec<u64>,
}

pub async fn run(args: Args) -> Result<()> {
    if args.agents == 0 || args.seconds == 0 || args.heartbeat_secs == 0 {
        bail!("--agents, --seconds and --heartbeat-secs must be at least 1");
    }
    // The bench holds one socket per agent, and so does the server (same limit, inherited).
    check_fd_limit(args.agents as u64 + 256)?;
    let vigil = args
        .vigil
        .clone()
        .unwrap_or_else(crate::default_vigil_binary);
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-rss-")
        .tempdir()?;
    let data = tmp.path().join("data");
    let mut server = start_server_child(&vigil, &["server"], &data).await?;
    let pid = server.guard.pid;
    println!(
        "server-rss: `{} server` pid {pid}, agents connect to {}",
        vigil.display(),
        server.agent_url
    );

    tokio::time::sleep(Duration::from_secs(3)).await;
    server.guard.check_alive()?;
    let idle_kb = procfs::rss_kb(pid).context("reading the server's VmRSS")?;
    println!("server-rss: RSS idle (no agents): {:.1} MiB", mib(idle_kb));

    let code = create_install_code(&server.api, &server.token, "bench").await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let enrolled = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(Semaphore::new(ENROLL_CONCURRENCY));
    let mut tasks = JoinSet::new();
    let enroll_cpu0 = procfs::cpu_ticks(pid).unwrap_or(0);
    let t_enroll = Instant::now();
    for idx in 0..args.agents {
        tasks.spawn(agent(
            idx,
            server.agent_url.clone(),
            server.ca_fingerprint.clone(),
            code.clone(),
            limit.clone(),
            enrolled.clone(),
            stop_rx.clone(),
            Duration::from_secs(args.heartbeat_secs),
        ));
    }
    // Wait for every agent to be enrolled and connected.
    while enrolled.load(Ordering::Relaxed) < args.agents {
        if let Some(done) = tasks.try_join_next() {
            done.map_err(|e| anyhow!("an agent task failed: {e}"))??;
        }
        server.guard.check_alive()?;
        if t_enroll.elapsed() > Duration::from_secs(600) {
            bail!(
                "only {} of {} agents enrolled in 10 minutes",
                enrolled.load(Ordering::Relaxed),
                args.agents
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let enroll_secs = t_enroll.elapsed().as_secs_f64();
    let enroll_cpu = procfs::cpu_ticks(pid)
        .unwrap_or(0)
        .saturating_sub(enroll_cpu0);
    println!(
        "server-rss: {} agents enrolled in {enroll_secs:.1} s (server CPU {:.0}% of one core meanwhile); watching for {} s",
        args.agents,
        enroll_cpu as f64 / procfs::TICKS_PER_SEC * 100.0 / enroll_secs,
        args.seconds
    );

    // Watch the server with everyone connected.
    let cpu0 = procfs::cpu_ticks(pid).context("reading the server's CPU time")?;
    let t0 = Instant::now();
    let mut max_kb = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for _ in 0..args.seconds {
        tick.tick().await;
        server.guard.check_alive()?;
        max_kb = max_kb.max(procfs::rss_kb(pid).unwrap_or(0));
    }
    tick.tick().await;
    let final_kb = procfs::rss_kb(pid).unwrap_or(0);
    max_kb = max_kb.max(final_kb);
    let cpu_pct = (procfs::cpu_ticks(pid).unwrap_or(cpu0) - cpu0) as f64 / procfs::TICKS_PER_SEC
        * 100.0
        / t0.elapsed().as_secs_f64();
    let hwm_kb = procfs::status_kb(pid, "VmHWM").unwrap_or(0);
    let (fds, sockets) = procfs::fd_counts(pid).unwrap_or((0, 0));

    let _ = stop_tx.send(true);
    let mut stats = AgentStats::default();
    let gather = async {
        while let Some(r) = tasks.join_next().await {
            if let Ok(Ok(s)) = r {
                stats.ok += s.ok;
                stats.failed += s.failed;
                stats.latencies_us.extend(s.latencies_us);
                if s.last_error.is_some() {
                    stats.last_error = s.last_error;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), gather).await;
    stats.latencies_us.sort_unstable();
    let p50 = percentile(&stats.latencies_us, 50.0) as f64 / 1000.0;
    let p99 = percentile(&stats.latencies_us, 99.0) as f64 / 1000.0;
    let per_agent_kb = final_kb.saturating_sub(idle_kb) as f64 / args.agents as f64;

    let rss_label = format!("RSS, {} agents connected", args.agents);
    let cpu_label = format!("server CPU, {} agents", args.agents);
    row("RSS idle (no agents)", format!("{:.1} MiB", mib(idle_kb)));
    row(
        &rss_label,
        format!(
            "max {:.1} MiB, final {:.1} MiB  (+{per_agent_kb:.0} KiB per agent over idle)",
            mib(max_kb),
            mib(final_kb)
        ),
    );
    row(
        "peak RSS (VmHWM)",
        format!("{:.1} MiB (includes enrollment)", mib(hwm_kb)),
    );
    row(
        &cpu_label,
        format!(
            "{cpu_pct:.1}% of one core over {} s (heartbeat every {} s = {:.0}/s)",
            args.seconds,
            args.heartbeat_secs,
            args.agents as f64 / args.heartbeat_secs as f64
        ),
    );
    row(
        "server descriptors",
        format!("{fds} open, {sockets} sockets"),
    );
    row(
        "heartbeats",
        format!(
            "{} ok, {} failed, latency p50 {p50:.1} ms, p99 {p99:.1} ms",
            stats.ok, stats.failed
        ),
    );
    if let Some(e) = &stats.last_error {
        row("last heartbeat error", e);
    }
    let json = serde_json::json!({
        "agents": args.agents,
        "seconds": args.seconds,
        "heartbeat_secs": args.heartbeat_secs,
        "rss_idle_mib": r2(mib(idle_kb)),
        "rss_connected_max_mib": r2(mib(max_kb)),
        "rss_connected_final_mib": r2(mib(final_kb)),
        "rss_hwm_mib": r2(mib(hwm_kb)),
        "kib_per_agent": r2(per_agent_kb),
        "cpu_pct": r2(cpu_pct),
        "enroll_seconds": r2(enroll_secs),
        "server_sockets": sockets,
        "heartbeats_ok": stats.ok,
        "heartbeats_failed": stats.failed,
        "heartbeat_p50_ms": r2(p50),
        "heartbeat_p99_ms": r2(p99),
    });
    println!("{}", json_line("server-rss", json));
    if stats.failed > 0 {
        bail!("{} heartbeats failed", stats.failed);
    }
    Ok(())
}

/// One agent: its own HTTP client (so its own keep-alive connection), enrollment, then a
/// heartbeat every `every` until told to stop.
#[allow(clippy::too_many_arguments)]
async fn agent(
    idx: usize,
    url: String,
    fp: String,
    code: String,
    limit: Arc<Semaphore>,
    enrolled: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
    every: Duration,
) -> Result<AgentStats> {
    let http = pinned_client(&fp)?;
    let key = AgentKey::generate();
    let host_id = {
        let _permit = limit.acquire().await?;
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
        serde_json::from_slice::<EnrollResponse>(&resp)
            .context("enrollment answer")?
            .host_id
    };
    let mut stats = AgentStats::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut counted = false;
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            _ = tick.tick() => {
                let hb = Heartbeat { agent_version: vigil_agent::VERSION.to_string(), ..Default::default() };
                let t = Instant::now();
                match signed_post(&http, &url, PATH_HEARTBEAT, &host_id, &key, codec::encode(&hb)).await {
                    Ok(_) => {
                        stats.ok += 1;
                        stats.latencies_us.push(t.elapsed().as_micros() as u64);
                    }
                    Err(e) => {
                        stats.failed += 1;
                        stats.last_error = Some(e.to_string());
                        if matches!(e, CallError::Identity(_)) {
                            break;
                        }
                    }
                }
                // Connected: enrolled and one heartbeat answered on the same connection.
                if !counted {
                    counted = true;
                    enrolled.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    if !counted {
        enrolled.fetch_add(1, Ordering::Relaxed);
    }
    Ok(stats)
}

/// Resolves once `rx` turns true (or its sender is gone), holding no borrow of the value.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn row(label: &str, value: impl std::fmt::Display) {
    println!("server-rss: {label:<30} {value}");
}
