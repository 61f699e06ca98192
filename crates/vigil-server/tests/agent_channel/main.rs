//! The server over real TLS and HTTP, in-process, on both storage backends: enrollment, signed
//! requests, batches committed once, uninstall, online/offline, and the API's error handling.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use vigil_agent::client::{pinned_client, signed_post, CallError};
use vigil_model::{Account, Event, EventBody};
use vigil_proto::agent::*;
use vigil_proto::auth::{AgentKey, HEADER_HOST, HEADER_SIGNATURE, HEADER_TIME};
use vigil_proto::{codec, PROTO_VERSION};
use vigil_server::{Clock, RunningServer, ServerConfig};
use vigil_store::testing::{drop_schema, fresh_postgres_schema};
use vigil_store::Store;

mod abnormal;
mod actions;
mod alerts;
mod baseline;
mod enrollment;
mod logins;
mod notify;
mod typed;
mod vulns;
use abnormal::*;
use actions::*;
use alerts::*;
use baseline::*;
use enrollment::*;
use logins::*;
use notify::*;
use typed::*;
use vulns::*;

#[derive(Debug)]
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The real IP geolocation database (DB-IP country, fetched by scripts/setup.sh, not in git).
fn geoip_db() -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/geoip/dbip-country.mmdb");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup.sh (it fetches DB-IP's country database with \
         scripts/fetch-geoip.sh)",
        p.display()
    );
    p
}

struct Harness {
    running: RunningServer,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    api: String,
    agent_url: String,
    token: String,
    password: String,
    /// The command key the last enrollment pinned.
    command_key: std::sync::Mutex<String>,
    http: reqwest::Client,
    agent_http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new(store: Arc<dyn Store>) -> Harness {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock(AtomicI64::new(real_now())));
        let mut cfg = ServerConfig::new(dir.path().to_path_buf());
        cfg.api_listen = "127.0.0.1:0".parse().unwrap();
        cfg.agent_listen = "127.0.0.1:0".parse().unwrap();
        cfg.offline_after_secs = 30;
        cfg.maintenance_secs = 1;
        cfg.notify_poll_secs = 1;
        cfg.geoip = Some(geoip_db());
        let creds = vigil_server::bootstrap_admin(store.as_ref(), dir.path(), clock.now())
            .await
            .unwrap()
            .unwrap();
        let running = vigil_server::start(cfg, store.clone(), clock.clone())
            .await
            .unwrap();
        let agent_http = pinned_client(&running.ca_fingerprint).unwrap();
        Harness {
            api: format!("http://{}", running.api_addr),
            agent_url: format!("https://127.0.0.1:{}", running.agent_addr.port()),
            running,
            store,
            clock,
            token: creds.api_token,
            password: creds.password,
            command_key: std::sync::Mutex::new(String::new()),
            http: reqwest::Client::new(),
            agent_http,
            _dir: dir,
        }
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.api);
        let mut req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            "PUT" => self.http.put(url),
            _ => self.http.post(url),
        }
        .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn code(&self, expires: &str) -> (String, String) {
        let (status, v) = self
            .api(
                "POST",
                "/api/v1/install-codes",
                Some(json!({"group": "web", "expires": expires, "labels": {"env": "prod"}})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        (
            v["id"].as_str().unwrap().to_string(),
            v["code"].as_str().unwrap().to_string(),
        )
    }

    async fn enroll(&self, code: &str) -> Result<(String, AgentKey), CallError> {
        let key = AgentKey::generate();
        let req = EnrollRequest {
            proto: PROTO_VERSION,
            code: code.into(),
            public_key: key.public_base64(),
            hostname: "test-host".into(),
            agent_version: "0.1.0".into(),
            os: Default::default(),
        };
        let body = signed_post(
            &self.agent_http,
            &self.agent_url,
            PATH_ENROLL,
            "enroll",
            &key,
            codec::encode(&req),
        )
        .await?;
        let resp: EnrollResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(resp.group, "web");
        *self.command_key.lock().unwrap() = resp.command_key;
        Ok((resp.host_id, key))
    }

    async fn post(
        &self,
        path: &str,
        host: &str,
        key: &AgentKey,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, CallError> {
        signed_post(&self.agent_http, &self.agent_url, path, host, key, body).await
    }
}

fn refused_code(r: Result<impl std::fmt::Debug, CallError>) -> String {
    match r {
        Err(CallError::Identity(e)) | Err(CallError::Refused(e)) => e.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn backdoor_batch(seq: u64) -> EventBatch {
    EventBatch {
        seq,
        events: vec![Event {
            time: real_now(),
            body: EventBody::AccountAdded {
                account: Account {
                    name: "toor".into(),
                    uid: 0,
                    login_shell: true,
                    ..Default::default()
                },
            },
        }],
    }
}

async fn all(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    enrollment(&h).await;
    signatures(&h).await;
    batches(&h).await;
    lifecycle(&h).await;
    api_errors(&h).await;
    openapi_matches_routes(&h).await;
    alert_handling(&h).await;
    host_actions(&h).await;
    related_alerts(&h).await;
    ip_rules(&h).await;
    login_events(&h).await;
    scoped_login_settings(&h).await;
    notifications(&h).await;
    abnormal_logins(&h).await;
    vulnerabilities(&h).await;
    baseline_runs(&h).await;
    typed_api(&h).await;
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_channel_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_channel_on_postgres() {
    let schema = fresh_postgres_schema().await;
    all(vigil_store::open(&schema.url).await.unwrap()).await;
    drop_schema(&schema).await;
}
