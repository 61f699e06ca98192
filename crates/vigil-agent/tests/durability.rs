//! The real agent against the real server: while the server is down, changes are spooled on
//! disk; when it comes back (same data, same port) every batch arrives exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_server::{RunningServer, ServerConfig, SystemClock};
use vigil_store::Store;

async fn start(dir: &std::path::Path, store: Arc<dyn Store>, agent_port: u16) -> RunningServer {
    let mut cfg = ServerConfig::new(dir.to_path_buf());
    cfg.api_listen = "127.0.0.1:0".parse().unwrap();
    cfg.agent_listen = format!("127.0.0.1:{agent_port}").parse().unwrap();
    cfg.heartbeat_secs = 1;
    vigil_server::start(cfg, store, Arc::new(SystemClock))
        .await
        .unwrap()
}

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

fn port_events(events: &[vigil_store::StoredEvent], port: u16) -> usize {
    events
        .iter()
        .filter(|e| e.kind == "port_opened" && e.body.contains(&format!("\"port\":{port}")))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_events_survive_a_server_outage() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("server/v.db").display());
    std::fs::create_dir_all(dir.path().join("server")).unwrap();
    let store = vigil_store::open(&db).await.unwrap();
    let creds = vigil_server::bootstrap_admin(store.as_ref(), &dir.path().join("server"), 0)
        .await
        .unwrap()
        .unwrap();
    let server = start(&dir.path().join("server"), store.clone(), 0).await;
    let port = server.agent_addr.port();
    let url = format!("https://127.0.0.1:{port}");

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
    let code = resp["code"].as_str().unwrap();
    let agent_dir = dir.path().join("agent");
    let id = vigil_agent::enroll(&url, code, &server.ca_fingerprint, &agent_dir)
        .await
        .unwrap();

    let mut cfg = vigil_agent::AgentConfig::new(agent_dir.clone());
    cfg.collect_secs = 1;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(vigil_agent::run(cfg, rx));
    wait_for(
        "the first fingerprint report",
        Duration::from_secs(20),
        || async { store.inventory(&id.host_id).await.unwrap().is_some() },
    )
    .await;

    // Server down; a port opens on every interface; the change must wait in the spool.
    server.stop().await;
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let opened = listener.local_addr().unwrap().port();
    let spool = agent_dir.join("spool");
    wait_for("a spooled batch", Duration::from_secs(20), || async {
        std::fs::read_dir(&spool)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".batch"))
    })
    .await;
    assert_eq!(
        port_events(&store.events(&id.host_id, 1000).await.unwrap(), opened),
        0
    );

    // Back up on the same port and data: the batch is delivered, once, and the spool drains.
    let server = start(&dir.path().join("server"), store.clone(), port).await;
    wait_for(
        "the spooled event to be committed",
        Duration::from_secs(30),
        || async { port_events(&store.events(&id.host_id, 1000).await.unwrap(), opened) == 1 },
    )
    .await;
    wait_for("the spool to drain", Duration::from_secs(10), || async {
        !std::fs::read_dir(&spool)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".batch"))
    })
    .await;
    let (alerts, _) = store
        .alerts(&vigil_store::AlertFilter::default())
        .await
        .unwrap();
    assert!(
        alerts.iter().any(|a| a.key == format!("port:tcp:{opened}")),
        "{alerts:?}"
    );

    // Closing the port is one more event; nothing was duplicated meanwhile.
    drop(listener);
    wait_for("the port-closed event", Duration::from_secs(20), || async {
        store
            .events(&id.host_id, 1000)
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind == "port_closed" && e.body.contains(&format!("\"port\":{opened}")))
    })
    .await;
    assert_eq!(
        port_events(&store.events(&id.host_id, 1000).await.unwrap(), opened),
        1
    );

    stop.send(true).unwrap();
    agent.await.unwrap().unwrap();
    server.stop().await;
}

#[tokio::test]
async fn not_enrolled_says_how_to_enroll() {
    let dir = tempfile::tempdir().unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let err = vigil_agent::run(vigil_agent::AgentConfig::new(dir.path().to_path_buf()), rx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("vigil agent install"), "{err}");
}

#[tokio::test]
async fn enrolling_needs_https_and_a_valid_fingerprint() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let e = vigil_agent::enroll("http://127.0.0.1:1", "c", &"a".repeat(64), dir.path())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("https://"), "{e}");
    let e = vigil_agent::enroll("https://127.0.0.1:1", "c", "abc", dir.path())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("64 hex"), "{e}");
    let e = vigil_agent::enroll("https://127.0.0.1:1", "c", &"a".repeat(64), dir.path())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot reach"), "{e}");
}
