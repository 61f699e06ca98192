//! Detection content is data: an override under `<data>/content` changes what the asset rules
//! raise within a poll, a malformed one is refused with its file and error while the previous
//! content stays in force, and removing the override brings the shipped content back.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{now, Server};
use vigil_model::{Event, EventBody, ListeningSocket, Protocol};
use vigil_proto::agent::EventBatch;

fn port_opened(seq: u64, port: u16) -> EventBatch {
    EventBatch {
        seq,
        events: vec![Event {
            time: now(),
            body: EventBody::PortOpened {
                socket: ListeningSocket {
                    protocol: Protocol::Tcp,
                    address: "0.0.0.0".into(),
                    port,
                    process: "demo".into(),
                    ..Default::default()
                },
            },
        }],
    }
}

/// Polls `GET /api/v1/content` until `ready` holds (the server looks every second here).
async fn content_until(s: &Server, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (status, v) = s.api("GET", "/api/v1/content", None).await;
        assert_eq!(status, 200, "{v}");
        if ready(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the content never reached the expected state");
}

fn origin(v: &Value, path: &str) -> String {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .map(|f| f["origin"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn port_alerts(s: &Server, host: &str) -> Vec<String> {
    let (status, v) = s
        .api("GET", &format!("/api/v1/alerts?host={host}"), None)
        .await;
    assert_eq!(status, 200, "{v}");
    let mut keys: Vec<String> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "suspicious_port")
        .flat_map(|a| a["evidence"].as_array().unwrap().clone())
        .filter(|e| e["name"] == "port")
        .map(|e| format!("port:tcp:{}", e["value"].as_str().unwrap()))
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_reload_and_bad_ones_leave_the_old_content_in_force() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("v.db").display());
    let s = Server::start_configured(&url, tempfile::tempdir().unwrap(), |cfg| {
        cfg.content_poll_secs = 1;
    })
    .await;
    let v = content_until(&s, |_| true).await;
    assert_eq!(origin(&v, "rules/assets.toml"), "embedded", "{v}");
    assert!(v["rejected"].is_null(), "{v}");
    let shipped = v["version"].as_str().unwrap().to_string();

    let (status, v) = s
        .api(
            "POST",
            "/api/v1/install-codes",
            Some(json!({"expires": "1h"})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (host, key) = s.enroll(v["code"].as_str().unwrap()).await;
    assert!(
        s.send(&host, &key, &port_opened(1, 6379))
            .await
            .unwrap()
            .stored
    );
    assert_eq!(port_alerts(&s, &host).await, ["port:tcp:6379"]);

    // An override that quiets tcp/8080 and says its own version.
    let tree = s.dir.path().join("content");
    std::fs::create_dir_all(tree.join("rules")).unwrap();
    let assets = vigil_content::EMBEDDED[1]
        .1
        .replace("quiet = []", "quiet = [\"tcp/8080\"]");
    assert_ne!(assets, vigil_content::EMBEDDED[1].1);
    std::fs::write(tree.join("rules/assets.toml"), &assets).unwrap();
    std::fs::write(tree.join("manifest.toml"), "version = \"site-1\"\n").unwrap();
    let v = content_until(&s, |v| v["version"] == "site-1").await;
    assert_eq!(origin(&v, "rules/assets.toml"), "override", "{v}");
    assert!(
        s.send(&host, &key, &port_opened(2, 8080))
            .await
            .unwrap()
            .stored
    );
    assert_eq!(port_alerts(&s, &host).await, ["port:tcp:6379"]);

    // A malformed file is refused, named, and the override above stays in force.
    std::fs::write(
        tree.join("rules/assets.toml"),
        assets.replace("level = \"reminder\"", "level = \"loud\""),
    )
    .unwrap();
    let v = content_until(&s, |v| !v["rejected"].is_null()).await;
    assert_eq!(v["rejected"]["file"], "rules/assets.toml", "{v}");
    assert!(
        v["rejected"]["message"].as_str().unwrap().contains("loud"),
        "{v}"
    );
    assert_eq!(v["version"], "site-1", "{v}");
    assert!(
        s.send(&host, &key, &port_opened(3, 8080))
            .await
            .unwrap()
            .stored
    );
    assert!(
        s.send(&host, &key, &port_opened(4, 9090))
            .await
            .unwrap()
            .stored
    );
    assert_eq!(
        port_alerts(&s, &host).await,
        ["port:tcp:6379", "port:tcp:9090"]
    );

    // Removing the tree brings the shipped content back, and the refusal is cleared.
    std::fs::remove_dir_all(&tree).unwrap();
    let v = content_until(&s, |v| v["version"] == shipped.as_str()).await;
    assert!(v["rejected"].is_null(), "{v}");
    assert_eq!(origin(&v, "rules/assets.toml"), "embedded", "{v}");
    assert!(
        s.send(&host, &key, &port_opened(5, 8080))
            .await
            .unwrap()
            .stored
    );
    assert_eq!(
        port_alerts(&s, &host).await,
        ["port:tcp:6379", "port:tcp:8080", "port:tcp:9090"]
    );
    s.running.stop().await;
}
