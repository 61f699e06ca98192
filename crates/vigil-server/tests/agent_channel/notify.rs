//! Notifications through real SMTP and webhook receivers.

use super::*;

pub(super) fn smtp_server() -> Smtp {
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
pub(super) async fn webhook_receiver() -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
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

pub(super) async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
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
pub(super) async fn notifications(h: &Harness) {
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
