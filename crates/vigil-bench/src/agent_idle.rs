//! `vigil-bench agent-idle`: what a real agent costs its host when nothing happens. A
//! `vigil up --no-agent` child serves; `vigil agent install --no-service` enrolls; `vigil agent
//! run` is sampled from `/proc` once a second after its start-up.

use crate::procfs;
use crate::util::{create_install_code, json_line, mib, r2, start_server_child, ChildGuard};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const GOAL_RSS_MB: f64 = 15.0;
const GOAL_CPU_PCT: f64 = 0.5;
/// Wazuh agent's documented memory use, for reference.
const WAZUH_RSS_MB: f64 = 35.0;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How long to sample the agent, once a second.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Start-up time left to the agent before sampling.
    #[arg(long, default_value_t = 10)]
    warmup: u64,
    /// The vigil binary [default: `vigil` beside this binary, i.e. target/release/vigil]
    #[arg(long)]
    vigil: Option<PathBuf>,
}

pub async fn run(args: Args) -> Result<()> {
    if args.seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    let vigil = args
        .vigil
        .clone()
        .unwrap_or_else(crate::default_vigil_binary);
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-agent-")
        .tempdir()?;
    let server =
        start_server_child(&vigil, &["up", "--no-agent"], &tmp.path().join("server")).await?;
    println!(
        "agent-idle: `vigil up --no-agent` pid {}, agents connect to {}",
        server.guard.pid, server.agent_url
    );
    let code = create_install_code(&server.api, &server.token, "bench").await?;

    let agent_dir = tmp.path().join("agent");
    let install = Command::new(&vigil)
        .args([
            "agent",
            "install",
            "--server",
            &server.agent_url,
            "--code",
            &code,
        ])
        .args([
            "--ca-fingerprint",
            &server.ca_fingerprint,
            "--no-service",
            "--data",
        ])
        .arg(&agent_dir)
        .kill_on_drop(true)
        .output();
    let install = tokio::time::timeout(Duration::from_secs(60), install)
        .await
        .context("`vigil agent install` did not finish within 60 s")?
        .context("running `vigil agent install`")?;
    if !install.status.success() {
        bail!(
            "`vigil agent install` failed ({}): {}{}",
            install.status,
            String::from_utf8_lossy(&install.stdout),
            String::from_utf8_lossy(&install.stderr)
        );
    }
    let installed = String::from_utf8_lossy(&install.stdout);
    println!(
        "agent-idle: {}",
        installed.lines().next().unwrap_or("enrolled")
    );

    let mut cmd = Command::new(&vigil);
    cmd.args(["agent", "run", "--data"]).arg(&agent_dir);
    let mut agent = ChildGuard::spawn(
        cmd,
        "`vigil agent run`",
        &tmp.path().join("agent.stderr.log"),
    )?;
    if let Some(out) = agent.child().stdout.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(_)) = lines.next_line().await {}
        });
    }
    let pid = agent.pid;
    println!(
        "agent-idle: `vigil agent run` pid {pid}; start-up {} s, then sampling VmRSS and CPU every second for {} s",
        args.warmup, args.seconds
    );
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    agent.check_alive()?;

    let mut rss = Vec::new();
    let mut max_sec_pct = 0.0f64;
    let cpu0 = procfs::cpu_ticks(pid).context("reading the agent's CPU time")?;
    let t0 = Instant::now();
    let mut prev = (cpu0, t0);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    for _ in 0..args.seconds {
        tick.tick().await;
        agent.check_alive()?;
        let now = Instant::now();
        let ticks = procfs::cpu_ticks(pid).context("reading the agent's CPU time")?;
        rss.push(procfs::rss_kb(pid).context("reading the agent's VmRSS")?);
        let pct =
            (ticks - prev.0) as f64 / procfs::TICKS_PER_SEC * 100.0 / (now - prev.1).as_secs_f64();
        max_sec_pct = max_sec_pct.max(pct);
        prev = (ticks, now);
    }
    let cpu_pct =
        (prev.0 - cpu0) as f64 / procfs::TICKS_PER_SEC * 100.0 / (prev.1 - t0).as_secs_f64();
    let cpu_secs = (prev.0 - cpu0) as f64 / procfs::TICKS_PER_SEC;
    let min = mib(rss.iter().copied().min().unwrap_or(0));
    let max = mib(rss.iter().copied().max().unwrap_or(0));
    let avg = mib(rss.iter().sum::<u64>() / rss.len().max(1) as u64);
    let hwm = mib(procfs::status_kb(pid, "VmHWM").unwrap_or(0));

    // The server should see the host online.
    let hosts = crate::util::api_client(&server.api, &server.token)
        .hosts(&Default::default())
        .await?;
    let host_state = hosts
        .hosts
        .first()
        .map(|h| {
            format!(
                "{} {} ({})",
                h.id,
                h.state.as_str(),
                if h.inventory_at.is_some() {
                    "fingerprints received"
                } else {
                    "no fingerprints yet"
                }
            )
        })
        .unwrap_or_else(|| "no host listed".into());

    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    row(
        "RSS min / avg / max",
        format!(
            "{min:.1} / {avg:.1} / {max:.1} MiB   (goal <= {GOAL_RSS_MB} MB: {}; Wazuh agent documents {WAZUH_RSS_MB} MB)",
            verdict(max <= GOAL_RSS_MB)
        ),
    );
    row(
        "peak RSS (VmHWM)",
        format!("{hwm:.1} MiB (includes start-up)"),
    );
    row(
        "CPU average",
        format!(
            "{cpu_pct:.2}% of one core   (goal <= {GOAL_CPU_PCT}%: {})",
            verdict(cpu_pct <= GOAL_CPU_PCT)
        ),
    );
    row(
        "CPU detail",
        format!(
            "{cpu_secs:.2} s CPU in {:.0} s; busiest second {max_sec_pct:.0}%",
            (prev.1 - t0).as_secs_f64()
        ),
    );
    row("server sees host", host_state);
    let json = serde_json::json!({
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "rss_min_mib": r2(min),
        "rss_avg_mib": r2(avg),
        "rss_max_mib": r2(max),
        "rss_hwm_mib": r2(hwm),
        "cpu_pct": r2(cpu_pct),
        "cpu_busiest_second_pct": r2(max_sec_pct),
        "goal_rss_mb": GOAL_RSS_MB,
        "goal_cpu_pct": GOAL_CPU_PCT,
        "goal_met": max <= GOAL_RSS_MB && cpu_pct <= GOAL_CPU_PCT,
        "wazuh_agent_rss_mb": WAZUH_RSS_MB,
    });
    println!("{}", json_line("agent-idle", json));
    drop(agent);
    drop(server);
    Ok(())
}

fn row(label: &str, value: impl std::fmt::Display) {
    println!("agent-idle: {label:<22} {value}");
}
