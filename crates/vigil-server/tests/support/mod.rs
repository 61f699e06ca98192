//! A small in-process server for tests that need one real server and a few signed agent
//! requests: started on a store the test opens (so it can reach the store's fault switch).

#![allow(dead_code)]

use serde_json::Value;
use std::sync::Arc;
use vigil_agent::client::{pinned_client, signed_post, CallError};
use vigil_proto::agent::*;
use vigil_proto::auth::AgentKey;
use vigil_proto::{codec, PROTO_VERSION};
use vigil_server::{RunningServer, ServerConfig, SystemClock};
use vigil_store::SqlStore;

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn geoip_db() -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/geoip/dbip-country.mmdb");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup.sh (it fetches DB-IP's country database)",
        p.display()
    );
    p
}

pub struct Server {
    pub running: RunningServer,
    pub store: Arc<SqlStore>,
    pub api: String,
    pub agent_url: String,
    pub token: String,
    /// The admin's password when this start made the admin.
    pub password: Option<String>,
    pub agent_http: reqwest::Client,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(url: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::start_in(url, dir).await
    }

    /// Starts on `url` with `dir` as the data directory (a restart reuses it).
    pub async fn start_in(url: &str, dir: tempfile::TempDir) -> Server {
        Server::start_configured(url, dir, |_| {}).await
    }

    /// [`Server::start_in`], with the configuration changed by `configure` first.
    pub async fn start_configured(
        url: &str,
        dir: tempfile::TempDir,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = Arc::new(SqlStore::open(url).await.unwrap());
        let mut cfg = ServerConfig::new(dir.path().to_path_buf());
        cfg.api_listen = "127.0.0.1:0".parse().unwrap();
        cfg.agent_listen = "127.0.0.1:0".parse().unwrap();
        // Nothing but the requests of this test may run statements while a fault is armed.
        cfg.maintenance_secs = 3600;
        cfg.notify_poll_secs = 3600;
        cfg.geoip = Some(geoip_db());
        configure(&mut cfg);
        // The first start makes the admin; a restart finds its token in the data directory.
        let (token, password) =
            match vigil_server::bootstrap_admin(store.as_ref(), dir.path(), now())
                .await
                .unwrap()
            {
                Some(creds) => (creds.api_token, Some(creds.password)),
                None => (
                    std::fs::read_to_string(dir.path().join("admin.token"))
                        .unwrap()
                        .trim()
                        .to_string(),
                    None,
                ),
            };
        let running = vigil_server::start(cfg, store.clone(), Arc::new(SystemClock))
            .await
            .unwrap();
        Server {
            api: format!("http://{}", running.api_addr),
            agent_url: format!("https://127.0.0.1:{}", running.agent_addr.port()),
            agent_http: pinned_client(&running.ca_fingerprint).unwrap(),
            running,
            store,
            token,
            password,
            http: reqwest::Client::new(),
            dir,
        }
    }

    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.api);
        let mut req = match method {
            "GET" => self.http.get(url),
            "PUT" => self.http.put(url),
            "DELETE" => self.http.delete(url),
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

    pub async fn enroll(&self, code: &str) -> (String, AgentKey) {
        let key = AgentKey::generate();
        let req = EnrollRequest {
            proto: PROTO_VERSION,
            code: code.into(),
            public_key: key.public_base64(),
            hostname: "atomic-host".into(),
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
        .await
        .unwrap();
        let resp: EnrollResponse = serde_json::from_slice(&body).unwrap();
        (resp.host_id, key)
    }

    pub async fn send(
        &self,
        host: &str,
        key: &AgentKey,
        batch: &EventBatch,
    ) -> Result<BatchAck, CallError> {
        let body = signed_post(
            &self.agent_http,
            &self.agent_url,
            PATH_EVENTS,
            host,
            key,
            codec::encode(batch),
        )
        .await?;
        Ok(serde_json::from_slice(&body).unwrap())
    }
}
