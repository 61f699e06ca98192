//! One conformance suite, run against every backend: SQLite in a temp dir and PostgreSQL in a
//! fresh schema. A backend passes only if it behaves exactly like the other. Each domain is
//! its own test per backend (`sqlite::vulns`, `postgres::vulns`, …), on a fresh store that
//! holds the shared base: operators, tokens, install codes, two hosts and their first batches.

use std::collections::BTreeMap;
use std::sync::Arc;
use vigil_model::{
    AlertKind, AlertStatus, Direction, IpRuleHostState, IpRuleStatus, Level, NewAlert, OutboxState,
    QuarantineState, RuleOrigin, ScopeKind, TokenKind,
};
use vigil_store::testing::{drop_schema, fresh_postgres_schema};
use vigil_store::*;

const T0: i64 = 1_700_000_000;

mod alerts;
mod baseline;
mod commands;
mod ip_rules;
mod lifecycle;
mod notify;
mod vulns;
use alerts::*;
use baseline::*;
use commands::*;
use ip_rules::*;
use lifecycle::*;
use notify::*;
use vulns::*;

/// The suite's way to commit a batch of events and alerts (no stage writes).
trait IngestRows {
    async fn ingest_rows(
        &self,
        host: &str,
        seq: i64,
        events: &[EventRow],
        alerts: &[(NewAlert, Option<i64>)],
        now: i64,
    ) -> Result<Ingested>;
}

impl<T: Store + ?Sized> IngestRows for T {
    async fn ingest_rows(
        &self,
        host: &str,
        seq: i64,
        events: &[EventRow],
        alerts: &[(NewAlert, Option<i64>)],
        now: i64,
    ) -> Result<Ingested> {
        self.ingest(IngestPlan::new(
            host,
            seq,
            events.to_vec(),
            alerts.to_vec(),
            now,
        ))
        .await
    }
}

fn code(id: &str, hash: &str, expires_at: i64) -> InstallCodeRecord {
    InstallCodeRecord {
        id: id.into(),
        code_hash: hash.into(),
        hint: "abcd".into(),
        group: "web".into(),
        os: "linux".into(),
        provider: "idc".into(),
        labels: BTreeMap::from([("env".to_string(), "prod".to_string())]),
        proxy_cluster: None,
        created_at: T0,
        expires_at,
        revoked_at: None,
        uses: 0,
        max_uses: None,
    }
}

/// A distinct 32-byte key per host id.
fn host_key(id: &str) -> Vec<u8> {
    let mut k = vec![7; 32];
    for (i, b) in id.bytes().take(32).enumerate() {
        k[i] = b;
    }
    k
}

fn new_host(id: &str) -> NewHost {
    NewHost {
        id: id.into(),
        hostname: format!("{id}.example"),
        public_key: host_key(id),
        agent_version: "0.1.0".into(),
        os_json: r#"{"id":"debian"}"#.into(),
    }
}

fn alert(key: &str, time: i64) -> (NewAlert, Option<i64>) {
    let a = NewAlert {
        kind: AlertKind::SuspiciousAccount,
        level: Level::Urgent,
        name: format!("account {key}"),
        key: key.into(),
        evidence: vec![("user".into(), key.into())],
        time,
    };
    (a, None)
}

fn ev(time: i64, kind: &str) -> EventRow {
    EventRow {
        time,
        kind: kind.into(),
        body: format!(r#"{{"t":{time}}}"#),
    }
}

/// Operators, tokens, install codes, hosts and ingest: what every domain starts from.
async fn base(store: &dyn Store) {
    // Operators and tokens.
    assert_eq!(store.user_count().await.unwrap(), 0);
    store.create_user("admin", "$argon2id$x", T0).await.unwrap();
    assert!(matches!(
        store.create_user("admin", "y", T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.user("admin").await.unwrap().unwrap().password_hash,
        "$argon2id$x"
    );
    assert_eq!(store.user("nobody").await.unwrap(), None);
    let tok = TokenRecord {
        token_hash: "th".into(),
        username: "admin".into(),
        kind: TokenKind::Api,
        created_at: T0,
        expires_at: None,
    };
    store.add_token(&tok).await.unwrap();
    assert_eq!(store.token("th").await.unwrap(), Some(tok.clone()));
    assert_eq!(store.token("other").await.unwrap(), None);
    let session = TokenRecord {
        token_hash: "sess".into(),
        kind: TokenKind::Session,
        ..tok.clone()
    };
    store.add_token(&session).await.unwrap();
    assert!(store.delete_token("sess").await.unwrap());
    assert!(!store.delete_token("sess").await.unwrap());
    assert_eq!(store.token("sess").await.unwrap(), None);
    assert!(store.token("th").await.unwrap().is_some());

    // Install codes: valid, expired, revoked, unknown.
    store
        .create_install_code(&code("ic-1", "hash1", T0 + 100))
        .await
        .unwrap();
    store
        .create_install_code(&code("ic-2", "hash2", T0 + 100))
        .await
        .unwrap();
    assert_eq!(store.install_codes().await.unwrap().len(), 2);
    assert_eq!(
        store.install_code("hash2").await.unwrap().unwrap().id,
        "ic-2"
    );
    assert_eq!(store.install_code("nope").await.unwrap(), None);
    assert!(store.revoke_install_code("ic-2", T0 + 5).await.unwrap());
    assert!(!store.revoke_install_code("ic-9", T0 + 5).await.unwrap());

    let h1 = store
        .enroll_host("hash1", &new_host("h-1"), T0 + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h1.group, "web");
    assert_eq!(h1.labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(h1.last_seen, Some(T0 + 10));
    assert_eq!(h1.public_key, host_key("h-1"));
    assert_eq!(
        store
            .enroll_host("hash2", &new_host("h-2"), T0 + 10)
            .await
            .unwrap(),
        Err(EnrollRefusal::Revoked { at: T0 + 5 })
    );
    assert_eq!(
        store
            .enroll_host("hash1", &new_host("h-3"), T0 + 100)
            .await
            .unwrap(),
        Err(EnrollRefusal::Expired { at: T0 + 100 })
    );
    assert_eq!(
        store
            .enroll_host("nope", &new_host("h-4"), T0)
            .await
            .unwrap(),
        Err(EnrollRefusal::Unknown)
    );
    store
        .enroll_host("hash1", &new_host("h-5"), T0 + 20)
        .await
        .unwrap()
        .unwrap();
    let codes = store.install_codes().await.unwrap();
    let c1 = codes.iter().find(|c| c.id == "ic-1").unwrap();
    assert_eq!(c1.uses, 2);
    assert_eq!(
        codes.iter().find(|c| c.id == "ic-2").unwrap().revoked_at,
        Some(T0 + 5)
    );
    assert_eq!(store.hosts().await.unwrap().len(), 2);

    // The same key enrolling again with the same code gets its host back, without a use.
    let again = store
        .enroll_host("hash1", &new_host("h-1"), T0 + 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, h1);
    let uses = |codes: Vec<InstallCodeRecord>| codes.iter().find(|c| c.id == "ic-1").unwrap().uses;
    assert_eq!(uses(store.install_codes().await.unwrap()), 2);

    // Groups count installed hosts only.
    assert!(store.create_group("db", T0).await.unwrap());
    assert!(!store.create_group("db", T0).await.unwrap());
    let groups = store.groups().await.unwrap();
    let names: Vec<_> = groups.iter().map(|g| (g.name.as_str(), g.hosts)).collect();
    assert_eq!(names, vec![("db", 0), ("web", 2)]);
    store.mark_uninstalled("h-5", T0 + 30).await.unwrap();
    store.mark_uninstalled("h-5", T0 + 40).await.unwrap();
    assert_eq!(
        store.host("h-5").await.unwrap().unwrap().uninstalled_at,
        Some(T0 + 30)
    );
    assert_eq!(store.groups().await.unwrap()[1].hosts, 1);

    // Heartbeats never move last_seen backwards.
    assert_eq!(h1.agent_stats, "{}");
    store
        .record_heartbeat("h-1", T0 + 50, "0.2.0", r#"{"rss_kb":9}"#)
        .await
        .unwrap();
    store.touch_host("h-1", T0 + 45).await.unwrap();
    let h = store.host("h-1").await.unwrap().unwrap();
    assert_eq!(
        (
            h.last_seen,
            h.agent_version.as_str(),
            h.agent_stats.as_str()
        ),
        (Some(T0 + 50), "0.2.0", r#"{"rss_kb":9}"#)
    );

    // Inventory: a stale snapshot never replaces a newer one.
    store
        .put_inventory("h-1", T0 + 60, r#"{"id":"rocky"}"#, r#"{"v":2}"#)
        .await
        .unwrap();
    store
        .put_inventory("h-1", T0 + 55, r#"{"id":"alpine"}"#, r#"{"v":1}"#)
        .await
        .unwrap();
    assert_eq!(
        store.inventory("h-1").await.unwrap().as_deref(),
        Some(r#"{"v":2}"#)
    );
    let h = store.host("h-1").await.unwrap().unwrap();
    assert_eq!(
        (h.inventory_at, h.os_json.as_str()),
        (Some(T0 + 60), r#"{"id":"rocky"}"#)
    );
    assert_eq!(store.inventory("h-5").await.unwrap(), None);

    // Ingest: once per sequence number, alerts deduplicated by key.
    let batch = vec![ev(T0 + 61, "account_added"), ev(T0 + 62, "port_opened")];
    assert_eq!(
        store
            .ingest_rows("h-1", 1, &batch, &[alert("toor", T0 + 61)], T0 + 63)
            .await
            .unwrap(),
        Ingested::Stored
    );
    assert_eq!(
        store
            .ingest_rows("h-1", 1, &batch, &[alert("toor", T0 + 61)], T0 + 64)
            .await
            .unwrap(),
        Ingested::Duplicate
    );
    assert_eq!(store.event_count(Some("h-1")).await.unwrap(), 2);
    assert_eq!(
        store
            .ingest_rows(
                "h-1",
                3,
                &[ev(T0 + 70, "x")],
                &[alert("toor", T0 + 70), alert("evil", T0 + 70)],
                T0 + 71
            )
            .await
            .unwrap(),
        Ingested::Stored
    );
    // A gap (seq 2 dropped by the agent's spool bound) is accepted; going back is not.
    assert_eq!(
        store
            .ingest_rows("h-1", 2, &[ev(T0, "late")], &[], T0 + 72)
            .await
            .unwrap(),
        Ingested::Duplicate
    );
    assert!(matches!(
        store.ingest_rows("h-404", 1, &batch, &[], T0).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.event_count(None).await.unwrap(), 3);
    let events = store.events("h-1", 10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["x", "port_opened", "account_added"]
    );
    assert_eq!(events[0].seq, 3);
    assert_eq!(store.host("h-1").await.unwrap().unwrap().last_seq, 3);

    let (all, total) = store.alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(total, 2);
    let toor = all.iter().find(|a| a.key == "toor").unwrap();
    assert_eq!(
        (toor.count, toor.first_seen, toor.last_seen),
        (2, T0 + 61, T0 + 70)
    );
    assert_eq!(toor.status, AlertStatus::Unhandled);
    assert_eq!(
        toor.evidence,
        vec![("user".to_string(), "toor".to_string())]
    );
    assert_eq!(store.alert(toor.id).await.unwrap().as_ref(), Some(toor));
    assert_eq!(store.alert(99_999).await.unwrap(), None);

    let filtered = AlertFilter {
        host_id: Some("h-5".into()),
        ..AlertFilter::default()
    };
    assert_eq!(store.alerts(&filtered).await.unwrap().1, 0);
    let filtered = AlertFilter {
        level: Some(Level::Urgent),
        limit: 1,
        ..AlertFilter::default()
    };
    let (page, total) = store.alerts(&filtered).await.unwrap();
    assert_eq!((page.len(), total), (1, 2));
    let filtered = AlertFilter {
        status: Some(AlertStatus::Ignored),
        ..AlertFilter::default()
    };
    assert_eq!(store.alerts(&filtered).await.unwrap().1, 0);
    assert_eq!(
        store.unhandled_alert_counts().await.unwrap(),
        vec![("h-1".to_string(), "urgent".to_string(), 2)]
    );
}

/// A code for N hosts enrolls N and then says so; its own host may still enroll again.
async fn limited_codes(store: &dyn Store) {
    let one = InstallCodeRecord {
        max_uses: Some(1),
        ..code("ic-3", "hash3", T0 + 100)
    };
    store.create_install_code(&one).await.unwrap();
    let h6 = store
        .enroll_host("hash3", &new_host("h-6"), T0 + 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .enroll_host("hash3", &new_host("h-7"), T0 + 31)
            .await
            .unwrap(),
        Err(EnrollRefusal::UsedUp { max: 1 })
    );
    let back = store
        .enroll_host("hash3", &new_host("h-6"), T0 + 32)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.id, h6.id);
    assert_eq!(store.install_code("hash3").await.unwrap().unwrap().uses, 1);

    // With digests: a retry of the last batch is a duplicate, another batch at or below the
    // last number means the agent is behind.
    let plan = |seq: i64, digest: &str| {
        IngestPlan::new(
            &h6.id,
            seq,
            vec![ev(T0 + 40, "port_opened")],
            vec![],
            T0 + 40,
        )
        .with_digest(digest.to_string())
    };
    assert_eq!(store.ingest(plan(1, "d1")).await.unwrap(), Ingested::Stored);
    assert_eq!(
        store.ingest(plan(1, "d1")).await.unwrap(),
        Ingested::Duplicate
    );
    assert_eq!(
        store.ingest(plan(1, "other")).await.unwrap(),
        Ingested::Behind { next_seq: 2 }
    );
    assert_eq!(store.ingest(plan(2, "d2")).await.unwrap(), Ingested::Stored);
    assert_eq!(
        store.ingest(plan(1, "d1")).await.unwrap(),
        Ingested::Behind { next_seq: 3 }
    );
    assert_eq!(store.events(&h6.id, 10).await.unwrap().len(), 2);
}

/// Nothing beyond the base; with the reopen checks of the backend tests.
async fn base_only(_store: &dyn Store) {}

async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vigil.db").display());
    (open(&url).await.unwrap(), dir, url)
}

/// One test per domain and backend, each on a fresh store with the base in it.
macro_rules! per_domain {
    ($($domain:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $domain() {
                    let (store, _dir, _) = super::sqlite_store().await;
                    super::base(store.as_ref()).await;
                    super::$domain(store.as_ref()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $domain() {
                    let schema = vigil_store::testing::fresh_postgres_schema().await;
                    let store = vigil_store::open(&schema.url).await.unwrap();
                    super::base(store.as_ref()).await;
                    super::$domain(store.as_ref()).await;
                    vigil_store::testing::drop_schema(&schema).await;
                }
            )*
        }
    };
}

per_domain!(
    base_only,
    lifecycle,
    commands,
    notifications,
    alert_queries,
    capped_counts,
    ip_rules,
    attacks,
    vulns,
    limited_codes,
    baseline,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reopens_without_migrating_twice() {
    let (store, _dir, url) = sqlite_store().await;
    base(store.as_ref()).await;
    limited_codes(store.as_ref()).await;
    drop(store);
    let again = open(&url).await.unwrap();
    // h-1, h-5 and the limited code's h-6.
    assert_eq!(again.hosts().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reopens_without_migrating_twice() {
    let schema = fresh_postgres_schema().await;
    let store = open(&schema.url).await.unwrap();
    base(store.as_ref()).await;
    limited_codes(store.as_ref()).await;
    let again = open(&schema.url).await.unwrap();
    assert_eq!(again.hosts().await.unwrap().len(), 3);
    drop_schema(&schema).await;
}

#[tokio::test]
async fn bad_urls_are_refused() {
    assert!(matches!(
        open("mysql://x").await,
        Err(StoreError::BadUrl(_))
    ));
}
