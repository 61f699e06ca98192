//! Alerts raised from batches, handled by an operator, and related alerts handled together.

use super::*;

pub(super) fn port_batch(seq: u64, port: u16) -> EventBatch {
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

pub(super) async fn handle(h: &Harness, body: Value) -> (u16, Value) {
    h.api("POST", "/api/v1/alerts/handle", Some(body)).await
}

pub(super) async fn alert_of(h: &Harness, host: &str, kind: &str) -> Value {
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
pub(super) async fn alert_handling(h: &Harness) {
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

pub(super) fn pid_batch(seq: u64, port: u16, pid: u32) -> EventBatch {
    let mut b = port_batch(seq, port);
    if let EventBody::PortOpened { socket } = &mut b.events[0].body {
        socket.pid = pid;
    }
    b
}

/// Alerts about the same process are linked and can be handled together.
pub(super) async fn related_alerts(h: &Harness) {
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
