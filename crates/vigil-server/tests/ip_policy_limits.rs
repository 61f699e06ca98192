//! The IP policy's guard rails: no block of the management server's own address, no network
//! wider than the prefix limit without an explicit confirmation, no endless timed block, and no
//! access whitelist so wide it turns the brute-force rule off.

mod support;

use serde_json::json;
use support::Server;

async fn block(s: &Server, target: &str, duration: &str, confirm: bool) -> (u16, String) {
    let (status, v) = s
        .api(
            "POST",
            "/api/v1/ip-rules",
            Some(json!({"target": target, "duration": duration, "confirm_wide": confirm})),
        )
        .await;
    (
        status,
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_own_and_endless_blocks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("v.db").display());
    let s = Server::start_configured(&url, tempfile::tempdir().unwrap(), |cfg| {
        cfg.public_url = Some("https://192.0.2.10:8601".into());
        cfg.never_block = vec!["203.0.113.50".parse().unwrap()];
    })
    .await;

    for wide in ["128.0.0.0/1", "10.0.0.0/7", "8000::/1", "2001:db8::/31"] {
        let (status, msg) = block(&s, wide, "12h", false).await;
        assert_eq!(status, 400, "{wide}: {msg}");
        assert!(msg.contains("confirm"), "{wide}: {msg}");
    }
    // At the limit it goes through (a confirmed wide block further down).
    assert_eq!(block(&s, "10.0.0.0/8", "12h", false).await.0, 201);
    assert_eq!(block(&s, "2001:db8::/32", "12h", false).await.0, 201);

    // The server's own address (the host of its public URL) and a configured proxy address,
    // even inside a confirmed wide network.
    for (target, confirm) in [
        ("192.0.2.10", false),
        ("192.0.2.0/24", false),
        ("128.0.0.0/1", true),
        ("203.0.113.50/32", false),
    ] {
        // 192.0.2.10 and 203.0.113.50 are both in 128.0.0.0/1.
        let (status, msg) = block(&s, target, "12h", confirm).await;
        assert_eq!(status, 400, "{target}: {msg}");
        assert!(msg.contains("management server"), "{target}: {msg}");
    }
    let (status, msg) = block(&s, "160.0.0.0/3", "12h", true).await;
    assert_eq!(status, 201, "{msg}");

    // A year and a day at most; permanent has to be said.
    let (status, msg) = block(&s, "198.51.100.7", "367d", false).await;
    assert_eq!(status, 400, "{msg}");
    assert!(msg.contains("permanent"), "{msg}");
    assert_eq!(block(&s, "198.51.100.7", "366d", false).await.0, 201);
    assert_eq!(block(&s, "198.51.100.8", "permanent", false).await.0, 201);

    // An access whitelist of everything is refused; a private /8 is fine.
    let settings = |wl: &str| {
        json!({"span_mins": 10, "max_failures": 80, "block_mins": 360,
               "access_whitelist": [wl]})
    };
    let (status, v) = s
        .api("PUT", "/api/v1/login-settings", Some(settings("0.0.0.0/0")))
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("wider than"), "{v}");
    let (status, v) = s
        .api(
            "PUT",
            "/api/v1/login-settings",
            Some(settings("10.0.0.0/8")),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    s.running.stop().await;
}
