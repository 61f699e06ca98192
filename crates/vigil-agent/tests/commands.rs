//! Host actions end to end: a real process listening on all interfaces raises an alert; the
//! operator kills it and quarantines its executable through the API; the agent runs the signed
//! command; the file is restored through the API. Also a refused action with the exact error.

use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_client::Client;
use vigil_model::{AlertStatus, CommandState, QuarantineState};
use vigil_proto::api::{
    AlertQuery, AlertView, CreateInstallCode, HandleAction, HandleAlerts, HostFilter, HostQuery,
    RestoreRequest,
};
use vigil_server::{ServerConfig, SystemClock};

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

async fn port_alert_of(api: &Client, pid: u32) -> AlertView {
    let q = AlertQuery {
        kind: Some("suspicious_port".into()),
        limit: Some(100),
        ..AlertQuery::default()
    };
    wait_for("the port alert naming the process", 30, || async {
        api.alerts(&q).await.unwrap().alerts.into_iter().find(|a| {
            a.evidence
                .iter()
                .any(|e| e.name == "pid" && e.value == pid.to_string())
        })
    })
    .await
}

async fn alert_status(api: &Client, id: i64, want: AlertStatus) -> AlertView {
    wait_for(&format!("alert {id} to become {want:?}"), 30, || async {
        let a = api.alert(id).await.unwrap();
        (a.status == want).then_some(a)
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
    let api = Client::new(
        reqwest::Client::new(),
        &format!("http://{}", server.api_addr),
        &creds.api_token,
    );
    let code = api
        .create_install_code(&CreateInstallCode::default())
        .await
        .unwrap();
    let agent_dir = dir.path().join("agent");
    let url = format!("https://127.0.0.1:{}", server.agent_addr.port());
    vigil_agent::enroll(&url, &code.code, &server.ca_fingerprint, &agent_dir)
        .await
        .unwrap();
    let mut acfg = vigil_agent::AgentConfig::new(agent_dir.clone());
    acfg.collect_secs = 1;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(vigil_agent::run(acfg, rx));
    // Processes started after the first snapshot show up as changes, hence as alerts.
    wait_for("the first fingerprint report", 30, || async {
        let hosts = api.hosts(&HostQuery::default()).await.unwrap().hosts;
        hosts.first().and_then(|h| h.inventory_at)
    })
    .await;

    // Kill and quarantine.
    let bin = tempfile::tempdir().unwrap();
    let (mut child, exe) = listening_service(bin.path(), "fakesvc");
    let original = std::fs::read(&exe).unwrap();
    let alert = port_alert_of(&api, child.id()).await;
    let id = alert.id;
    // The alert names the process by its start time too, so a recycled pid is never killed.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let ticks = vigil_collect::process::stat(&stat).unwrap().start_ticks;
    assert!(
        alert
            .evidence
            .iter()
            .any(|f| f.name == "start_ticks" && f.value == ticks.to_string()),
        "{alert:?}"
    );
    let v = api
        .handle_alerts(&HandleAlerts::new(
            vec![id],
            HandleAction::KillAndQuarantine,
        ))
        .await
        .unwrap();
    assert_eq!(v.results[0].outcome, "changed", "{v:?}");
    assert_eq!(v.results[0].status, Some(AlertStatus::InProgress));
    let done = alert_status(&api, id, AlertStatus::Handled).await;
    assert!(!done.evidence.is_empty());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    assert!(!exe.exists(), "the executable left its path");
    let file = wait_for("the quarantine record", 10, || async {
        let q = api.quarantine(&HostFilter::default()).await.unwrap();
        q.files.into_iter().next()
    })
    .await;
    assert_eq!(file.path, exe.to_str().unwrap());
    assert!(file.restorable);
    let cmds = api.commands(&HostFilter::default()).await.unwrap().commands;
    assert_eq!(cmds[0].state, CommandState::Succeeded, "{cmds:?}");

    // Restore: the exact bytes come back.
    let restore = RestoreRequest {
        host_id: file.host_id.clone(),
        qid: file.qid.clone(),
        overwrite: false,
    };
    api.restore(&restore).await.unwrap();
    wait_for("the restore", 30, || async {
        let q = api.quarantine(&HostFilter::default()).await.unwrap();
        (q.files[0].state == QuarantineState::Restored).then_some(())
    })
    .await;
    assert_eq!(std::fs::read(&exe).unwrap(), original);
    let again = api.restore(&restore).await.unwrap_err();
    assert_eq!(
        again.status(),
        Some(409),
        "a restored file cannot be restored twice: {again}"
    );

    // A process that is already gone: the agent's exact error comes back on the alert.
    let (mut second, _) = listening_service(bin.path(), "othersvc");
    let alert = port_alert_of(&api, second.id()).await;
    let id = alert.id;
    second.kill().unwrap();
    second.wait().unwrap();
    let v = api
        .handle_alerts(&HandleAlerts::new(vec![id], HandleAction::KillProcess))
        .await
        .unwrap();
    assert_eq!(v.results[0].outcome, "changed", "{v:?}");
    alert_status(&api, id, AlertStatus::Unhandled).await;
    let cmds = api.commands(&HostFilter::default()).await.unwrap().commands;
    let failed = &cmds[0];
    assert_eq!(failed.state, CommandState::Failed, "{cmds:?}");
    assert!(
        failed.message.contains("no running process with pid"),
        "{failed:?}"
    );

    // An action the alert does not support is refused without touching the alert.
    let v = api
        .handle_alerts(&HandleAlerts::new(vec![id], HandleAction::Quarantine))
        .await
        .unwrap();
    assert_eq!(v.results[0].outcome, "refused", "{v:?}");

    stop.send(true).unwrap();
    agent.await.unwrap().unwrap();
    server.stop().await;
}
