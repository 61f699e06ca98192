//! Host actions end to end: a real process listening on all interfaces raises an alert; the
//! operator kills it and quarantines its executable through the API; the agent runs the signed
//! command; the file is restored through the API. Also a refused action with the exact error.

use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_server::{ServerConfig, SystemClock};

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = if method == "GET" {
            self.http.get(url)
        } else {
            self.http.post(url)
        }
        .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

async fn wait_for<F, Fut, T>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A copy of the Python interpreter under a private name, listening on all interfaces.
fn listening_service(
    dir: &std::path::Path,
    name: &str,
) -> (std::process::Child, std::path::PathBuf) {
    let exe = dir.join(name);
    std::fs::copy("/usr/bin/python3", &exe).expect("copy python3");
    let child = std::process::Command::new(&exe)
        .args(["-c", "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen(); time.sleep(300)"])
        .spawn()
        .unwrap();
    (child, exe)
}

async fn port_alert_of(api: &Api, pid: u32) -> Value {
    wait_for("the port alert naming the process", 30, || async {
        let (_, v) = api
            .call("GET", "/api/v1/alerts?kind=suspicious_port&limit=100", None)
            .await;
        v["alerts"]
            .as_array()?
            .iter()
            .find(|a| {
                a["evidence"].as_array().is_some_and(|e| {
                    e.iter()
                        .any(|f| f["name"] == "pid" && f["value"] == pid.to_string().as_str())
                })
            })
            .cloned()
    })
    .await
}

async fn alert_status(api: &Api, id: i64, want: &str) -> Value {
    wait_for(&format!("alert {id} to become {want}"), 30, || async {
        let (_, a) = api.call("GET", &format!("/api/v1/alerts/{id}"), None).await;
        (a["status"] == want).then_some(a)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_quarantine_and_restore_through_the_api() {
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
    let api = Api {
        base: format!("http://{}", server.api_addr),
        token: creds.api_token,
        http: reqwest::Client::new(),
    };
    let (_, code) = api
        .call("POST", "/api/v1/install-codes", Some(json!({})))
        .await;
    let agent_dir = dir.path().join("agent");
    let url = format!("https://127.0.0.1:{}", server.agent_addr.port());
    vigil_agent::enroll(
        &url,
        code["code"].as_str().unwrap(),
        &server.ca_fingerprint,
        &agent_dir,
    )
    .await
    .unwrap();
    let mut acfg = vigil_agent::AgentConfig::new(agent_dir.clone());
    acfg.collect_secs = 1;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(vigil_agent::run(acfg, rx));
    // Processes started after the first snapshot show up as changes, hence as alerts.
    wait_for("the first fingerprint report", 30, || async {
        let (_, h) = api.call("GET", "/api/v1/hosts", None).await;
        h["hosts"][0]["inventory_at"].as_i64()
    })
    .await;

    // Kill and quarantine.
    let bin = tempfile::tempdir().unwrap();
    let (mut child, exe) = listening_service(bin.path(), "fakesvc");
    let original = std::fs::read(&exe).unwrap();
    let alert = port_alert_of(&api, child.id()).await;
    let id = alert["id"].as_i64().unwrap();
    // The alert names the process by its start time too, so a recycled pid is never killed.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let ticks = vigil_collect::process::stat(&stat).unwrap().start_ticks;
    assert!(
        alert["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "start_ticks" && f["value"] == ticks.to_string().as_str()),
        "{alert}"
    );
    let (s, v) = api
        .call(
            "POST",
            "/api/v1/alerts/handle",
            Some(json!({"ids": [id], "action": "kill_and_quarantine"})),
        )
        .await;
    assert_eq!(
        (s, v["results"][0]["outcome"].as_str()),
        (200, Some("changed")),
        "{v}"
    );
    assert_eq!(v["results"][0]["status"], "in_progress");
    let done = alert_status(&api, id, "handled").await;
    assert!(done["evidence"].is_array());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    assert!(!exe.exists(), "the executable left its path");
    let file = wait_for("the quarantine record", 10, || async {
        let (_, q) = api.call("GET", "/api/v1/quarantine", None).await;
        q["files"].as_array()?.first().cloned()
    })
    .await;
    assert_eq!(file["path"], exe.to_str().unwrap());
    assert_eq!(file["restorable"], true);
    let (_, cmds) = api.call("GET", "/api/v1/commands", None).await;
    assert_eq!(cmds["commands"][0]["state"], "succeeded", "{cmds}");

    // Restore: the exact bytes come back.
    let (s, v) = api
        .call(
            "POST",
            "/api/v1/quarantine/restore",
            Some(json!({"host_id": file["host_id"], "qid": file["qid"]})),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    wait_for("the restore", 30, || async {
        let (_, q) = api.call("GET", "/api/v1/quarantine", None).await;
        (q["files"][0]["state"] == "restored").then_some(())
    })
    .await;
    assert_eq!(std::fs::read(&exe).unwrap(), original);
    let (s, _) = api
        .call(
            "POST",
            "/api/v1/quarantine/restore",
            Some(json!({"host_id": file["host_id"], "qid": file["qid"]})),
        )
        .await;
    assert_eq!(s, 409, "a restored file cannot be restored twice");

    // A process that is already gone: the agent's exact error comes back on the alert.
    let (mut second, _) = listening_service(bin.path(), "othersvc");
    let alert = port_alert_of(&api, second.id()).await;
    let id = alert["id"].as_i64().unwrap();
    second.kill().unwrap();
    second.wait().unwrap();
    let (_, v) = api
        .call(
            "POST",
            "/api/v1/alerts/handle",
            Some(json!({"ids": [id], "action": "kill_process"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "changed", "{v}");
    let back = alert_status(&api, id, "unhandled").await;
    assert_eq!(back["status"], "unhandled");
    let (_, cmds) = api.call("GET", "/api/v1/commands", None).await;
    let failed = &cmds["commands"][0];
    assert_eq!(failed["state"], "failed", "{cmds}");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("no running process with pid"),
        "{failed}"
    );

    // An action the alert does not support is refused without touching the alert.
    let (_, v) = api
        .call(
            "POST",
            "/api/v1/alerts/handle",
            Some(json!({"ids": [id], "action": "quarantine"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "refused", "{v}");

    stop.send(true).unwrap();
    agent.await.unwrap().unwrap();
    server.stop().await;
}
