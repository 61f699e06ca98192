//! `vigil-bench block-latency`: the time from the failing log line that crosses the brute-force
//! limit being appended to a followed log until its source is in Vigil's nftables set. Runs the
//! agent's own login watch (follower, parsers, engine, firewall) at the agent's poll interval,
//! with nft inside a private network namespace.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_agent::firewall::Firewall;
use vigil_agent::logins::LoginWatch;

#[derive(Debug, clap::Args)]
pub struct BlockLatencyArgs {
    /// Attacking sources to measure, one after the other.
    #[arg(long, default_value_t = 50)]
    pub sources: u32,
    /// The login watch's poll interval (the agent's default is 200 ms).
    #[arg(long, default_value_t = 200)]
    pub poll_ms: u64,
}

/// A network namespace removed on drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(args: BlockLatencyArgs) -> Result<()> {
    let ns = Netns(format!("vigilbench{}", std::process::id()));
    let ok = Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .context("running ip (iproute2)")?;
    if !ok.success() {
        bail!("cannot create a network namespace (needs root and iproute2)");
    }
    let nft = vec![
        "ip".to_string(),
        "netns".into(),
        "exec".into(),
        ns.0.clone(),
        "nft".into(),
    ];
    let fw = Firewall::new(nft.clone());
    fw.ensure()
        .context("nft in the namespace (scripts/setup.sh installs nftables)")?;

    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "")?;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    let mut watch = LoginWatch::open(dir.path(), std::slice::from_ref(&log), fw.clone(), now());
    watch.poll(now());
    // The watch polls on its own thread, as the agent's runtime does.
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let poll = Duration::from_millis(args.poll_ms.max(1));
    let poller = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            watch.poll(now());
            std::thread::sleep(poll);
        }
        watch.stats()
    });

    let mut f = std::fs::OpenOptions::new().append(true).open(&log)?;
    let mut latencies = Vec::new();
    for n in 0..args.sources {
        let ip = format!("198.51.100.{}", n % 250 + 1);
        let ip = if n >= 250 {
            format!("2001:db8::{:x}", n)
        } else {
            ip
        };
        let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
        let mut burst = String::new();
        for i in 0..80 {
            burst.push_str(&format!(
                "{stamp} web1 sshd[4242]: Failed password for root from {ip} port {} ssh2\n",
                40_000 + i
            ));
        }
        f.write_all(burst.as_bytes())?;
        f.flush()?;
        // Let the watch take the 80 in, so the measured line is the one that crosses.
        std::thread::sleep(poll * 2);
        let line = format!(
            "{stamp} web1 sshd[4242]: Failed password for root from {ip} port 40080 ssh2\n"
        );
        let t0 = Instant::now();
        f.write_all(line.as_bytes())?;
        f.flush()?;
        let want = if ip.contains(':') {
            format!("{ip}/128")
        } else {
            format!("{ip}/32")
        };
        loop {
            if fw.list()?.iter().any(|b| b.target == want) {
                latencies.push(t0.elapsed());
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                bail!("{ip} was not blocked within 10 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        eprint!("\r{}/{} sources", n + 1, args.sources);
    }
    eprintln!();
    stop.store(true, Ordering::Relaxed);
    let stats = poller
        .join()
        .map_err(|_| anyhow::anyhow!("the watch thread panicked"))?;
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "block latency over {} sources (poll {} ms): p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal p99 < 1000 ms)",
        latencies.len(),
        args.poll_ms,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
    println!(
        "watch: {} lines, {} tries, {} blocks, {} failed blocks",
        stats.lines, stats.logins, stats.blocks, stats.block_failures
    );
    Ok(())
}
