//! Simulated agents: enrolment and the alert batches they send.

use super::*;

pub(super) struct SimAgent {
    pub(super) idx: usize,
    pub(super) host_id: String,
    pub(super) key: AgentKey,
    pub(super) seq: u64,
}

pub(super) async fn enroll_all(
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
pub(super) fn alert_event(i: usize, hosts: usize, time: i64) -> Event {
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
                start_ticks: 0,
            },
        },
    }
}

/// What sending a leg's alerts took.
#[derive(Default)]
pub(super) struct Sent {
    /// Per alert index: (batch sent, batch acknowledged), unix seconds.
    pub(super) times: HashMap<usize, (f64, f64)>,
    pub(super) batch_ms: Vec<u64>,
    pub(super) retries: u64,
}

/// Each agent sends its alerts of `first..first + n` in batches of `batch`, one batch in
/// flight per agent, all agents at once.
pub(super) async fn send_alerts(
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
