//! Enrollment, signed requests, batches committed once, uninstall, online/offline, API errors.

use super::*;

pub(super) async fn enrollment(h: &Harness) {
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

pub(super) async fn signatures(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let report = Heartbeat {
        agent_version: "0.1.0".into(),
        spool: SpoolStats {
            pending_batches: 1,
            pending_bytes: 10,
            dropped_events: 7,
            write_failures: 2,
            resynced_batches: 0,
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

pub(super) async fn batches(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let before = h.store.event_count(None).await.unwrap();
    let send_body = |body: Vec<u8>| h.post(PATH_EVENTS, &host, &key, body);
    let send = |seq| send_body(codec::encode(&backdoor_batch(seq)));
    // The agent retries with the very bytes it spooled.
    let first = codec::encode(&backdoor_batch(1));
    let ack: BatchAck = serde_json::from_slice(&send_body(first.clone()).await.unwrap()).unwrap();
    assert_eq!(
        ack,
        BatchAck {
            seq: 1,
            stored: true,
            behind: None
        }
    );
    // A retry is signed anew (a byte-identical request within the second is a replay).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let ack: BatchAck = serde_json::from_slice(&send_body(first).await.unwrap()).unwrap();
    assert_eq!(
        ack,
        BatchAck {
            seq: 1,
            stored: false,
            behind: None
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

pub(super) async fn lifecycle(h: &Harness) {
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

pub(super) async fn api_errors(h: &Harness) {
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
pub(super) async fn openapi_matches_routes(h: &Harness) {
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
