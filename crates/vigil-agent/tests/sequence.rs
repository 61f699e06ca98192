//! The agent's batch numbers going back lose nothing: after a restored snapshot of the agent's
//! data (an old counter and spool) and after a corrupt counter file, every event produced
//! afterwards reaches the server exactly once (the server says "behind", the agent renumbers).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_server::{RunningServer, ServerConfig, SystemClock};
use vigil_store::Store;

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn opened(store: &Arc<dyn Store>, host: &str, port: u16) -> usize {
    store
        .events(host, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "port_opened" && e.body.contains(&format!("\"port\":{port}")))
        .count()
}

struct Agent {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

fn run_agent(dir: &Path) -> Agent {
    let mut cfg = vigil_agent::AgentConfig::new(dir.to_path_buf());
    cfg.collect_secs = 1;
    let (stop, rx) = tokio::sync::watch::channel(false);
    Agent {
        stop,
        task: tokio::spawn(vigil_agent::run(cfg, rx)),
    }
}

impl Agent {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Opens a port on every interface and waits until the agent's event for it is stored.
async fn port_arrives(store: &Arc<dyn Store>, host: &str) -> std::net::TcpListener {
    let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    wait_for(
        &format!("the event of port {port}"),
        Duration::from_secs(30),
        || async { opened(store, host, port).await >= 1 },
    )
    .await;
    // And only once, after a moment for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(opened(store, host, port).await, 1, "port {port}");
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_snapshot_and_a_corrupt_counter_lose_no_events() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let store = vigil_store::open(&format!("sqlite://{}", server_dir.join("v.db").display()))
        .await
        .unwrap();
    let creds = vigil_server::bootstrap_admin(store.as_ref(), &server_dir, 0)
        .await
        .unwrap()
        .unwrap();
    let mut cfg = ServerConfig::new(server_dir.clone());
    cfg.api_listen = "127.0.0.1:0".parse().unwrap();
    cfg.agent_listen = "127.0.0.1:0".parse().unwrap();
    cfg.heartbeat_secs = 1;
    let server: RunningServer = vigil_server::start(cfg, store.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{}/api/v1/install-codes", server.api_addr))
        .bearer_auth(&creds.api_token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("https://127.0.0.1:{}", server.agent_addr.port());
    let agent_dir = dir.path().join("agent");
    let id = vigil_agent::enroll(
        &url,
        resp["code"].as_str().unwrap(),
        &server.ca_fingerprint,
        &agent_dir,
    )
    .await
    .unwrap();
    let host = id.host_id.clone();

    let agent = run_agent(&agent_dir);
    wait_for(
        "the first fingerprints",
        Duration::from_secs(20),
        || async { store.inventory(&host).await.unwrap().is_some() },
    )
    .await;
    let _p1 = port_arrives(&store, &host).await;
    agent.stop().await;

    // A snapshot of the agent's data now; the agent runs on and numbers more batches.
    let snapshot = dir.path().join("snapshot");
    copy_tree(&agent_dir, &snapshot);
    let agent = run_agent(&agent_dir);
    let _p2 = port_arrives(&store, &host).await;
    let _p3 = port_arrives(&store, &host).await;
    agent.stop().await;

    // The snapshot comes back (its counter is behind the server's): new events still arrive.
    std::fs::remove_dir_all(&agent_dir).unwrap();
    copy_tree(&snapshot, &agent_dir);
    let agent = run_agent(&agent_dir);
    let _p4 = port_arrives(&store, &host).await;
    agent.stop().await;
    let resynced = std::fs::read_to_string(agent_dir.join("spool/counters")).unwrap();
    assert_ne!(resynced.split_whitespace().nth(3), Some("0"), "{resynced}");

    // A corrupt counter file and an emptied spool: numbering restarts at 1, and still.
    std::fs::write(agent_dir.join("spool/counters"), b"\0\0garbage").unwrap();
    let agent = run_agent(&agent_dir);
    let _p5 = port_arrives(&store, &host).await;
    agent.stop().await;
    server.stop().await;
}
