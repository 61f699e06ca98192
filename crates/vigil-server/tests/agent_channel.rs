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

async fn enrollment(h: &Harness) {
    let (id, code) = h.code("1h").await;
    let (host, _) = h.enroll(&code).await.unwrap();
    // One code enrolls many hosts until it expires or is revoked.
    h.enroll(&code).await.unwrap();
    let (_, v) = h.api("GET", &format!("/api/v1/hosts/{host}"), None).await;
    assert_eq!(
        (v["state"].as_str(), v["group"].as_str()),
        (Some("online"), Some("web"))
    );
    assert_eq!(v["labels"]["env"], "prod");

    assert_eq!(
        refused_code(h.enroll("no-such-code").await),
        codes::UNKNOWN_CODE
    );
    let (status, _) = h
        .api("POST", &format!("/api/v1/install-codes/{id}/revoke"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(refused_code(h.enroll(&code).await), codes::REVOKED_CODE);
    let (_, short) = h.code("1m").await;
    h.clock.0.fetch_add(61, Ordering::SeqCst);
    assert_eq!(refused_code(h.enroll(&short).await), codes::EXPIRED_CODE);
    h.clock.0.fetch_sub(61, Ordering::SeqCst);

    let (_, v) = h.api("GET", "/api/v1/install-codes", None).await;
    let states: Vec<&str> = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"revoked") && states.contains(&"active"));
    let revoked = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap();
    assert_eq!(revoked["uses"], 2);

    // A client pinned to another CA refuses to talk to this server at all.
    let wrong = pinned_client(&"0".repeat(64)).unwrap();
    let key = AgentKey::generate();
    let r = signed_post(&wrong, &h.agent_url, PATH_ENROLL, "enroll", &key, vec![]).await;
    assert!(
        matches!(r, Err(CallError::Retry(ref m)) if m.contains("pinned fingerprint")),
        "{r:?}"
    );

    // Enrollment must be signed by the key it registers.
    let other = AgentKey::generate();
    let (_, code) = h.code("1h").await;
    let req = EnrollRequest {
        proto: PROTO_VERSION,
        code,
        public_key: key.public_base64(),
        hostname: "x".into(),
        agent_version: "0".into(),
        os: Default::default(),
    };
    let r = h
        .post(PATH_ENROLL, "enroll", &other, codec::encode(&req))
        .await;
    assert_eq!(refused_code(r), codes::BAD_SIGNATURE);
}

async fn signatures(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let report = Heartbeat {
        agent_version: "0.1.0".into(),
        spool: SpoolStats {
            pending_batches: 1,
            pending_bytes: 10,
            dropped_events: 7,
            write_failures: 2,
        },
        rss_kb: 9000,
        monitors: Vec::new(),
    };
    h.post(PATH_HEARTBEAT, &host, &key, codec::encode(&report))
        .await
        .unwrap();
    let (_, v) = h.api("GET", &format!("/api/v1/hosts/{host}"), None).await;
    let health = &v["agent"];
    assert_eq!(
        (
            health["spool"]["dropped_events"].as_i64(),
            health["rss_kb"].as_i64(),
            v["agent_version"].as_str()
        ),
        (Some(7), Some(9000), Some("0.1.0"))
    );
    let hb = codec::encode(&Heartbeat::default());

    // Another host's key, a tampered body, missing headers, a far-off clock: all refused.
    let (_, intruder) = h.enroll(&code).await.unwrap();
    assert_eq!(
        refused_code(h.post(PATH_HEARTBEAT, &host, &intruder, hb.clone()).await),
        codes::BAD_SIGNATURE
    );
    let time = real_now().to_string();
    let sig = key.sign("POST", PATH_HEARTBEAT, &host, time.parse().unwrap(), &hb);
    let mut tampered = hb.clone();
    tampered.push(0);
    let resp = h
        .agent_http
        .post(format!("{}{PATH_HEARTBEAT}", h.agent_url))
        .header(HEADER_HOST, &host)
        .header(HEADER_TIME, &time)
        .header(HEADER_SIGNATURE, &sig)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = h
        .agent_http
        .post(format!("{}{PATH_HEARTBEAT}", h.agent_url))
        .body(hb.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    h.clock.0.fetch_add(600, Ordering::SeqCst);
    match h.post(PATH_HEARTBEAT, &host, &key, hb.clone()).await {
        Err(CallError::Retry(m)) => assert!(m.contains("clock"), "{m}"),
        other => panic!("skewed request accepted: {other:?}"),
    }
    h.clock.0.fetch_sub(600, Ordering::SeqCst);
    let r = h.post(PATH_HEARTBEAT, "h-doesnotexist", &key, hb).await;
    assert_eq!(refused_code(r), codes::UNKNOWN_HOST);
}

async fn batches(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let before = h.store.event_count(None).await.unwrap();
    let send = |seq| {
        h.post(
            PATH_EVENTS,
            &host,
            &key,
            codec::encode(&backdoor_batch(seq)),
        )
    };
    let ack: BatchAck = serde_json::from_slice(&send(1).await.unwrap()).unwrap();
    assert_eq!(
        ack,
        BatchAck {
            seq: 1,
            stored: true
        }
    );
    let ack: BatchAck = serde_json::from_slice(&send(1).await.unwrap()).unwrap();
    assert_eq!(
        ack,
        BatchAck {
            seq: 1,
            stored: false
        }
    );
    let ack: BatchAck = serde_json::from_slice(&send(2).await.unwrap()).unwrap();
    assert!(ack.stored);
    assert_eq!(h.store.event_count(Some(&host)).await.unwrap(), 2);
    assert_eq!(h.store.event_count(None).await.unwrap(), before + 2);

    // The backdoor account raised one urgent alert, seen twice.
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&level=urgent"),
            None,
        )
        .await;
    assert_eq!(v["total"], 1, "{v}");
    let alert = &v["alerts"][0];
    assert_eq!(
        (alert["count"].as_i64(), alert["kind"].as_str()),
        (Some(2), Some("suspicious_account"))
    );
    assert_eq!(alert["tactic"], "TA0003 Persistence");
    let (_, one) = h
        .api("GET", &format!("/api/v1/alerts/{}", alert["id"]), None)
        .await;
    assert!(one["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "user" && e["value"] == "toor"));
    let (_, o) = h.api("GET", "/api/v1/overview", None).await;
    assert!(o["alerts"]["urgent"].as_i64().unwrap() >= 1);

    // Bad bodies: sequence 0, not gzip, a compression bomb, an oversized body.
    assert_eq!(refused_code(send(0).await), codes::BAD_REQUEST);
    assert_eq!(
        refused_code(h.post(PATH_EVENTS, &host, &key, b"plain".to_vec()).await),
        codes::BAD_REQUEST
    );
    let bomb = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; vigil_proto::MAX_INFLATED_BYTES + 10])
            .unwrap();
        enc.finish().unwrap()
    };
    assert!(bomb.len() < vigil_proto::MAX_BODY_BYTES);
    assert_eq!(
        refused_code(h.post(PATH_EVENTS, &host, &key, bomb).await),
        codes::TOO_LARGE
    );
    let huge = vec![0u8; vigil_proto::MAX_BODY_BYTES + 1];
    match h.post(PATH_EVENTS, &host, &key, huge).await {
        Err(CallError::Retry(m)) => assert!(m.contains("413"), "{m}"),
        other => panic!("oversized body accepted: {other:?}"),
    }
    assert_eq!(h.store.event_count(Some(&host)).await.unwrap(), 2);
}

async fn lifecycle(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    h.post(PATH_EVENTS, &host, &key, codec::encode(&backdoor_batch(1)))
        .await
        .unwrap();
    let state = |v: &Value| v["state"].as_str().unwrap().to_string();
    let (_, v) = h.api("GET", &format!("/api/v1/hosts/{host}"), None).await;
    assert_eq!(state(&v), "online");
    h.clock.0.fetch_add(31, Ordering::SeqCst);
    let (_, v) = h.api("GET", &format!("/api/v1/hosts/{host}"), None).await;
    assert_eq!(state(&v), "offline");
    let (_, list) = h.api("GET", "/api/v1/hosts?state=offline", None).await;
    assert!(list["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == host.as_str()));
    h.clock.0.fetch_sub(31, Ordering::SeqCst);

    h.post(PATH_UNINSTALL, &host, &key, codec::encode(&json!({})))
        .await
        .unwrap();
    let (_, v) = h.api("GET", &format!("/api/v1/hosts/{host}"), None).await;
    assert_eq!(state(&v), "uninstalled");
    let (_, ev) = h
        .api("GET", &format!("/api/v1/hosts/{host}/events"), None)
        .await;
    assert_eq!(ev["total"], 1, "history is kept after uninstall");
    let r = h
        .post(
            PATH_HEARTBEAT,
            &host,
            &key,
            codec::encode(&Heartbeat::default()),
        )
        .await;
    assert_eq!(refused_code(r), codes::UNINSTALLED_HOST);
}

async fn api_errors(h: &Harness) {
    let resp = h
        .http
        .get(format!("{}/api/v1/hosts", h.api))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = h
        .http
        .get(format!("{}/api/v1/hosts", h.api))
        .bearer_auth("vgl_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (s, v) = h.api("GET", "/api/v1/alerts?level=critical", None).await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().contains("urgent"), "{v}");
    let (s, _) = h.api("GET", "/api/v1/alerts?limit=0", None).await;
    assert_eq!(s, 400);
    let (s, _) = h.api("GET", "/api/v1/alerts?sort=random", None).await;
    assert_eq!(s, 400);
    let (s, v) = h
        .api("GET", "/api/v1/alerts?q=Backdoor&sort=level&since=0", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["name"].as_str().unwrap().contains("Backdoor")));
    let (s, _) = h.api("GET", "/api/v1/hosts?state=sleeping", None).await;
    assert_eq!(s, 400);
    let (s, _) = h.api("GET", "/api/v1/hosts/h-nope", None).await;
    assert_eq!(s, 404);
    let (s, _) = h.api("GET", "/api/v1/alerts/abc", None).await;
    assert_eq!(s, 400);
    let (s, _) = h.api("GET", "/api/v1/nothing-here", None).await;
    assert_eq!(s, 404);
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/install-codes",
            Some(json!({"expires": "5w"})),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("bad_request")));
    for bad in [
        json!({"expires": "60d"}),
        json!({"group": "a/b"}),
        json!({"os": "windows"}),
    ] {
        let (s, v) = h
            .api("POST", "/api/v1/install-codes", Some(bad.clone()))
            .await;
        assert_eq!(s, 400, "{bad} was accepted: {v}");
    }
    let resp = h
        .http
        .post(format!("{}/api/v1/install-codes", h.api))
        .bearer_auth(&h.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let (s, _) = h
        .api("POST", "/api/v1/groups", Some(json!({"name": "db"})))
        .await;
    assert_eq!(s, 201);
    let (s, _) = h
        .api("POST", "/api/v1/groups", Some(json!({"name": "db"})))
        .await;
    assert_eq!(s, 409);

    let login = |pw: &str| {
        h.http
            .post(format!("{}/api/v1/login", h.api))
            .json(&json!({"username": "admin", "password": pw}))
            .send()
    };
    assert_eq!(login("wrong").await.unwrap().status().as_u16(), 401);
    let password = h.password.clone();
    let session: Value = login(&password).await.unwrap().json().await.unwrap();
    let session = session["token"].as_str().unwrap().to_string();
    let me = |t: String| {
        h.http
            .get(format!("{}/api/v1/me", h.api))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(me(session.clone()).await.unwrap().status().as_u16(), 200);
    let out = h
        .http
        .post(format!("{}/api/v1/logout", h.api))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(me(session).await.unwrap().status().as_u16(), 401);
    let (s, _) = h.api("POST", "/api/v1/logout", None).await;
    assert_eq!(s, 400, "the API token is not a session and stays valid");
    assert_eq!(h.api("GET", "/api/v1/me", None).await.0, 200);

    let page = h.http.get(format!("{}/", h.api)).send().await.unwrap();
    let csp = page
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let resp = h
        .http
        .get(format!("{}/healthz", h.api))
        .send()
        .await
        .unwrap();
    let health: Value = resp.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["backend"], h.store.backend());
}

/// Every path the OpenAPI document names answers with something other than "no such
/// endpoint", so the description cannot drift from the router.
async fn openapi_matches_routes(h: &Harness) {
    let doc: Value = h
        .http
        .get(format!("{}/api/v1/openapi.json", h.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 14);
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "1");
        for method in ops.as_object().unwrap().keys() {
            let (status, v) = h
                .api(&method.to_uppercase(), &concrete, Some(json!({})))
                .await;
            assert!(
                !(status == 404 && v["message"] == "no such endpoint") && status != 405,
                "{method} {path} is documented but not routed ({status} {v})"
            );
        }
    }
}

fn port_batch(seq: u64, port: u16) -> EventBatch {
    EventBatch {
        seq,
        events: vec![Event {
            time: real_now(),
            body: EventBody::PortOpened {
                socket: vigil_model::ListeningSocket {
                    protocol: vigil_model::Protocol::Tcp,
                    address: "0.0.0.0".into(),
                    port,
                    process: "redis-server".into(),
                    ..Default::default()
                },
            },
        }],
    }
}

async fn handle(h: &Harness, body: Value) -> (u16, Value) {
    h.api("POST", "/api/v1/alerts/handle", Some(body)).await
}

async fn alert_of(h: &Harness, host: &str, kind: &str) -> Value {
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&kind={kind}"),
            None,
        )
        .await;
    assert_eq!(v["total"], 1, "{v}");
    v["alerts"][0].clone()
}

/// Ignore, handle, whitelist by key and scope, remove the whitelist, the score.
async fn alert_handling(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let (other, other_key) = h.enroll(&code).await.unwrap();
    h.post(PATH_EVENTS, &host, &key, codec::encode(&backdoor_batch(1)))
        .await
        .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&port_batch(2, 6379)),
    )
    .await
    .unwrap();
    let backdoor = alert_of(h, &host, "suspicious_account").await;
    let port = alert_of(h, &host, "suspicious_port").await;
    let (bid, pid) = (
        backdoor["id"].as_i64().unwrap(),
        port["id"].as_i64().unwrap(),
    );

    // Ignore, twice: the second operator is told it is already ignored.
    let (s, v) = handle(
        h,
        json!({"ids": [bid, 99_999_999], "action": "ignore", "note": "lab"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["results"][0]["outcome"], "changed");
    assert_eq!(v["results"][1]["outcome"], "missing");
    let (_, v) = handle(h, json!({"ids": [bid], "action": "ignore"})).await;
    assert_eq!(
        (
            v["results"][0]["outcome"].as_str(),
            v["results"][0]["status"].as_str()
        ),
        (Some("unchanged"), Some("ignored"))
    );
    let (_, a) = h.api("GET", &format!("/api/v1/alerts/{bid}"), None).await;
    assert_eq!(
        (
            a["status"].as_str(),
            a["handled_by"].as_str(),
            a["note"].as_str(),
            a["group"].as_str()
        ),
        (Some("ignored"), Some("admin"), Some("lab"), Some("web"))
    );
    let (s, v) = handle(h, json!({"ids": [bid], "action": "kill_everything"})).await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = handle(h, json!({"ids": [], "action": "ignore"})).await;
    assert_eq!(s, 400);

    // Whitelist the port alert on its host: keyed by protocol, port and process.
    let (_, v) = handle(
        h,
        json!({"ids": [pid], "action": "whitelist", "note": "cache"}),
    )
    .await;
    assert_eq!(v["results"][0]["outcome"], "changed", "{v}");
    let (_, rules) = h.api("GET", "/api/v1/whitelist", None).await;
    let rule = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scope_value"] == host.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        rule["fields"],
        json!({"port": "6379", "process": "redis-server", "protocol": "tcp"})
    );
    assert_eq!(rule["created_by"], "admin");
    // The same port on the same host recurs whitelisted; on another host it is raised.
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&port_batch(3, 6379)),
    )
    .await
    .unwrap();
    assert_eq!(
        alert_of(h, &host, "suspicious_port").await["status"],
        "whitelisted"
    );
    h.post(
        PATH_EVENTS,
        &other,
        &other_key,
        codec::encode(&port_batch(1, 6379)),
    )
    .await
    .unwrap();
    let other_port = alert_of(h, &other, "suspicious_port").await;
    assert_eq!(other_port["status"], "unhandled");

    // A group rule covers the other host's existing alert and its future ones.
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/whitelist",
            Some(
                json!({"kind": "suspicious_port", "scope": "group", "scope_value": "web",
                        "fields": {"port": "6379", "protocol": "tcp", "process": "redis-server"}}),
            ),
        )
        .await;
    assert_eq!((s, v["whitelisted"].as_i64()), (201, Some(1)), "{v}");
    let group_rule = v["rule"]["id"].as_i64().unwrap();
    assert_eq!(
        alert_of(h, &other, "suspicious_port").await["status"],
        "whitelisted"
    );
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/whitelist",
            Some(json!({"kind": "suspicious_port", "scope": "all", "fields": {"md5": "x"}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("protocol, port, process"),
        "{v}"
    );
    let (s, _) = h
        .api("POST", "/api/v1/whitelist", Some(json!({"kind": "suspicious_port", "scope": "group", "scope_value": "nope", "fields": {"port": "1"}})))
        .await;
    assert_eq!(s, 404);

    // Removing the whitelist returns the alert to the list (R-AL6).
    let (_, v) = handle(h, json!({"ids": [pid], "action": "unwhitelist"})).await;
    assert_eq!(v["results"][0]["outcome"], "changed", "{v}");
    assert_eq!(
        alert_of(h, &host, "suspicious_port").await["status"],
        "unhandled"
    );
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={other}&status=whitelisted"),
            None,
        )
        .await;
    assert_eq!(v["total"], 1, "the group rule still covers the other host");
    let (_, v) = h
        .api("DELETE", &format!("/api/v1/whitelist/{group_rule}"), None)
        .await;
    assert_eq!(v["restored"], 1, "{v}");
    let (s, _) = h
        .api("DELETE", &format!("/api/v1/whitelist/{group_rule}"), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        alert_of(h, &other, "suspicious_port").await["status"],
        "unhandled"
    );

    // Handled; recurrence after handling brings the alert back.
    let (_, v) = handle(h, json!({"ids": [pid], "action": "handled"})).await;
    assert_eq!(v["results"][0]["status"], "handled");
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&port_batch(4, 6379)),
    )
    .await
    .unwrap();
    assert_eq!(
        alert_of(h, &host, "suspicious_port").await["status"],
        "unhandled"
    );

    // The printable report shows the score, the pending alert, and escapes what hosts report.
    let page = h
        .http
        .get(format!("{}/api/v1/hosts/{host}/report", h.api))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"score\">60<") && html.contains("high risk"),
        "{html}"
    );
    assert!(
        html.contains("New tcp port 6379 listening on all interfaces"),
        "{html}"
    );
    let (s, _) = h.api("GET", "/api/v1/hosts/h-nope/report", None).await;
    assert_eq!(s, 404);

    // Score: one unhandled reminder caps the host at 60; the fleet is the mean of hosts.
    let (_, sc) = h.api("GET", "/api/v1/score", None).await;
    let mine = sc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["host_id"] == host.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (mine["score"].as_i64(), mine["band"].as_str()),
        (Some(60), Some("high risk")),
        "{mine}"
    );
    assert!(sc["fleet"]["score"].as_i64().unwrap() <= 100);
}

fn pid_batch(seq: u64, port: u16, pid: u32) -> EventBatch {
    let mut b = port_batch(seq, port);
    if let EventBody::PortOpened { socket } = &mut b.events[0].body {
        socket.pid = pid;
    }
    b
}

/// Alerts about the same process are linked and can be handled together.
async fn related_alerts(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let with_exe = |seq, port, pid| {
        let mut b = pid_batch(seq, port, pid);
        if let EventBody::PortOpened { socket } = &mut b.events[0].body {
            socket.exe = "/tmp/.x/miner".into();
        }
        b
    };
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&with_exe(1, 3333, 777)),
    )
    .await
    .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&with_exe(2, 4444, 777)),
    )
    .await
    .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&with_exe(3, 5555, 778)),
    )
    .await
    .unwrap();
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&sort=oldest"),
            None,
        )
        .await;
    let ids: Vec<i64> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{v}");
    assert_eq!(
        v["alerts"][0]["related"],
        json!([ids[1]]),
        "same pid and exe: {v}"
    );
    assert_eq!(v["alerts"][2]["related"], json!([]), "another process");
    let (_, r) = handle(
        h,
        json!({"ids": [ids[0]], "action": "ignore", "include_related": true}),
    )
    .await;
    let changed: Vec<i64> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(changed, vec![ids[0], ids[1]], "{r}");
    let (_, a) = h
        .api("GET", &format!("/api/v1/alerts/{}", ids[2]), None)
        .await;
    assert_eq!(a["status"], "unhandled");
}

/// Host actions: signed by the pinned command key, reported once, timed out when not run.
async fn host_actions(h: &Harness) {
    use base64::Engine;
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let command_key = base64::engine::general_purpose::STANDARD
        .decode(h.command_key.lock().unwrap().as_str())
        .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&port_batch(1, 7001)),
    )
    .await
    .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&pid_batch(2, 7002, 4242)),
    )
    .await
    .unwrap();
    let (_, v) = h
        .api("GET", &format!("/api/v1/alerts?host={host}"), None)
        .await;
    let id_of = |port: &str| {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"].as_str().unwrap().contains(port))
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (no_pid, with_pid) = (id_of("7001"), id_of("7002"));

    let (_, r) = handle(h, json!({"ids": [no_pid], "action": "kill_process"})).await;
    assert_eq!(r["results"][0]["outcome"], "refused", "{r}");
    assert!(r["results"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no pid"));
    let (_, r) = handle(h, json!({"ids": [with_pid], "action": "kill_process"})).await;
    assert_eq!(r["results"][0]["status"], "in_progress", "{r}");
    let (_, r) = handle(h, json!({"ids": [with_pid], "action": "kill_process"})).await;
    assert_eq!(
        r["results"][0]["outcome"], "unchanged",
        "no double handling: {r}"
    );

    // The heartbeat carries the command, signed by the key pinned at enrollment.
    let body = h
        .post(
            PATH_HEARTBEAT,
            &host,
            &key,
            codec::encode(&Heartbeat::default()),
        )
        .await
        .unwrap();
    let resp: HeartbeatResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(resp.commands.len(), 1);
    let signed = &resp.commands[0];
    vigil_proto::auth::verify_command(&command_key, &signed.payload, &signed.signature).unwrap();
    let forged = signed.payload.replace("4242", "1");
    assert!(vigil_proto::auth::verify_command(&command_key, &forged, &signed.signature).is_err());
    let cmd: Command = serde_json::from_str(&signed.payload).unwrap();
    assert_eq!(
        (cmd.host_id.as_str(), &cmd.action),
        (
            host.as_str(),
            &CommandAction::KillProcess {
                pid: 4242,
                exe: None
            }
        )
    );

    // Another host cannot finish it; the host's own report does, once.
    let (other, other_key) = h.enroll(&code).await.unwrap();
    let report = CommandResult {
        id: cmd.id,
        ok: true,
        message: "process 4242: killed".into(),
        data: Value::Null,
    };
    h.post(
        PATH_COMMAND_RESULT,
        &other,
        &other_key,
        codec::encode(&report),
    )
    .await
    .unwrap();
    let (_, a) = h
        .api("GET", &format!("/api/v1/alerts/{with_pid}"), None)
        .await;
    assert_eq!(a["status"], "in_progress");
    h.post(PATH_COMMAND_RESULT, &host, &key, codec::encode(&report))
        .await
        .unwrap();
    let (_, a) = h
        .api("GET", &format!("/api/v1/alerts/{with_pid}"), None)
        .await;
    assert_eq!(a["status"], "handled");
    let again = CommandResult {
        ok: false,
        message: "late".into(),
        ..report
    };
    h.post(PATH_COMMAND_RESULT, &host, &key, codec::encode(&again))
        .await
        .unwrap();
    let (_, a) = h
        .api("GET", &format!("/api/v1/alerts/{with_pid}"), None)
        .await;
    assert_eq!(a["status"], "handled", "a second report changes nothing");

    // An offline host: the action times out after an hour and the alert comes back.
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&pid_batch(3, 7003, 4343)),
    )
    .await
    .unwrap();
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&status=unhandled"),
            None,
        )
        .await;
    let third = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"].as_str().unwrap().contains("7003"))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    handle(h, json!({"ids": [third], "action": "kill_process"})).await;
    h.clock.0.fetch_add(3601, Ordering::SeqCst);
    let start = std::time::Instant::now();
    loop {
        let (_, a) = h.api("GET", &format!("/api/v1/alerts/{third}"), None).await;
        if a["status"] == "unhandled" {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 10,
            "the action never timed out: {a}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (_, cmds) = h
        .api("GET", &format!("/api/v1/commands?host={host}"), None)
        .await;
    assert_eq!(cmds["commands"][0]["state"], "timed_out", "{cmds}");
    h.clock.0.fetch_sub(3601, Ordering::SeqCst);

    // One restore at a time per quarantined file.
    h.store
        .put_quarantined(&vigil_store::QuarantineRecord {
            host_id: host.clone(),
            qid: "00112233aabbccdd".into(),
            path: "/srv/app/x.php".into(),
            sha256: "aa".into(),
            md5: "bb".into(),
            size: 3,
            quarantined_at: h.clock.now(),
            state: vigil_model::QuarantineState::Quarantined,
            restored_at: None,
            record: "{}".into(),
        })
        .await
        .unwrap();
    let restore = json!({"host_id": host, "qid": "00112233aabbccdd"});
    let (s, v) = h
        .api("POST", "/api/v1/quarantine/restore", Some(restore.clone()))
        .await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = h
        .api("POST", "/api/v1/quarantine/restore", Some(restore))
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("already waiting"),
        "{v}"
    );
}

/// Heartbeats once and returns the commands it carried, parsed (signatures are checked in
/// `host_actions`).
async fn delivered(h: &Harness, host: &str, key: &AgentKey) -> Vec<Command> {
    let body = h
        .post(
            PATH_HEARTBEAT,
            host,
            key,
            codec::encode(&Heartbeat::default()),
        )
        .await
        .unwrap();
    let resp: HeartbeatResponse = serde_json::from_slice(&body).unwrap();
    resp.commands
        .iter()
        .map(|c| serde_json::from_str(&c.payload).unwrap())
        .collect()
}

async fn rule_view(h: &Harness, id: i64) -> Value {
    let (_, v) = h.api("GET", "/api/v1/ip-rules", None).await;
    v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The IP policy library and the block_ip alert action, with the agent's side played by hand.
async fn ip_rules(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    delivered(h, &host, &key).await; // rules made by earlier tests for all hosts, if any
    let now = h.clock.now();

    // Bad requests say what is wrong; nothing is created.
    let before = h.api("GET", "/api/v1/ip-rules", None).await.1["rules"]
        .as_array()
        .unwrap()
        .len();
    for (body, status, fragment) in [
        (
            json!({"target": "nope", "duration": "1h"}),
            400,
            "not an IP address",
        ),
        (
            json!({"target": "127.0.0.1", "duration": "1h"}),
            400,
            "loopback",
        ),
        (
            json!({"target": "0.0.0.0/0", "duration": "1h"}),
            400,
            "whole-internet",
        ),
        (
            json!({"target": "192.0.2.1", "duration": "3 fortnights"}),
            400,
            "not a duration",
        ),
        (
            json!({"target": "192.0.2.1", "duration": "1h", "direction": "sideways"}),
            400,
            "in or out",
        ),
        (
            json!({"target": "192.0.2.1", "duration": "1h", "hosts": ["h-none"]}),
            404,
            "h-none",
        ),
        (json!({"target": "192.0.2.1"}), 400, "duration"),
    ] {
        let (s, v) = h.api("POST", "/api/v1/ip-rules", Some(body.clone())).await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(fragment),
            "{body}: {v}"
        );
    }
    let (s, _) = h.api("GET", "/api/v1/ip-rules?status=bogus", None).await;
    assert_eq!(s, 400);
    assert_eq!(
        h.api("GET", "/api/v1/ip-rules", None).await.1["rules"]
            .as_array()
            .unwrap()
            .len(),
        before
    );

    // A custom rule for this host: a signed block_ip with the absolute end time.
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/ip-rules",
            Some(json!({"target": "198.51.100.9", "hosts": [host], "duration": "2h", "reason": "scanner"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let rule = v["id"].as_i64().unwrap();
    assert_eq!(rule_view(h, rule).await["on_hosts"][0]["state"], "pending");
    let cmds = delivered(h, &host, &key).await;
    assert_eq!(cmds.len(), 1);
    assert_eq!(
        cmds[0].action,
        CommandAction::BlockIp {
            rule_id: rule,
            target: "198.51.100.9/32".into(),
            direction: Direction::In,
            until: Some(now + 7200),
        }
    );
    assert!(
        cmds[0].expires_at <= now + 7200,
        "never waits past the rule's end"
    );
    let report = |id, ok, message: &str| CommandResult {
        id,
        ok,
        message: message.into(),
        data: Value::Null,
    };
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(
            cmds[0].id,
            true,
            "198.51.100.9/32 blocked (in) for 2h",
        )),
    )
    .await
    .unwrap();
    let v = rule_view(h, rule).await;
    assert_eq!(
        (v["status"].as_str(), v["on_hosts"][0]["state"].as_str()),
        (Some("active"), Some("applied")),
        "{v}"
    );

    // Disable: an unblock goes out at once; the host's report marks it removed.
    let (s, _) = h
        .api("POST", &format!("/api/v1/ip-rules/{rule}/disable"), None)
        .await;
    assert_eq!(s, 200);
    let cmds = delivered(h, &host, &key).await;
    assert!(matches!(cmds[0].action, CommandAction::UnblockIp { rule_id, .. } if rule_id == rule));
    assert_eq!(rule_view(h, rule).await["on_hosts"][0]["state"], "removing");
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(cmds[0].id, true, "unblocked")),
    )
    .await
    .unwrap();
    assert_eq!(rule_view(h, rule).await["on_hosts"][0]["state"], "removed");
    let (s, v) = h
        .api("POST", &format!("/api/v1/ip-rules/{rule}/disable"), None)
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = h.api("POST", "/api/v1/ip-rules/99999/disable", None).await;
    assert_eq!(s, 404);

    // An all-hosts rule reaches a host that enrolls afterwards; it expires on time.
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/ip-rules",
            Some(json!({"target": "203.0.113.0/24", "duration": "1h"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let fleet = v["id"].as_i64().unwrap();
    let (late, late_key) = h.enroll(&code).await.unwrap();
    let cmds = delivered(h, &late, &late_key).await;
    assert!(
        cmds.iter().any(
            |c| matches!(&c.action, CommandAction::BlockIp { rule_id, .. } if *rule_id == fleet)
        ),
        "{cmds:?}"
    );
    h.clock.0.fetch_add(3601, Ordering::SeqCst);
    let start = std::time::Instant::now();
    while rule_view(h, fleet).await["status"] != "expired" {
        assert!(start.elapsed().as_secs() < 10, "the rule never expired");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    h.clock.0.fetch_sub(3601, Ordering::SeqCst);

    // block_ip on an alert: needs a duration and a source address; the agent's failure comes
    // back on the alert and on the rule with its exact words.
    let now = h.clock.now();
    let brute = vigil_model::NewAlert {
        kind: vigil_model::AlertKind::BruteForce,
        level: vigil_model::Level::Suspicious,
        name: "SSH brute force from 192.0.2.50".into(),
        key: "brute_force:192.0.2.50".into(),
        evidence: vec![
            ("source_ip".into(), "192.0.2.50".into()),
            ("failures".into(), "120".into()),
        ],
        time: now,
    };
    let mut no_source = brute.clone();
    no_source.key = "x".into();
    no_source.evidence.remove(0);
    h.store
        .ingest(vigil_store::IngestPlan::new(
            &host,
            900,
            Vec::new(),
            vec![(brute, None), (no_source, None)],
            now,
        ))
        .await
        .unwrap();
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&kind=brute_force"),
            None,
        )
        .await;
    let id_with = |with: bool| {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["name"] == "source_ip")
                    == with
            })
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (alert, sourceless) = (id_with(true), id_with(false));
    let (s, v) = handle(h, json!({"ids": [alert], "action": "block_ip"})).await;
    assert_eq!(s, 400, "{v}");
    let (_, v) = handle(
        h,
        json!({"ids": [sourceless], "action": "block_ip", "duration": "12h"}),
    )
    .await;
    assert_eq!(v["results"][0]["outcome"], "refused", "{v}");
    let (_, v) = handle(
        h,
        json!({"ids": [alert], "action": "block_ip", "duration": "12h", "note": "seen on 3 hosts"}),
    )
    .await;
    assert_eq!(v["results"][0]["status"], "in_progress", "{v}");
    let cmds = delivered(h, &host, &key).await;
    let CommandAction::BlockIp {
        rule_id,
        target,
        until,
        ..
    } = &cmds[0].action
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (target.as_str(), *until),
        ("192.0.2.50/32", Some(now + 43_200))
    );
    let r = rule_view(h, *rule_id).await;
    assert_eq!(r["alert_id"], alert);
    assert!(
        r["reason"].as_str().unwrap().contains("seen on 3 hosts"),
        "{r}"
    );
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(
            cmds[0].id,
            false,
            "nft failed: Error: Could not process rule",
        )),
    )
    .await
    .unwrap();
    let (_, a) = h.api("GET", &format!("/api/v1/alerts/{alert}"), None).await;
    assert_eq!(a["status"], "unhandled", "{a}");
    assert!(a["note"].as_str().unwrap().contains("nft failed"), "{a}");
    assert_eq!(
        rule_view(h, *rule_id).await["on_hosts"][0]["state"],
        "failed"
    );
    // Retried, it succeeds: the alert is handled.
    handle(
        h,
        json!({"ids": [alert], "action": "block_ip", "duration": "permanent"}),
    )
    .await;
    let cmds = delivered(h, &host, &key).await;
    assert!(matches!(
        cmds[0].action,
        CommandAction::BlockIp { until: None, .. }
    ));
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(
            cmds[0].id,
            true,
            "192.0.2.50/32 blocked (in) until unblocked",
        )),
    )
    .await
    .unwrap();
    let (_, a) = h.api("GET", &format!("/api/v1/alerts/{alert}"), None).await;
    assert_eq!(a["status"], "handled", "{a}");
}

/// What an agent's login watch sends: a brute-force alert with the block it applied, failure
/// counts, a successful login. The alert is `blocked`, the block is a system rule already
/// applied on that host, and the attack analysis counts it all.
async fn login_events(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let now = h.clock.now();
    let alert = vigil_model::NewAlert {
        kind: vigil_model::AlertKind::BruteForce,
        level: vigil_model::Level::Suspicious,
        name: "Brute force from 203.0.113.77".into(),
        key: "brute_force:203.0.113.77".into(),
        evidence: vec![("source_ip".into(), "203.0.113.77".into())],
        time: now,
    };
    let failures = |source: &str, n| Event {
        time: now,
        body: EventBody::LoginFailures {
            source: Some(source.into()),
            service: "sshd".into(),
            failures: n,
            users: vec!["root".into()],
            first: now - 60,
            last: now,
        },
    };
    let batch = EventBatch {
        seq: 1,
        events: vec![
            failures("203.0.113.77", 81),
            failures("203.0.113.78", 4),
            Event {
                time: now,
                body: EventBody::AgentAlert {
                    alert,
                    response: Some(vigil_model::Response {
                        action: "block_ip".into(),
                        target: "203.0.113.77/32".into(),
                        until: Some(now + 21_600),
                        ok: true,
                        message: "203.0.113.77/32 blocked".into(),
                    }),
                },
            },
            Event {
                time: now,
                body: EventBody::Login {
                    login: vigil_model::LoginEvent {
                        time: now,
                        service: "sshd".into(),
                        user: "alice".into(),
                        source: Some("192.0.2.10".into()),
                        port: Some(50_000),
                        method: Some(vigil_model::LoginMethod::Publickey),
                        outcome: vigil_model::LoginOutcome::Success,
                        reason: None,
                    },
                },
            },
        ],
    };
    h.post(PATH_EVENTS, &host, &key, codec::encode(&batch))
        .await
        .unwrap();
    // A resent batch changes nothing.
    h.post(PATH_EVENTS, &host, &key, codec::encode(&batch))
        .await
        .unwrap();
    let a = alert_of(h, &host, "brute_force").await;
    assert_eq!(a["status"], "blocked", "{a}");
    assert!(a["evidence"].to_string().contains("blocked until"), "{a}");
    let (_, v) = h
        .api("GET", &format!("/api/v1/ip-rules?host={host}"), None)
        .await;
    let system: Vec<&Value> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["origin"] == "system")
        .collect();
    assert_eq!(system.len(), 1, "{v}");
    assert_eq!(system[0]["target"], "203.0.113.77/32");
    assert_eq!(system[0]["expires_at"], now + 21_600);
    assert_eq!(system[0]["alert_id"], a["id"]);
    assert_eq!(system[0]["on_hosts"][0]["state"], "applied");
    let (s, v) = h
        .api("GET", &format!("/api/v1/attacks?host={host}&days=7"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    let day = now - now.rem_euclid(86_400);
    assert_eq!(
        v["days"],
        json!([{"day": day, "host_id": host, "failures": 85, "sources": 2, "blocks": 1}])
    );
    assert_eq!(
        v["top_sources"][0],
        json!({"source": "203.0.113.77", "failures": 81})
    );
    let (s, _) = h.api("GET", "/api/v1/attacks?days=0", None).await;
    assert_eq!(s, 400);
}

/// Brute-force settings and login policy per host and group: the most specific one reaches
/// the agent; removing it falls back.
async fn scoped_login_settings(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let login_of = |resp: Vec<u8>| {
        serde_json::from_slice::<HeartbeatResponse>(&resp)
            .unwrap()
            .login
            .unwrap()
    };
    let beat = || async {
        login_of(
            h.post(
                PATH_HEARTBEAT,
                &host,
                &key,
                codec::encode(&Heartbeat::default()),
            )
            .await
            .unwrap(),
        )
    };
    let fleet = beat().await;
    let (s, _) = h
        .api("GET", &format!("/api/v1/login-settings?host={host}"), None)
        .await;
    assert_eq!(s, 404, "a host without its own settings inherits");
    let (s, _) = h
        .api(
            "PUT",
            "/api/v1/login-settings?group=web",
            Some(json!({"max_failures": 50})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(beat().await.max_failures, 50);
    let (s, _) = h
        .api(
            "PUT",
            &format!("/api/v1/login-settings?host={host}"),
            Some(json!({"max_failures": 5, "access_whitelist": ["192.0.2.0/24"]})),
        )
        .await;
    assert_eq!(s, 200);
    let mine = beat().await;
    assert_eq!(
        (mine.max_failures, mine.access_whitelist.clone()),
        (5, vec!["192.0.2.0/24".to_string()])
    );
    let (s, _) = h
        .api(
            "DELETE",
            &format!("/api/v1/login-settings?host={host}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(beat().await.max_failures, 50);
    h.api("DELETE", "/api/v1/login-settings?group=web", None)
        .await;
    assert_eq!(beat().await, fleet);
    for (url, status) in [
        ("/api/v1/login-settings?host=h-nope", 404),
        ("/api/v1/login-settings?group=nope", 404),
        ("/api/v1/login-settings?host=x&group=y", 400),
    ] {
        let (s, v) = h.api("PUT", url, Some(json!({}))).await;
        assert_eq!(s, status, "{url}: {v}");
    }
    let (s, _) = h.api("DELETE", "/api/v1/login-settings", None).await;
    assert_eq!(s, 400);
    // Policy: the malicious list is fleet-wide; a host's own factors are kept apart.
    let (s, v) = h
        .api(
            "PUT",
            &format!("/api/v1/login-policy?host={host}"),
            Some(json!({"malicious_ips": ["198.51.100.0/24"]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = h
        .api(
            "PUT",
            &format!("/api/v1/login-policy?host={host}"),
            Some(json!({"accounts": ["deploy"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = h
        .api("GET", &format!("/api/v1/login-policy?host={host}"), None)
        .await;
    assert_eq!(v["accounts"], json!(["deploy"]), "{v}");
    let (_, fleet_policy) = h.api("GET", "/api/v1/login-policy", None).await;
    assert_ne!(fleet_policy["accounts"], json!(["deploy"]));
    let (s, _) = h
        .api("DELETE", &format!("/api/v1/login-policy?host={host}"), None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = h
        .api("GET", &format!("/api/v1/login-policy?host={host}"), None)
        .await;
    assert_eq!(s, 404);
}

/// A real SMTP server (aiosmtpd) that saves each message as JSON in a directory.
struct Smtp {
    port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_server() -> Smtp {
    use std::io::BufRead;
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "aiosmtpd is missing: run `pip install aiosmtpd` (scripts/setup.sh does)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vigil-notify/tests/smtp_server.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY");
    Smtp { port, dir, child }
}

/// An HTTP receiver that records every JSON body posted to it.
async fn webhook_receiver() -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook/{token}",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(v);
                axum::Json(json!({"ok": true}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook/s3cr3t"), seen)
}

async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed().as_secs() < 20,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Alerts reach the inbox, a real SMTP server and a real webhook; repeats and the per-host
/// daily limit hold further messages back; an unreachable webhook keeps retrying, visibly.
async fn notifications(h: &Harness) {
    let smtp = smtp_server();
    let (hook, seen) = webhook_receiver().await;
    let (s, v) = h
        .api("PUT", "/api/v1/notify/settings", Some(json!({"utc_offset_minutes": 480,
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "tls": "none", "from": "vigil@example.com"}})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["smtp"]["password_set"], false);
    let channel = |name: &str, kind: Value| {
        json!({"name": name, "config": {"id": 0, "kind": kind,
        "levels": ["urgent", "suspicious", "reminder"]}})
    };
    for (name, kind) in [
        ("inbox", json!({"type": "inbox"})),
        ("mail", json!({"type": "email", "to": ["ops@example.com"]})),
        (
            "hook",
            json!({"type": "webhook", "url": hook, "shape": "generic"}),
        ),
        (
            "dead hook",
            json!({"type": "webhook", "url": "http://127.0.0.1:9/x", "shape": "generic"}),
        ),
    ] {
        let (s, v) = h
            .api("POST", "/api/v1/notify/channels", Some(channel(name, kind)))
            .await;
        assert_eq!(s, 201, "{name}: {v}");
    }
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/notify/channels",
            Some(channel(
                "bad",
                json!({"type": "webhook", "url": "ftp://x", "shape": "generic"}),
            )),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (_, v) = h.api("GET", "/api/v1/notify/channels", None).await;
    assert!(
        !v.to_string().contains("s3cr3t"),
        "webhook secrets are not shown: {v}"
    );

    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    h.post(PATH_EVENTS, &host, &key, codec::encode(&backdoor_batch(1)))
        .await
        .unwrap();

    let mail = eventually("the email", async || {
        let f = std::fs::read_dir(smtp.dir.path()).ok()?.flatten().next()?;
        serde_json::from_slice::<Value>(&std::fs::read(f.path()).ok()?).ok()
    })
    .await;
    assert_eq!(mail["rcpt_tos"], json!(["ops@example.com"]));
    assert!(mail["subject"].as_str().unwrap().contains("toor"), "{mail}");
    let hooked = eventually("the webhook", async || {
        seen.lock().unwrap().first().cloned()
    })
    .await;
    assert!(hooked.to_string().contains("toor"), "{hooked}");
    let inbox = eventually("the inbox message", async || {
        let (_, v) = h.api("GET", "/api/v1/inbox", None).await;
        (v["unread"] == 1).then_some(v)
    })
    .await;
    let msg = inbox["messages"][0]["id"].as_i64().unwrap();
    let (s, _) = h
        .api("POST", &format!("/api/v1/inbox/{msg}/read"), None)
        .await;
    assert_eq!(s, 204);

    // The dead webhook is retried with backoff; each attempt is visible.
    let failed = eventually("a failed attempt", async || {
        let (_, v) = h.api("GET", "/api/v1/notify/outbox", None).await;
        v["items"]
            .as_array()?
            .iter()
            .find(|i| i["attempts"][0]["outcome"]["outcome"] == "failed")
            .cloned()
    })
    .await;
    assert_eq!(failed["state"], "pending", "{failed}");
    assert!(
        failed["attempts"][0]["outcome"]["retry_at"]
            .as_i64()
            .unwrap()
            > h.clock.now()
    );

    // The same alert again: aggregated, not re-sent. Another alert on the host the same day:
    // over the default one-per-host limit.
    h.post(PATH_EVENTS, &host, &key, codec::encode(&backdoor_batch(2)))
        .await
        .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&port_batch(3, 6380)),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(std::fs::read_dir(smtp.dir.path()).unwrap().count(), 1);
    let (_, v) = h.api("GET", "/api/v1/inbox", None).await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
}

fn login_at(time: i64, source: &str) -> Event {
    Event {
        time,
        body: EventBody::Login {
            login: vigil_model::LoginEvent {
                time,
                service: "sshd".into(),
                user: "root".into(),
                source: Some(source.into()),
                port: Some(22),
                method: Some(vigil_model::LoginMethod::Password),
                outcome: vigil_model::LoginOutcome::Success,
                reason: None,
            },
        },
    }
}

/// The host's abnormal-login alerts by `anomaly place-or-source`.
async fn login_alerts(h: &Harness, host: &str) -> std::collections::BTreeMap<String, Value> {
    let (s, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&kind=abnormal_login&limit=100"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let field = |a: &Value, name: &str| -> String {
        a["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let anomaly = field(a, "anomaly");
            let what = if anomaly == "unusual_location" {
                field(a, "location")
            } else {
                field(a, "source_ip")
            };
            (format!("{anomaly} {what}"), a.clone())
        })
        .collect()
}

/// Outbox items of `channel` for `alert`.
async fn notices(h: &Harness, channel: i64, alert: &Value) -> usize {
    let (_, v) = h.api("GET", "/api/v1/notify/outbox", None).await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["channel_id"] == channel && i["alert_id"] == alert["id"])
        .count()
}

/// The abnormal-login model on the server with the real DB-IP country database (8.8.8.8 and
/// 208.67.222.222 are US, 1.1.1.1 AU, 77.88.8.8 RU, 114.114.114.114 CN): learning, a new country,
/// repeats that count without notifying, approved locations, approved hours, a malicious IP,
/// private sources, a login after a brute force. Log times are days in the past: the model
/// learns by log time, and agent signatures carry the real time.
async fn abnormal_logins(h: &Harness) {
    const HOUR: i64 = 3_600;
    let (s, v) = h
        .api(
            "PUT",
            "/api/v1/login-policy",
            Some(json!({"locations": ["Narnia"]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("two-letter"), "{v}");
    let policy = async |p: Value| {
        let (s, v) = h.api("PUT", "/api/v1/login-policy", Some(p)).await;
        assert_eq!(s, 200, "{v}");
        v
    };
    let v = policy(json!({})).await;
    assert_eq!(v["locations"], Value::Null, "nothing configured: learned");
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/notify/channels",
            Some(
                json!({"name": "logins", "config": {"id": 0, "kind": {"type": "inbox"},
                "levels": ["urgent", "suspicious", "reminder"], "kinds": ["abnormal_login"],
                "max_per_day": 0, "max_per_host_per_day": 0}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let channel = v["id"].as_i64().unwrap();

    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let send = async |seq: u64, events: Vec<Event>| -> bool {
        let body = h
            .post(
                PATH_EVENTS,
                &host,
                &key,
                codec::encode(&EventBatch { seq, events }),
            )
            .await
            .unwrap();
        serde_json::from_slice::<BatchAck>(&body).unwrap().stored
    };
    let t0 = real_now() - 3 * 86_400;

    // Learning: a private login does not start it, the first public one does; nothing alerts
    // for 24 hours and what is seen is approved.
    send(
        1,
        vec![
            login_at(t0 - HOUR, "10.1.2.3"),
            login_at(t0, "8.8.8.8"),
            login_at(t0 + 2 * HOUR, "208.67.222.222"),
        ],
    )
    .await;
    assert!(login_alerts(h, &host).await.is_empty());

    // After learning, a new country: an unusual location (and a new IP), notified once.
    let new_country = vec![login_at(t0 + 25 * HOUR, "1.1.1.1")];
    assert!(send(2, new_country.clone()).await);
    let alerts = login_alerts(h, &host).await;
    assert_eq!(
        alerts.keys().collect::<Vec<_>>(),
        ["unusual_ip 1.1.1.1", "unusual_location AU"],
        "1.1.1.1 must be AU in target/geoip/dbip-country.mmdb"
    );
    let au = &alerts["unusual_location AU"];
    assert_eq!(au["level"], "suspicious");
    assert_eq!(au["count"], 1);
    assert!(
        au["name"].as_str().unwrap().contains("unusual location AU"),
        "{au}"
    );
    assert_eq!(notices(h, channel, au).await, 1);
    // A resent batch is neither counted nor learned from.
    assert!(!send(2, new_country).await);
    assert_eq!(
        login_alerts(h, &host).await["unusual_location AU"]["count"],
        1
    );

    // The same place again: the same alert counts up, and no second notification.
    send(3, vec![login_at(t0 + 26 * HOUR, "1.1.1.1")]).await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let au = &alerts["unusual_location AU"];
    assert_eq!(au["count"], 2);
    assert_eq!(alerts["unusual_ip 1.1.1.1"]["count"], 2);
    assert_eq!(notices(h, channel, au).await, 1);
    assert_eq!(notices(h, channel, &alerts["unusual_ip 1.1.1.1"]).await, 1);

    // Approved locations configured: AU is fine now (its IP is still new), RU is not.
    let v = policy(json!({"locations": ["au", "US"]})).await;
    assert_eq!(v["locations"], json!(["AU", "US"]));
    let (_, v) = h.api("GET", "/api/v1/login-policy", None).await;
    assert_eq!(v["locations"], json!(["AU", "US"]));
    send(
        4,
        vec![
            login_at(t0 + 27 * HOUR, "1.1.1.1"),
            login_at(t0 + 27 * HOUR + 60, "77.88.8.8"),
        ],
    )
    .await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts["unusual_location AU"]["count"], 2, "suppressed");
    assert_eq!(alerts["unusual_ip 1.1.1.1"]["count"], 3);
    let ru = &alerts["unusual_location RU"];
    assert_eq!(ru["count"], 1, "{alerts:?}");
    assert_eq!(notices(h, channel, ru).await, 1);

    // Approved hours: a login at 03:00 UTC from a learned place and IP is outside 08:00-18:00;
    // one at 09:00 is not.
    policy(json!({"locations": ["AU", "US"],
        "times": {"utc_offset_mins": 0, "ranges": ["08:00-18:00"]}}))
    .await;
    let day = t0 + 2 * 86_400;
    let midnight = day - day.rem_euclid(86_400);
    send(
        5,
        vec![
            login_at(midnight + 3 * HOUR, "8.8.8.8"),
            login_at(midnight + 9 * HOUR, "8.8.8.8"),
        ],
    )
    .await;
    let alerts = login_alerts(h, &host).await;
    let night = &alerts["outside_time 8.8.8.8"];
    assert_eq!(night["count"], 1, "{alerts:?}");
    assert!(night["evidence"].to_string().contains("03:00"), "{night}");
    assert!(!alerts.contains_key("unusual_ip 8.8.8.8"));
    assert!(!alerts.contains_key("unusual_location US"));

    // A malicious IP is urgent, and notifies.
    policy(json!({"locations": ["AU", "US"], "malicious_ips": ["114.114.114.0/24"]})).await;
    send(6, vec![login_at(t0 + 30 * HOUR, "114.114.114.114")]).await;
    let alerts = login_alerts(h, &host).await;
    let bad = &alerts["malicious_ip 114.114.114.114"];
    assert_eq!(bad["level"], "urgent");
    assert_eq!(notices(h, channel, bad).await, 1);
    assert!(alerts.contains_key("unusual_location CN"), "{alerts:?}");

    // Private sources never alert on location or IP, even with locations configured.
    let before = login_alerts(h, &host).await;
    send(
        7,
        vec![
            login_at(t0 + 31 * HOUR, "10.1.2.3"),
            login_at(t0 + 31 * HOUR, "192.168.7.7"),
            login_at(t0 + 31 * HOUR, "fd00::7"),
        ],
    )
    .await;
    assert_eq!(login_alerts(h, &host).await, before);

    // A login from a source the agent reported brute-forcing this host: urgent, whether the
    // brute-force alert comes in the same batch or was stored before.
    let brute = Event {
        time: t0 + 32 * HOUR,
        body: EventBody::AgentAlert {
            alert: vigil_model::NewAlert {
                kind: vigil_model::AlertKind::BruteForce,
                level: vigil_model::Level::Urgent,
                name: "Brute force from 77.88.8.8".into(),
                key: "brute_force:77.88.8.8".into(),
                evidence: vec![("source_ip".into(), "77.88.8.8".into())],
                time: t0 + 32 * HOUR,
            },
            response: None,
        },
    };
    send(8, vec![brute, login_at(t0 + 32 * HOUR + 10, "77.88.8.8")]).await;
    let after = &login_alerts(h, &host).await["after_bruteforce 77.88.8.8"];
    assert_eq!(after["level"], "urgent");
    assert_eq!(after["count"], 1);
    send(9, vec![login_at(t0 + 33 * HOUR, "77.88.8.8")]).await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts["after_bruteforce 77.88.8.8"]["count"], 2);
    assert!(!alerts.contains_key("after_bruteforce 1.1.1.1"));
    // A day after the brute force, a login from there is no longer its success.
    send(10, vec![login_at(t0 + 57 * HOUR, "77.88.8.8")]).await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts["after_bruteforce 77.88.8.8"]["count"], 2);
    assert_eq!(alerts["unusual_location RU"]["count"], 4, "{alerts:?}");

    policy(json!({})).await;
    let (s, _) = h
        .api(
            "DELETE",
            &format!("/api/v1/notify/channels/{channel}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
}

fn debian_inventory(collected_at: i64, openssl: &str) -> Vec<u8> {
    let pkg = |name: &str, version: &str| vigil_model::Package {
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: "openssl".into(),
        source_version: version.into(),
        ..Default::default()
    };
    codec::encode(&InventoryReport {
        inventory: vigil_model::Inventory {
            collected_at,
            os: vigil_model::OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                ..Default::default()
            },
            packages: vec![pkg("openssl", openssl), pkg("libssl3", openssl)],
            ..Default::default()
        },
    })
}

async fn host_vulns(h: &Harness, host: &str) -> Vec<Value> {
    let (status, v) = h
        .api("GET", &format!("/api/v1/vulns?host={host}"), None)
        .await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn host_score(h: &Harness, host: &str) -> Value {
    let (status, v) = h.api("GET", "/api/v1/score", None).await;
    assert_eq!(status, 200, "{v}");
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host_id"] == host)
        .unwrap()
        .clone()
}

/// The vulnerability lifecycle: the advisory database appears and is loaded, inventories are
/// matched, operators ignore and undo, a fixed version fixes, a downgrade reopens, and "verify"
/// asks the agent for a fresh inventory.
async fn vulnerabilities(h: &Harness) {
    let (status, v) = h.api("GET", "/api/v1/vulns", None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["database"]["loaded"], false);
    assert!(v["database"]["hint"]
        .as_str()
        .unwrap()
        .contains("vigil vulndb update --source apt"));
    for bad in ["status=open", "level=urgent", "group_by=host", "limit=0"] {
        let (status, v) = h.api("GET", &format!("/api/v1/vulns?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {v}");
    }

    // The database appears while the server runs; maintenance loads it.
    let mut b = vigil_vuln::DbBuilder::new();
    b.add_source(
        "debian-security",
        real_now(),
        vec![vigil_vuln::Advisory {
            ids: vec!["DSA-5678-1".into(), "CVE-2024-0001".into()],
            summary: "openssl: remote code execution in the TLS parser".into(),
            level: vigil_vuln::Level::High,
            rce: true,
            ranges: vec![vigil_vuln::AffectedRange {
                ecosystem: vigil_vuln::Ecosystem::new(vigil_vuln::Family::Debian, Some("12")),
                package: "openssl".into(),
                introduced: "0".into(),
                fixed: Some("3.0.13-1~deb12u1".into()),
                last_affected: None,
                limit: None,
            }],
        }],
    );
    b.build()
        .unwrap()
        .save(&h._dir.path().join("vulndb.bin"))
        .unwrap();
    eventually("the advisory database to load", async || {
        let (_, v) = h.api("GET", "/api/v1/vulns", None).await;
        (v["database"]["loaded"] == true).then_some(())
    })
    .await;
    let (_, v) = h.api("GET", "/api/v1/vulns", None).await;
    assert_eq!(v["database"]["advisories"], 1);
    assert_eq!(v["database"]["sources"][0]["name"], "debian-security");

    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    assert_eq!(host_score(h, &host).await["score"], 100);
    let t = real_now();
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t, "3.0.11-1~deb12u2"),
    )
    .await
    .unwrap();
    let rows = host_vulns(h, &host).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let ssl = rows.iter().find(|r| r["package"] == "openssl").unwrap();
    assert_eq!(ssl["advisory"], "DSA-5678-1");
    assert_eq!(ssl["ids"], json!(["DSA-5678-1", "CVE-2024-0001"]));
    assert_eq!(ssl["status"], "unfixed");
    assert_eq!(ssl["level"], "high");
    assert_eq!(ssl["rce"], true);
    assert_eq!(ssl["ecosystem"], "Debian:12");
    assert_eq!(ssl["installed"], "3.0.11-1~deb12u2");
    assert_eq!(ssl["fixed"], "3.0.13-1~deb12u1");
    assert_eq!(ssl["fix_command"], "apt-get install --only-upgrade openssl");
    assert_eq!(ssl["hostname"], "test-host");
    assert_eq!(ssl["fixed_at"], Value::Null);
    let first_seen = ssl["first_seen"].clone();

    // Unfixed vulnerabilities lower the score and cap it at 80.
    let score = host_score(h, &host).await;
    assert!(score["score"].as_u64().unwrap() <= 80, "{score}");
    assert_eq!(score["capped_at"], 80);
    assert!(
        score["deductions"].to_string().contains("vulnerabilities"),
        "{score}"
    );

    // Fleet views: one advisory on two packages of one host; one group per package.
    let (_, v) = h
        .api(
            "GET",
            "/api/v1/vulns?group_by=advisory&status=unfixed",
            None,
        )
        .await;
    assert_eq!(v["total"], 1, "{v}");
    let g = &v["items"][0];
    assert_eq!(g["key"], "DSA-5678-1");
    assert_eq!(g["packages"], json!(["libssl3", "openssl"]));
    assert_eq!(
        (g["hosts"].clone(), g["host_ids"].clone()),
        (json!(1), json!([host]))
    );
    assert_eq!(g["unfixed"], 2);
    assert_eq!(
        g["fix_commands"],
        json!([
            "apt-get install --only-upgrade libssl3",
            "apt-get install --only-upgrade openssl"
        ])
    );
    let (_, v) = h
        .api("GET", "/api/v1/vulns?group_by=package&q=cve-2024", None)
        .await;
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(v["items"][0]["ids"], json!(["DSA-5678-1"]));
    let (_, v) = h
        .api("GET", "/api/v1/vulns?package=openssl&q=CVE-2099", None)
        .await;
    assert_eq!(v["total"], 0, "{v}");

    // Ignore needs a reason; then it is ignored and no longer counts; undo brings it back.
    let keys = json!([
        {"host_id": host, "package": "openssl", "advisory": "DSA-5678-1"},
        {"host_id": host, "package": "libssl3", "advisory": "DSA-5678-1"},
        {"host_id": host, "package": "zlib", "advisory": "DSA-5678-1"},
    ]);
    let (status, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "ignore", "reason": "  "})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("reason"), "{v}");
    let (status, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "fix"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "ignore", "reason": "TLS is not exposed here"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let outcomes: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["changed", "changed", "missing"], "{v}");
    assert_eq!(v["results"][0]["status"], "ignored");
    let rows = host_vulns(h, &host).await;
    assert!(rows.iter().all(|r| r["status"] == "ignored"), "{rows:?}");
    assert_eq!(rows[0]["reason"], "TLS is not exposed here");
    assert!(!rows[0]["handled_by"].as_str().unwrap().is_empty());
    assert_eq!(host_score(h, &host).await["score"], 100);
    let (_, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": [keys[0]], "action": "ignore", "reason": "again"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "unchanged", "{v}");
    // An ignored vulnerability stays ignored across scans.
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t + 1, "3.0.11-1~deb12u2"),
    )
    .await
    .unwrap();
    assert!(host_vulns(h, &host)
        .await
        .iter()
        .all(|r| r["status"] == "ignored"));
    let (_, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "unignore"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "changed", "{v}");
    assert_eq!(v["results"][0]["status"], "unfixed");
    assert!(host_score(h, &host).await["score"].as_u64().unwrap() <= 80);

    // The fixed version arrives: a scan marks both fixed.
    h.clock.0.store(real_now() + 100, Ordering::SeqCst);
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t + 2, "3.0.13-1~deb12u1"),
    )
    .await
    .unwrap();
    let rows = host_vulns(h, &host).await;
    for r in &rows {
        assert_eq!(r["status"], "fixed", "{r}");
        assert!(r["fixed_at"].as_i64().unwrap() >= real_now() + 90, "{r}");
    }
    assert_eq!(host_score(h, &host).await["score"], 100);
    let (_, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": [keys[0]], "action": "ignore", "reason": "x"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "unchanged", "{v}");
    assert_eq!(v["results"][0]["status"], "fixed");
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/vulns?host={host}&status=fixed"),
            None,
        )
        .await;
    assert_eq!(v["total"], 2, "{v}");

    // A downgrade brings it back: unfixed, fix time cleared, first sighting kept.
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t + 3, "3.0.11-1~deb12u2"),
    )
    .await
    .unwrap();
    let rows = host_vulns(h, &host).await;
    let ssl = rows.iter().find(|r| r["package"] == "openssl").unwrap();
    assert_eq!(ssl["status"], "unfixed", "{ssl}");
    assert_eq!(ssl["fixed_at"], Value::Null);
    assert_eq!(ssl["first_seen"], first_seen);

    // Verify = rescan now: a signed report_inventory command, delivered with the heartbeat.
    let (status, v) = h
        .api("POST", &format!("/api/v1/hosts/{host}/vulns/verify"), None)
        .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["action"], "report_inventory");
    assert_eq!(v["database_loaded"], true);
    let cmds = delivered(h, &host, &key).await;
    assert!(
        cmds.iter()
            .any(|c| c.id == v["command_id"].as_i64().unwrap()
                && c.action == CommandAction::ReportInventory),
        "{cmds:?}"
    );
    let (status, _) = h
        .api("POST", "/api/v1/hosts/no-such-host/vulns/verify", None)
        .await;
    assert_eq!(status, 404);
    h.clock.0.store(real_now(), Ordering::SeqCst);
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
