//! `vigil-bench dos`: a `vigil server` child under the unauthenticated attacks of the hardening
//! work, measured from outside: 2,000 slow and silent clients (how many it still holds after the
//! header deadline, and how long a real agent's batch and a console request take meanwhile),
//! 200 parallel wrong sign-ins (peak resident memory, and what a wrong password costs for a
//! known and an unknown user), and a flood of enrollments with gzip bombs (the `/healthz`
//! latency meanwhile). Run it against two binaries to compare them.

use crate::procfs;
use crate::util::{
    check_fd_limit, create_install_code, json_line, mib, percentile, start_server_child,
};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use vigil_agent::client::{pinned_client, signed_post, signed_post_with, CallError};
use vigil_model::{Event, EventBody, ListeningSocket};
use vigil_proto::agent::*;
use vigil_proto::auth::{AgentKey, HEADER_INSTALL_CODE};
use vigil_proto::{codec, PROTO_VERSION};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Slow clients held open at once (half silent on the agent port, half with unfinished
    /// headers on the console port), from 40 loopback addresses.
    #[arg(long, default_value_t = 2000)]
    slow: usize,
    /// Seconds to keep them before counting how many the server still holds.
    #[arg(long, default_value_t = 40)]
    hold_secs: u64,
    /// Wrong sign-ins sent at once, each from its own loopback address.
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// Enrollments with an unknown code and a gzip bomb for a body.
    #[arg(long, default_value_t = 400)]
    enrolls: usize,
    /// What each bomb inflates to, in MiB (it is a few KiB on the wire).
    #[arg(long, default_value_t = 16)]
    bomb_mib: usize,
    /// The vigil binary [default: `vigil` beside this binary, i.e. target/release/vigil]
    #[arg(long)]
    vigil: Option<PathBuf>,
}

async fn connect_from(src: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(src, 0))?;
    sock.connect(to).await
}

fn addr_of(url: &str) -> Result<SocketAddr> {
    let rest = url.split("://").nth(1).context("no scheme in the URL")?;
    Ok(rest.trim_end_matches('/').parse()?)
}

/// Whether the server has closed `c`: a read that returns at once with end of file or an error.
async fn is_closed(c: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(
            Duration::from_millis(1),
            tokio::io::AsyncReadExt::read(c, &mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn healthz_ms(http: &reqwest::Client, api: &str) -> Option<f64> {
    let t = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        http.get(format!("{api}/healthz")).send(),
    )
    .await;
    match r {
        Ok(Ok(resp)) if resp.status().is_success() => Some(t.elapsed().as_secs_f64() * 1e3),
        _ => None,
    }
}

fn enroll_body(code: &str, key: &AgentKey) -> Vec<u8> {
    codec::encode(&EnrollRequest {
        proto: PROTO_VERSION,
        code: code.into(),
        public_key: key.public_base64(),
        hostname: "bench-real".into(),
        agent_version: "0.1.0".into(),
        os: Default::default(),
    })
}

fn code_hash(code: &str) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(code.as_bytes()))
}

/// A real agent: enrolls, then sends one batch; the time of the batch.
async fn real_agent(agent_url: &str, fp: &str, code: &str) -> Result<(String, AgentKey)> {
    let http = pinned_client(fp)?;
    let key = AgentKey::generate();
    let extra = [(HEADER_INSTALL_CODE, code_hash(code))];
    let body = signed_post_with(
        &http,
        agent_url,
        PATH_ENROLL,
        "enroll",
        &key,
        enroll_body(code, &key),
        &extra,
    )
    .await
    .map_err(|e| anyhow::anyhow!("enroll: {e:?}"))?;
    let resp: EnrollResponse = serde_json::from_slice(&body)?;
    Ok((resp.host_id, key))
}

async fn send_batch(
    agent_url: &str,
    fp: &str,
    host: &str,
    key: &AgentKey,
    seq: u64,
) -> Result<f64> {
    let http = pinned_client(fp)?;
    let batch = EventBatch {
        seq,
        events: vec![Event {
            time: chrono::Utc::now().timestamp(),
            body: EventBody::PortOpened {
                socket: ListeningSocket {
                    address: "0.0.0.0".into(),
                    port: 40000 + seq as u16,
                    ..Default::default()
                },
            },
        }],
    };
    let t = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        signed_post(
            &http,
            agent_url,
            PATH_EVENTS,
            host,
            key,
            codec::encode(&batch),
        ),
    )
    .await;
    match r {
        Ok(Ok(_)) => Ok(t.elapsed().as_secs_f64() * 1e3),
        Ok(Err(e)) => bail!("the batch failed: {e:?}"),
        Err(_) => bail!("the batch got no answer within 60 s"),
    }
}

async fn sign_in(from: IpAddr, api: &str, user: &str) -> (u16, f64) {
    let http = match reqwest::Client::builder().local_address(from).build() {
        Ok(h) => h,
        Err(_) => return (0, 0.0),
    };
    let t = Instant::now();
    let status = http
        .post(format!("{api}/api/v1/login"))
        .json(&serde_json::json!({"username": user, "password": "certainly-wrong"}))
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, t.elapsed().as_secs_f64() * 1e3)
}

pub async fn run(args: Args) -> Result<()> {
    check_fd_limit(args.slow as u64 * 2 + args.logins as u64 + 512)?;
    let vigil = args
        .vigil
        .clone()
        .unwrap_or_else(crate::default_vigil_binary);
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-dos-")
        .tempdir()?;
    let data = tmp.path().join("data");
    let mut server = start_server_child(&vigil, &["server"], &data).await?;
    let pid = server.guard.pid;
    let api = server.api.clone();
    let http = reqwest::Client::new();
    println!("dos: `{} server` pid {pid}", vigil.display());
    let code = create_install_code(&api, &server.token, "bench").await?;
    let (host, key) = real_agent(&server.agent_url, &server.ca_fingerprint, &code).await?;
    let quiet_batch = send_batch(&server.agent_url, &server.ca_fingerprint, &host, &key, 1).await?;
    let quiet_health = healthz_ms(&http, &api).await.unwrap_or(f64::NAN);
    println!("dos: quiet: agent batch {quiet_batch:.1} ms, /healthz {quiet_health:.1} ms");

    // 1. Slow and silent clients.
    let agent_addr = addr_of(&server.agent_url)?;
    let api_addr = addr_of(&api)?;
    let mut held = Vec::with_capacity(args.slow);
    let mut failed_to_open = 0;
    for i in 0..args.slow {
        let src = IpAddr::from([127, 0, 1, 1 + (i % 40) as u8]);
        match connect_from(src, if i % 2 == 0 { agent_addr } else { api_addr }).await {
            Ok(mut c) => {
                if i % 2 == 1 {
                    let _ = c
                        .write_all(b"GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\n")
                        .await;
                }
                held.push(c);
            }
            Err(_) => failed_to_open += 1,
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let batch_ms = send_batch(&server.agent_url, &server.ca_fingerprint, &host, &key, 2).await;
    let t = Instant::now();
    let console = tokio::time::timeout(
        Duration::from_secs(60),
        http.get(format!("{api}/api/v1/hosts"))
            .bearer_auth(&server.token)
            .send(),
    )
    .await;
    let console_ms = match console {
        Ok(Ok(r)) if r.status().is_success() => Some(t.elapsed().as_secs_f64() * 1e3),
        _ => None,
    };
    let mut open_now = 0;
    for c in held.iter_mut() {
        if !is_closed(c).await {
            open_now += 1;
        }
    }
    let fmt = |v: Option<f64>| v.map_or("failed".to_string(), |ms| format!("{ms:.1} ms"));
    println!(
        "dos: {} slow clients ({} could not connect), {open_now} held right after: agent batch {}, console request {}",
        args.slow,
        failed_to_open,
        fmt(batch_ms.as_ref().ok().copied()),
        fmt(console_ms)
    );
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    let mut still = 0;
    for c in held.iter_mut() {
        if !is_closed(c).await {
            still += 1;
        }
    }
    println!(
        "dos: after {} s the server still holds {still} of them",
        args.hold_secs
    );
    drop(held);
    server.guard.check_alive()?;

    // 2. Parallel wrong sign-ins: memory and the cost of a wrong password.
    let rss0 = procfs::status_kb(pid, "VmHWM").unwrap_or(0);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..5u8 {
        known.push(
            sign_in(IpAddr::from([127, 0, 6, 1 + i]), &api, "admin")
                .await
                .1,
        );
        unknown.push(
            sign_in(IpAddr::from([127, 0, 7, 1 + i]), &api, "no-such-user")
                .await
                .1,
        );
    }
    known.sort_by(f64::total_cmp);
    unknown.sort_by(f64::total_cmp);
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..args.logins {
        let api = api.clone();
        let src = IpAddr::from([127, 0, 5 + (i / 250) as u8, 1 + (i % 250) as u8]);
        tasks.spawn(async move { sign_in(src, &api, "admin").await });
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut peak_during = 0;
    while !tasks.is_empty() {
        peak_during = peak_during.max(procfs::rss_kb(pid).unwrap_or(0));
        if let Ok(Some(r)) =
            tokio::time::timeout(Duration::from_millis(50), tasks.join_next()).await
        {
            *statuses.entry(r.map(|r| r.0).unwrap_or(0)).or_default() += 1;
        }
    }
    let login_secs = t.elapsed().as_secs_f64();
    let hwm = procfs::status_kb(pid, "VmHWM").unwrap_or(0);
    let rss_after = procfs::rss_kb(pid).unwrap_or(0);
    println!(
        "dos: {} parallel wrong sign-ins answered in {login_secs:.1} s ({statuses:?}); peak RSS {:.1} MiB (before {:.1}), RSS after {:.1} MiB",
        args.logins,
        mib(hwm),
        mib(rss0),
        mib(rss_after)
    );
    println!(
        "dos: a wrong password costs {:.0} ms for a known user, {:.0} ms for an unknown one (median of 5)",
        known[2], unknown[2]
    );
    server.guard.check_alive()?;

    // 3. An enrollment flood with gzip bombs, /healthz measured meanwhile.
    let bomb = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..args.bomb_mib {
            gz.write_all(&zeros)?;
        }
        gz.finish()?
    };
    let fp = server.ca_fingerprint.clone();
    let agent_url = server.agent_url.clone();
    let flood = tokio::spawn({
        let bomb = bomb.clone();
        async move {
            let limit = Arc::new(Semaphore::new(64));
            let http = pinned_client(&fp).expect("pinned client");
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..args.enrolls {
                let (http, url, bomb, limit) =
                    (http.clone(), agent_url.clone(), bomb.clone(), limit.clone());
                set.spawn(async move {
                    let _p = limit.acquire().await;
                    let key = AgentKey::generate();
                    let extra = [(HEADER_INSTALL_CODE, code_hash("not-a-code"))];
                    let r =
                        signed_post_with(&http, &url, PATH_ENROLL, "enroll", &key, bomb, &extra)
                            .await;
                    matches!(r, Err(CallError::Identity(_)) | Err(CallError::Refused(_)))
                });
            }
            let mut refused = 0;
            while let Some(r) = set.join_next().await {
                refused += usize::from(r.unwrap_or(false));
            }
            refused
        }
    });
    let t = Instant::now();
    let mut lat_us = Vec::new();
    let mut timeouts = 0;
    while !flood.is_finished() {
        match healthz_ms(&http, &api).await {
            Some(ms) => lat_us.push((ms * 1e3) as u64),
            None => timeouts += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = flood.await.unwrap_or(0);
    let flood_secs = t.elapsed().as_secs_f64();
    lat_us.sort_unstable();
    let p50 = percentile(&lat_us, 50.0) as f64 / 1e3;
    let p99 = percentile(&lat_us, 99.0) as f64 / 1e3;
    let hwm_flood = procfs::status_kb(pid, "VmHWM").unwrap_or(0);
    println!(
        "dos: {} enrollments with {} MiB gzip bombs ({} bytes each) took {flood_secs:.1} s, {refused} refused; /healthz meanwhile p50 {p50:.1} ms, p99 {p99:.1} ms, {timeouts} failed; peak RSS {:.1} MiB",
        args.enrolls,
        args.bomb_mib,
        bomb.len(),
        mib(hwm_flood)
    );
    server.guard.check_alive()?;
    println!(
        "{}",
        json_line(
            "dos",
            serde_json::json!({
                "vigil": vigil.display().to_string(),
                "slow_clients": args.slow, "slow_held_after_hold": still,
                "slow_agent_batch_ms": batch_ms.ok(), "slow_console_ms": console_ms,
                "logins": args.logins, "login_peak_rss_mib": mib(hwm), "login_secs": login_secs,
                "wrong_password_known_ms": known[2], "wrong_password_unknown_ms": unknown[2],
                "enrolls": args.enrolls, "enroll_flood_secs": flood_secs,
                "healthz_p50_ms": p50, "healthz_p99_ms": p99, "healthz_failed": timeouts,
            })
        )
    );
    Ok(())
}
