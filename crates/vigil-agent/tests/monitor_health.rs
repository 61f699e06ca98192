//! The real agent against the real server with no login log to read and no nft: the host API
//! shows the login monitor degraded with "no log source found" and the firewall with "nft
//! missing", then the login monitor running once a log appears.

use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_server::{ServerConfig, SystemClock};

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn monitor<'a>(host: &'a Value, name: &str) -> Option<&'a Value> {
    host["monitors"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_log_source_shows_in_the_host_api() {
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
    let server = vigil_server::start(cfg, store.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let api = format!("http://{}", server.api_addr);
    let http = reqwest::Client::new();
    let code: Value = http
        .post(format!("{api}/api/v1/install-codes"))
        .bearer_auth(&creds.api_token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent_dir = dir.path().join("agent");
    let id = vigil_agent::enroll(
        &format!("https://127.0.0.1:{}", server.agent_addr.port()),
        code["code"].as_str().unwrap(),
        &server.ca_fingerprint,
        &agent_dir,
    )
    .await
    .unwrap();

    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let auth_log = logs.join("auth.log");
    let mut acfg = vigil_agent::AgentConfig::new(agent_dir);
    acfg.login_logs = vec![auth_log.clone()];
    acfg.login_records = Vec::new();
    acfg.journal = None;
    acfg.nft = vec![dir.path().join("no-nft").display().to_string()];
    let (stop, rx) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(vigil_agent::run(acfg, rx));

    let get_host = async || -> Value {
        http.get(format!("{api}/api/v1/hosts/{}", id.host_id))
            .bearer_auth(&creds.api_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let host = wait_for("the login monitor to report degraded", async || {
        let host = get_host().await;
        let m = monitor(&host, "logins")?;
        (m["state"] == "degraded").then_some(host.clone())
    })
    .await;
    let logins = monitor(&host, "logins").unwrap();
    assert!(
        logins["last_error"]
            .as_str()
            .unwrap()
            .contains("no log source"),
        "{logins}"
    );
    assert!(logins["last_run"].as_i64().is_some(), "{logins}");
    let unreadable: Vec<&str> = logins["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        unreadable.contains(&format!("{}: missing", auth_log.display()).as_str()),
        "{unreadable:?}"
    );
    let firewall = wait_for("the firewall check", async || {
        let host = get_host().await;
        monitor(&host, "firewall")
            .filter(|m| m["last_run"].is_i64())
            .cloned()
    })
    .await;
    assert_eq!(firewall["state"], "degraded", "{firewall}");
    assert!(
        firewall["last_error"]
            .as_str()
            .unwrap()
            .starts_with("nft missing"),
        "{firewall}"
    );
    let names: Vec<&str> = host["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["inventory", "logins", "firewall", "baseline", "files"]
    );
    // The host list carries the same.
    let list: Value = http
        .get(format!("{api}/api/v1/hosts"))
        .bearer_auth(&creds.api_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(monitor(&list["hosts"][0], "logins").is_some(), "{list}");

    // The log appears: the monitor follows it and says it is running again.
    std::fs::write(&auth_log, "").unwrap();
    wait_for("the login monitor to recover", async || {
        let host = get_host().await;
        let m = monitor(&host, "logins")?;
        (m["state"] == "running" && m["last_error"].is_null()).then_some(())
    })
    .await;

    stop.send(true).unwrap();
    agent.await.unwrap().unwrap();
    server.stop().await;
}
