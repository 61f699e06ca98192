//! Login events and the fleet, group and host scoped login settings.

use super::*;

/// What an agent's login watch sends: a brute-force alert with the block it applied, failure
/// counts, a successful login. The alert is `blocked`, the block is a system rule already
/// applied on that host, and the attack analysis counts it all.
pub(super) async fn login_events(h: &Harness) {
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
pub(super) async fn scoped_login_settings(h: &Harness) {
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
pub(super) struct Smtp {
    pub(super) port: u16,
    pub(super) dir: tempfile::TempDir,
    pub(super) child: std::process::Child,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
