//! Notification secrets at rest: the SMTP password and a webhook's token are not in the
//! database file, only sealed with the data directory's key; settings stored before sealing are
//! sealed at the next start and still work.

mod support;

use serde_json::json;
use support::Server;
use vigil_store::prelude::*;

const PASSWORD: &str = "smtp-pass-4f1c9a";
const HOOK_TOKEN: &str = "dingtalk-token-77e0b2";

/// Every byte the SQLite database keeps on disk (the file and its write-ahead log).
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["vigil.db", "vigil.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_database_reveals_no_notification_secret() {
    let db_dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db_dir.path().join("vigil.db").display());
    let s = Server::start(&url).await;
    let (status, v) = s
        .api(
            "PUT",
            "/api/v1/notify/settings",
            Some(json!({"utc_offset_minutes": 60, "smtp": {"host": "127.0.0.1", "port": 2525,
                "tls": "none", "from": "vigil@example.com", "username": "vigil", "password": PASSWORD}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["smtp"]["password_set"], true);
    let hook = format!("https://oapi.dingtalk.com/robot/send?access_token={HOOK_TOKEN}");
    let (status, v) = s
        .api(
            "POST",
            "/api/v1/notify/channels",
            Some(json!({"name": "chat", "config": {"id": 0,
                "kind": {"type": "webhook", "url": hook, "shape": "dingtalk"},
                "levels": ["urgent"]}})),
        )
        .await;
    assert_eq!(status, 201, "{v}");

    // Nothing secret in the rows or the file, but the server still reads its settings.
    let stored = s.store.setting("notify.smtp").await.unwrap().unwrap();
    assert!(!stored.contains(PASSWORD) && stored.starts_with("vigil-sealed:v1:"));
    for row in s.store.notify_channels().await.unwrap() {
        assert!(!row.config.contains(HOOK_TOKEN), "{}", row.config);
    }
    let bytes = database_bytes(db_dir.path());
    assert!(!bytes.is_empty());
    assert!(
        !contains(&bytes, PASSWORD),
        "the SMTP password is in the database file"
    );
    assert!(
        !contains(&bytes, HOOK_TOKEN),
        "the webhook token is in the database file"
    );
    let (_, v) = s.api("GET", "/api/v1/notify/settings", None).await;
    assert_eq!(
        (
            v["smtp"]["host"].as_str(),
            v["smtp"]["password_set"].as_bool()
        ),
        (Some("127.0.0.1"), Some(true))
    );
    let (_, v) = s.api("GET", "/api/v1/notify/channels", None).await;
    assert_eq!(v["channels"].as_array().map(Vec::len), Some(1), "{v}");

    // A channel stored in the clear (an older installation) is sealed at the next start and
    // still listed.
    s.store
        .add_notify_channel(
            "old",
            &json!({"id": 0, "kind": {"type": "webhook", "url": format!("https://hooks.example/{HOOK_TOKEN}"),
                "shape": "generic"}, "levels": ["urgent"]})
            .to_string(),
            support::now(),
        )
        .await
        .unwrap();
    let dir = s.dir;
    s.running.stop().await;
    let s = Server::start_in(&url, dir).await;
    for row in s.store.notify_channels().await.unwrap() {
        assert!(row.config.starts_with("vigil-sealed:v1:"), "{}", row.config);
    }
    let (_, v) = s.api("GET", "/api/v1/notify/channels", None).await;
    assert_eq!(v["channels"].as_array().map(Vec::len), Some(2), "{v}");

    // Another data directory's key opens nothing: the settings read as unreadable, not garbage.
    let dir = s.dir;
    s.running.stop().await;
    std::fs::remove_file(dir.path().join("secrets.key")).unwrap();
    let s = Server::start_in(&url, dir).await;
    let (_, v) = s.api("GET", "/api/v1/notify/settings", None).await;
    assert!(v["smtp"].is_null(), "{v}");
    let (_, v) = s.api("GET", "/api/v1/notify/channels", None).await;
    assert_eq!(v["channels"].as_array().map(Vec::len), Some(0), "{v}");
    s.running.stop().await;
}
