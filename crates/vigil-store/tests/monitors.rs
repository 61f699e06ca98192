//! Conformance of the agent's monitor health on the host row, on SQLite and PostgreSQL alike.

use std::collections::BTreeMap;
use std::sync::Arc;
use vigil_store::testing::{drop_schema, fresh_postgres_schema};
use vigil_store::*;

const T0: i64 = 1_700_000_000;

async fn enrolled(store: &dyn Store, id: &str) {
    store
        .create_install_code(&InstallCodeRecord {
            id: format!("ic-{id}"),
            code_hash: format!("hash-{id}"),
            hint: "abcd".into(),
            group: "web".into(),
            os: "linux".into(),
            provider: "idc".into(),
            labels: BTreeMap::new(),
            proxy_cluster: None,
            created_at: T0,
            expires_at: T0 + 3600,
            revoked_at: None,
            uses: 0,
            max_uses: None,
        })
        .await
        .unwrap();
    let host = NewHost {
        id: id.into(),
        hostname: format!("{id}.example"),
        public_key: vec![7; 32],
        agent_version: "0.1.0".into(),
        os_json: "{}".into(),
    };
    store
        .enroll_host(&format!("hash-{id}"), &host, T0)
        .await
        .unwrap()
        .unwrap();
}

async fn check(store: Arc<dyn Store>) {
    enrolled(store.as_ref(), "h-1").await;
    enrolled(store.as_ref(), "h-2").await;
    // None reported yet: an empty list.
    assert_eq!(store.host("h-1").await.unwrap().unwrap().monitors, "[]");

    let first = r#"[{"name":"logins","state":"degraded"}]"#;
    store
        .record_heartbeat_health("h-1", T0 + 10, "0.2.0", r#"{"rss_kb":9}"#, first)
        .await
        .unwrap();
    let h = store.host("h-1").await.unwrap().unwrap();
    assert_eq!(
        (
            h.last_seen,
            h.agent_version.as_str(),
            h.agent_stats.as_str(),
            h.monitors.as_str()
        ),
        (Some(T0 + 10), "0.2.0", r#"{"rss_kb":9}"#, first)
    );
    // The next report replaces it whole; last_seen still never moves backwards.
    let second = r#"[{"name":"logins","state":"running"},{"name":"firewall","state":"running"}]"#;
    store
        .record_heartbeat_health("h-1", T0 + 5, "0.2.1", "{}", second)
        .await
        .unwrap();
    let h = store.host("h-1").await.unwrap().unwrap();
    assert_eq!(
        (h.last_seen, h.agent_version.as_str(), h.monitors.as_str()),
        (Some(T0 + 10), "0.2.1", second)
    );
    // A heartbeat without monitors (the older method) keeps the last ones.
    store
        .record_heartbeat("h-1", T0 + 20, "0.2.1", "{}")
        .await
        .unwrap();
    assert_eq!(store.host("h-1").await.unwrap().unwrap().monitors, second);
    // Other hosts are untouched, in the list as alone.
    let hosts = store.hosts().await.unwrap();
    let other = hosts.iter().find(|h| h.id == "h-2").unwrap();
    assert_eq!(other.monitors, "[]");
    assert_eq!(
        hosts.iter().find(|h| h.id == "h-1").unwrap().monitors,
        second
    );
    // An unknown host is no error and creates nothing.
    store
        .record_heartbeat_health("h-9", T0, "0.2.1", "{}", first)
        .await
        .unwrap();
    assert!(store.host("h-9").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_monitor_health() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vigil.db").display());
    check(open(&url).await.unwrap()).await;
    let again = open(&url).await.unwrap();
    assert!(again
        .host("h-1")
        .await
        .unwrap()
        .unwrap()
        .monitors
        .contains("firewall"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_monitor_health() {
    let schema = fresh_postgres_schema().await;
    check(open(&schema.url).await.unwrap()).await;
    drop_schema(&schema).await;
}
