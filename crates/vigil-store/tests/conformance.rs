//! One conformance suite, run against every backend: SQLite in a temp dir and PostgreSQL in a
//! fresh schema. A backend passes only if it behaves exactly like the other.

use std::collections::BTreeMap;
use std::sync::Arc;
use vigil_model::{
    AlertKind, AlertStatus, Direction, IpRuleHostState, IpRuleStatus, Level, NewAlert, OutboxState,
    QuarantineState, RuleOrigin, ScopeKind, TokenKind,
};
use vigil_store::testing::{drop_schema, fresh_postgres_schema};
use vigil_store::*;

const T0: i64 = 1_700_000_000;

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

async fn check(store: Arc<dyn Store>) {
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

    lifecycle(store.as_ref()).await;
    commands(store.as_ref()).await;
    notifications(store.as_ref()).await;
    alert_queries(store.as_ref()).await;
    capped_counts(store.as_ref()).await;
    ip_rules(store.as_ref()).await;
    attacks(store.as_ref()).await;
    vulns(store.as_ref()).await;
    limited_codes(store.as_ref()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vigil.db").display());
    check(open(&url).await.unwrap()).await;
    // Reopening applies no migration twice and keeps the data.
    let again = open(&url).await.unwrap();
    // h-1, h-5 and the limited code's h-6.
    assert_eq!(again.hosts().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conforms() {
    let schema = fresh_postgres_schema().await;
    check(open(&schema.url).await.unwrap()).await;
    let again = open(&schema.url).await.unwrap();
    // h-1, h-5 and the limited code's h-6.
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

/// Statuses, recurrence, expiry and whitelist rules, on top of the data `check` left.
async fn lifecycle(store: &dyn Store) {
    use vigil_store::Transition;
    let id_of =
        |alerts: &[AlertRecord], key: &str| alerts.iter().find(|a| a.key == key).unwrap().id;
    let (all, _) = store.alerts(&AlertFilter::default()).await.unwrap();
    let (toor, evil) = (id_of(&all, "toor"), id_of(&all, "evil"));

    // Ignore once; the second operator learns it was already ignored.
    let from = [AlertStatus::Unhandled, AlertStatus::Expired];
    let t = store
        .transition_alerts(
            &[toor, 424_242],
            &from,
            AlertStatus::Ignored,
            "ops",
            "known",
            T0 + 80,
        )
        .await
        .unwrap();
    assert_eq!(
        t,
        vec![Transition::Changed(toor), Transition::Missing(424_242)]
    );
    let t = store
        .transition_alerts(&[toor], &from, AlertStatus::Ignored, "bob", "", T0 + 81)
        .await
        .unwrap();
    assert_eq!(
        t,
        vec![Transition::Unchanged {
            id: toor,
            status: AlertStatus::Ignored
        }]
    );
    let a = store.alert(toor).await.unwrap().unwrap();
    assert_eq!(
        (a.handled_by.as_str(), a.note.as_str(), a.handled_at),
        ("ops", "known", Some(T0 + 80))
    );

    // Recurrence: an ignored alert stays ignored; a handled one comes back.
    store
        .ingest_rows("h-1", 10, &[], &[alert("toor", T0 + 90)], T0 + 90)
        .await
        .unwrap();
    assert_eq!(
        store.alert(toor).await.unwrap().unwrap().status,
        AlertStatus::Ignored
    );
    store
        .transition_alerts(&[evil], &from, AlertStatus::Handled, "ops", "", T0 + 91)
        .await
        .unwrap();
    store
        .ingest_rows("h-1", 11, &[], &[alert("evil", T0 + 92)], T0 + 92)
        .await
        .unwrap();
    let e = store.alert(evil).await.unwrap().unwrap();
    assert_eq!(
        (e.status, e.last_seen, e.count),
        (AlertStatus::Unhandled, T0 + 92, 2)
    );

    // Thirty days without recurring: expired; recurring again: unhandled.
    assert_eq!(store.expire_alerts(T0 + 92).await.unwrap(), 0);
    assert_eq!(
        store.expire_alerts(T0 + 93).await.unwrap(),
        1,
        "only unhandled alerts expire"
    );
    assert_eq!(
        store.alert(evil).await.unwrap().unwrap().status,
        AlertStatus::Expired
    );
    store
        .ingest_rows("h-1", 12, &[], &[alert("evil", T0 + 100)], T0 + 100)
        .await
        .unwrap();
    assert_eq!(
        store.alert(evil).await.unwrap().unwrap().status,
        AlertStatus::Unhandled
    );

    // Whitelist rules: alerts covered become whitelisted; deleting the rule brings them back.
    let rule = WhitelistRuleRecord {
        id: 0,
        kind: AlertKind::SuspiciousAccount,
        scope: ScopeKind::Host,
        scope_value: "h-1".into(),
        fields: BTreeMap::from([("user".to_string(), "evil".to_string())]),
        note: "lab account".into(),
        created_at: T0 + 101,
        created_by: "ops".into(),
    };
    let rule_id = store.add_whitelist_rule(&rule).await.unwrap();
    let rules = store.whitelist_rules().await.unwrap();
    assert_eq!(
        rules,
        vec![WhitelistRuleRecord {
            id: rule_id,
            ..rule
        }]
    );
    let open = store
        .alerts_of_kind(AlertKind::SuspiciousAccount, &[AlertStatus::Unhandled])
        .await
        .unwrap();
    assert_eq!(open.iter().map(|a| a.id).collect::<Vec<_>>(), vec![evil]);
    assert_eq!(
        store
            .whitelist_alerts(&[evil], rule_id, "ops", T0 + 102)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .whitelist_alerts(&[evil], rule_id, "ops", T0 + 102)
            .await
            .unwrap(),
        0
    );
    let w = store.alert(evil).await.unwrap().unwrap();
    assert_eq!(
        (w.status, w.whitelist_rule_id),
        (AlertStatus::Whitelisted, Some(rule_id))
    );
    let filter = AlertFilter {
        status: Some(AlertStatus::Whitelisted),
        ..AlertFilter::default()
    };
    assert_eq!(store.alerts(&filter).await.unwrap().1, 1);

    // A new alert the rule covers arrives whitelisted, and recurrence keeps it so.
    let (fresh, _) = alert("evil2", T0 + 103);
    store
        .ingest_rows("h-1", 13, &[], &[(fresh.clone(), Some(rule_id))], T0 + 103)
        .await
        .unwrap();
    store
        .ingest_rows("h-1", 14, &[], &[(fresh, None)], T0 + 104)
        .await
        .unwrap();
    let (all, _) = store.alerts(&AlertFilter::default()).await.unwrap();
    let evil2 = all.iter().find(|a| a.key == "evil2").unwrap();
    assert_eq!(
        (evil2.status, evil2.whitelist_rule_id),
        (AlertStatus::Whitelisted, Some(rule_id))
    );

    assert_eq!(store.delete_whitelist_rule(rule_id).await.unwrap(), Some(2));
    assert_eq!(store.delete_whitelist_rule(rule_id).await.unwrap(), None);
    let back = store.alert(evil).await.unwrap().unwrap();
    assert_eq!(
        (back.status, back.whitelist_rule_id),
        (AlertStatus::Unhandled, None)
    );
    assert!(store.whitelist_rules().await.unwrap().is_empty());
}

/// Host actions: queued, sent, finished once by their own host, timed out; quarantine records.
async fn commands(store: &dyn Store) {
    let cmd = |alert: Option<i64>, expires_at| NewCommand {
        host_id: "h-1".into(),
        alert_id: alert,
        action: "kill_process".into(),
        params: r#"{"pid":42}"#.into(),
        created_at: T0 + 200,
        created_by: "ops".into(),
        expires_at,
    };
    let a = store.queue_command(&cmd(Some(7), T0 + 300)).await.unwrap();
    let b = store.queue_command(&cmd(None, T0 + 250)).await.unwrap();
    let pending = store.pending_commands("h-1", T0 + 201).await.unwrap();
    assert_eq!(pending.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a, b]);
    assert_eq!(
        (pending[0].state.as_str(), pending[0].alert_id),
        ("queued", Some(7))
    );
    assert!(store
        .pending_commands("h-5", T0 + 201)
        .await
        .unwrap()
        .is_empty());
    store.mark_commands_sent(&[a, b], T0 + 202).await.unwrap();
    // Sent but unfinished commands are offered again (the agent skips ids it already ran).
    let again = store.pending_commands("h-1", T0 + 203).await.unwrap();
    assert_eq!(
        (again.len(), again[0].state.as_str(), again[0].sent_at),
        (2, "sent", Some(T0 + 202))
    );

    assert_eq!(
        store
            .finish_command("h-5", a, true, "x", "null", T0 + 204)
            .await
            .unwrap(),
        None,
        "another host's"
    );
    let done = store
        .finish_command("h-1", a, false, "no such process", "null", T0 + 204)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.state.as_str(), done.message.as_str(), done.finished_at),
        ("failed", "no such process", Some(T0 + 204))
    );
    assert_eq!(
        store
            .finish_command("h-1", a, true, "again", "null", T0 + 205)
            .await
            .unwrap(),
        None,
        "once only"
    );

    let expired = store.expire_commands(T0 + 250).await.unwrap();
    assert_eq!(expired.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b]);
    // Returned as they are now, on both backends.
    assert_eq!(
        (expired[0].state, expired[0].finished_at),
        (vigil_model::CommandState::TimedOut, Some(T0 + 250))
    );
    assert!(store.expire_commands(T0 + 251).await.unwrap().is_empty());
    let listed = store.commands(Some("h-1"), 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.state.as_str()).collect::<Vec<_>>(),
        vec!["timed_out", "failed"]
    );
    assert!(store
        .pending_commands("h-1", T0 + 210)
        .await
        .unwrap()
        .is_empty());

    let q = QuarantineRecord {
        host_id: "h-1".into(),
        qid: "0123456789abcdef".into(),
        path: "/tmp/evil".into(),
        sha256: "aa".into(),
        md5: "bb".into(),
        size: 10,
        quarantined_at: T0 + 206,
        state: QuarantineState::Quarantined,
        restored_at: None,
        record: "{}".into(),
    };
    store.put_quarantined(&q).await.unwrap();
    assert_eq!(store.quarantined(None).await.unwrap(), vec![q.clone()]);
    assert!(store.quarantined(Some("h-5")).await.unwrap().is_empty());
    assert!(store.mark_restored("h-1", &q.qid, T0 + 207).await.unwrap());
    assert!(!store.mark_restored("h-1", &q.qid, T0 + 208).await.unwrap());
    let r = &store.quarantined(Some("h-1")).await.unwrap()[0];
    assert_eq!(
        (r.state.as_str(), r.restored_at),
        ("restored", Some(T0 + 207))
    );
}

/// Settings, channels, the outbox (claimed once, attempts kept), day counts, inbox.
async fn notifications(store: &dyn Store) {
    assert_eq!(store.setting("smtp").await.unwrap(), None);
    store.put_setting("smtp", "{\"host\":\"a\"}").await.unwrap();
    store.put_setting("smtp", "{\"host\":\"b\"}").await.unwrap();
    assert_eq!(
        store.setting("smtp").await.unwrap().as_deref(),
        Some("{\"host\":\"b\"}")
    );

    let ch = store
        .add_notify_channel("ops mail", "{}", T0)
        .await
        .unwrap();
    let other = store.add_notify_channel("hook", "{}", T0).await.unwrap();
    assert_eq!(store.notify_channels().await.unwrap().len(), 2);
    assert!(store.delete_notify_channel(other).await.unwrap());
    assert!(!store.delete_notify_channel(other).await.unwrap());

    let row = |alert: Option<i64>, host: &str, next_at| OutboxRow {
        id: 0,
        channel_id: ch,
        host_id: host.into(),
        alert_id: alert,
        state: OutboxState::Pending,
        next_at,
        created_at: T0,
        day_start: T0,
        item: "{}".into(),
    };
    assert!(!store.was_notified(ch, 5).await.unwrap());
    let a = store
        .enqueue_notification(&row(Some(5), "h-1", T0 + 10))
        .await
        .unwrap();
    let b = store
        .enqueue_notification(&row(Some(6), "h-5", T0 + 20))
        .await
        .unwrap();
    store
        .enqueue_notification(&row(None, "h-1", T0 + 30))
        .await
        .unwrap();
    assert!(store.was_notified(ch, 5).await.unwrap());
    assert_eq!(
        store.notify_counts(ch, T0, "h-1").await.unwrap(),
        (2, 1),
        "digests do not count"
    );
    assert_eq!(
        store.notify_counts(ch, T0 + 86_400, "h-1").await.unwrap(),
        (0, 0)
    );

    // Due rows are claimed once: the lease hides them until it ends.
    let due = store.claim_outbox(T0 + 15, T0 + 75, 10).await.unwrap();
    assert_eq!(due.iter().map(|r| r.id).collect::<Vec<_>>(), vec![a]);
    assert!(store
        .claim_outbox(T0 + 16, T0 + 76, 10)
        .await
        .unwrap()
        .is_empty());
    store
        .record_outbox_attempt(
            a,
            OutboxState::Pending,
            T0 + 100,
            "{\"attempts\":1}",
            1,
            T0 + 16,
            "{\"failed\":1}",
        )
        .await
        .unwrap();
    store
        .record_outbox_attempt(
            a,
            OutboxState::Sent,
            T0 + 100,
            "{\"attempts\":2}",
            2,
            T0 + 101,
            "{\"sent\":1}",
        )
        .await
        .unwrap();
    assert_eq!(
        store.outbox_attempts(a).await.unwrap(),
        vec![
            (1, T0 + 16, "{\"failed\":1}".to_string()),
            (2, T0 + 101, "{\"sent\":1}".to_string())
        ]
    );
    let due = store.claim_outbox(T0 + 200, T0 + 260, 10).await.unwrap();
    assert!(
        due.iter().all(|r| r.id != a),
        "sent rows are never claimed again"
    );
    assert!(due.iter().any(|r| r.id == b));
    let listed = store.outbox(10).await.unwrap();
    assert_eq!(
        listed.iter().find(|r| r.id == a).unwrap().state,
        OutboxState::Sent
    );

    let id = store
        .add_inbox(&InboxRow {
            id: 0,
            alert_id: Some(5),
            host_id: "h-1".into(),
            title: "t".into(),
            body: "b".into(),
            created_at: T0,
            read_at: None,
        })
        .await
        .unwrap();
    assert!(store.mark_inbox_read(id, T0 + 5).await.unwrap());
    store.mark_inbox_read(id, T0 + 9).await.unwrap();
    assert_eq!(store.inbox(10).await.unwrap()[0].read_at, Some(T0 + 5));

    let (all, _) = store.alerts(&AlertFilter::default()).await.unwrap();
    let first = &all[0];
    let found = store
        .alert_by_key(&first.host_id, first.kind, &first.key)
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(first));
    assert_eq!(
        store
            .alert_by_key("h-1", first.kind, "no-such-key")
            .await
            .unwrap(),
        None
    );
    store.link_alerts(first.id, 900).await.unwrap();
    store.link_alerts(900, first.id).await.unwrap();
    store.link_alerts(first.id, 901).await.unwrap();
    assert_eq!(
        store.related_alerts(first.id).await.unwrap(),
        vec![900, 901]
    );
    assert_eq!(store.related_alerts(900).await.unwrap(), vec![first.id]);
}

/// Time range, text search (wildcards literal) and sort orders of the alert list.
async fn alert_queries(store: &dyn Store) {
    let mut reminder = alert("port 100% open", T0 + 500).0;
    reminder.level = Level::Reminder;
    reminder.name = "Port 100% open_now".into();
    store
        .ingest_rows("h-1", 40, &[], &[(reminder, None)], T0 + 500)
        .await
        .unwrap();
    let q = |f: AlertFilter| async move { store.alerts(&f).await.unwrap() };
    let names =
        |v: &(Vec<AlertRecord>, i64)| v.0.iter().map(|a| a.name.clone()).collect::<Vec<_>>();

    let found = q(AlertFilter {
        search: Some("PORT 100%".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(
        (found.1, names(&found)),
        (1, vec!["Port 100% open_now".to_string()])
    );
    let none = q(AlertFilter {
        search: Some("port 1000%".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(none.1, 0);
    let literal = q(AlertFilter {
        search: Some("%".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(
        literal.1, 1,
        "a % in the search is a percent sign, not a wildcard"
    );
    let underscore = q(AlertFilter {
        search: Some("open_".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(underscore.1, 1);

    let recent = q(AlertFilter {
        since: Some(T0 + 500),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(recent.1, 1);
    let (all, total) = q(AlertFilter::default()).await;
    let older = q(AlertFilter {
        until: Some(T0 + 500),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(older.1, total - 1);

    let by_level = q(AlertFilter {
        sort: AlertSort::Level,
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(by_level.0.first().unwrap().level, Level::Urgent);
    assert_eq!(by_level.0.last().unwrap().level, Level::Reminder);
    assert_eq!(alert_count_cap(&AlertFilter::default()), 10_000);
    assert_eq!(
        alert_count_cap(&AlertFilter {
            offset: 20_000,
            limit: 50,
            ..AlertFilter::default()
        }),
        20_050
    );
    let oldest = q(AlertFilter {
        sort: AlertSort::Oldest,
        limit: 1,
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(
        oldest.0[0].last_seen,
        all.iter().map(|a| a.last_seen).min().unwrap()
    );
}

/// Past the cap, the total says "at least"; a page beyond the cap counts to its end.
async fn capped_counts(store: &dyn Store) {
    let many: Vec<_> = (0..10_050)
        .map(|i| alert(&format!("bulk-{i}"), T0 + 600))
        .collect();
    store
        .ingest_rows("h-5", 50, &[], &many, T0 + 600)
        .await
        .unwrap();
    let host = |offset| AlertFilter {
        host_id: Some("h-5".into()),
        offset,
        ..AlertFilter::default()
    };
    let (page, total) = store.alerts(&host(0)).await.unwrap();
    assert_eq!((page.len(), total), (50, 10_001));
    assert!(total > alert_count_cap(&host(0)));
    let (page, total) = store.alerts(&host(10_000)).await.unwrap();
    assert_eq!((page.len(), total), (50, 10_050));
}

/// The IP policy library: active rules end once, by a person or by time; per-host states upsert.
async fn ip_rules(store: &dyn Store) {
    let rule = |target: &str, expires_at| NewIpRule {
        target: target.into(),
        direction: Direction::In,
        hosts: vec!["h-1".into(), "h-2".into()],
        origin: RuleOrigin::Custom,
        reason: "scanner".into(),
        alert_id: Some(7),
        created_at: T0,
        created_by: "admin".into(),
        expires_at,
    };
    let timed = store
        .add_ip_rule(&rule("192.0.2.7/32", Some(T0 + 60)))
        .await
        .unwrap();
    let mut forever = rule("198.51.100.0/24", None);
    forever.hosts.clear();
    forever.origin = RuleOrigin::System;
    let forever = store.add_ip_rule(&forever).await.unwrap();
    assert!(forever > timed);

    let all = store.ip_rules(None).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![forever, timed]
    );
    let got = store.ip_rule(timed).await.unwrap().unwrap();
    assert_eq!(got.rule, rule("192.0.2.7/32", Some(T0 + 60)));
    assert_eq!((got.status.as_str(), got.ended_at), ("active", None));
    assert!(store.ip_rule(9999).await.unwrap().is_none());

    // Nothing is due before its time; at its time it expires exactly once.
    assert!(store.expire_ip_rules(T0 + 59).await.unwrap().is_empty());
    let expired = store.expire_ip_rules(T0 + 61).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id, timed);
    assert_eq!(expired[0].status, IpRuleStatus::Expired);
    assert_eq!(expired[0].ended_at, Some(T0 + 60));
    assert!(store.expire_ip_rules(T0 + 3600).await.unwrap().is_empty());
    // An expired rule cannot be disabled; an active one is, once.
    assert!(store
        .end_ip_rule(timed, IpRuleStatus::Disabled, T0 + 70, "admin")
        .await
        .unwrap()
        .is_none());
    let ended = store
        .end_ip_rule(forever, IpRuleStatus::Disabled, T0 + 70, "admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ended.status.as_str(), ended.ended_by.as_str()),
        ("disabled", "admin")
    );
    assert!(store
        .end_ip_rule(forever, IpRuleStatus::Disabled, T0 + 71, "bob")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .ip_rules(Some(IpRuleStatus::Active))
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        store
            .ip_rules(Some(IpRuleStatus::Expired))
            .await
            .unwrap()
            .len(),
        1
    );

    store
        .set_ip_rule_host(timed, "h-1", IpRuleHostState::Pending, "", T0)
        .await
        .unwrap();
    store
        .set_ip_rule_host(timed, "h-2", IpRuleHostState::Pending, "", T0)
        .await
        .unwrap();
    store
        .set_ip_rule_host(
            timed,
            "h-1",
            IpRuleHostState::Failed,
            "nft failed: x",
            T0 + 5,
        )
        .await
        .unwrap();
    let states = store.ip_rule_hosts(Some(timed)).await.unwrap();
    assert_eq!(
        states
            .iter()
            .map(|s| (
                s.host_id.as_str(),
                s.state.as_str(),
                s.message.as_str(),
                s.updated_at
            ))
            .collect::<Vec<_>>(),
        vec![
            ("h-1", "failed", "nft failed: x", T0 + 5),
            ("h-2", "pending", "", T0)
        ]
    );
    assert_eq!(store.ip_rule_hosts(None).await.unwrap().len(), 2);
    assert!(store.ip_rule_hosts(Some(forever)).await.unwrap().is_empty());
}

/// Failed-login counts add up per (host, day, source, service); days count distinct sources.
async fn attacks(store: &dyn Store) {
    let day = 20_000 * 86_400;
    let row = |day, source: &str, service: &str, failures| LoginFailureRow {
        day,
        source: source.into(),
        service: service.into(),
        failures,
    };
    store
        .add_login_failures(
            "h-1",
            &[
                row(day, "192.0.2.7", "sshd", 50),
                row(day, "192.0.2.8", "sshd", 3),
            ],
        )
        .await
        .unwrap();
    store
        .add_login_failures(
            "h-1",
            &[
                row(day, "192.0.2.7", "sshd", 40),
                row(day, "192.0.2.7", "vsftpd", 2),
            ],
        )
        .await
        .unwrap();
    store
        .add_login_failures("h-2", &[row(day + 86_400, "192.0.2.7", "sshd", 5)])
        .await
        .unwrap();
    let days = store.attack_days(None, day).await.unwrap();
    assert_eq!(
        days,
        vec![
            AttackDay {
                host_id: "h-1".into(),
                day,
                failures: 95,
                sources: 2
            },
            AttackDay {
                host_id: "h-2".into(),
                day: day + 86_400,
                failures: 5,
                sources: 1
            },
        ]
    );
    assert_eq!(store.attack_days(Some("h-2"), day).await.unwrap().len(), 1);
    assert!(store
        .attack_days(None, day + 2 * 86_400)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.top_attack_sources(None, day, 10).await.unwrap(),
        vec![("192.0.2.7".to_string(), 97), ("192.0.2.8".to_string(), 3)]
    );
    assert_eq!(
        store.top_attack_sources(Some("h-1"), day, 1).await.unwrap(),
        vec![("192.0.2.7".to_string(), 92)]
    );
}

fn finding(package: &str, advisory: &str, installed: &str, level: &str) -> VulnFinding {
    VulnFinding {
        package: package.into(),
        advisory_id: advisory.into(),
        ids: vec![advisory.into(), format!("CVE-{advisory}")],
        ecosystem: "Debian:12".into(),
        installed: installed.into(),
        fixed: Some("9.9".into()),
        level: level.into(),
        rce: false,
        summary: format!("{package} flaw"),
        fix_command: Some(format!("apt-get install --only-upgrade {package}")),
        needs_restart: package == "libc6",
    }
}

fn vkey(host: &str, package: &str, advisory: &str) -> VulnKey {
    VulnKey {
        host_id: host.into(),
        package: package.into(),
        advisory_id: advisory.into(),
    }
}

async fn vuln_of(store: &dyn Store, host: &str, package: &str, advisory: &str) -> VulnRecord {
    let (rows, _) = store
        .vulns(&VulnFilter {
            host_id: Some(host.into()),
            package: Some(package.into()),
            limit: 1000,
            ..VulnFilter::default()
        })
        .await
        .unwrap();
    rows.into_iter()
        .find(|r| r.finding.advisory_id == advisory)
        .unwrap_or_else(|| panic!("{host} {package} {advisory} not stored"))
}

/// The vulnerability lifecycle: scans insert, update, fix and reopen; operators ignore and undo.
async fn vulns(store: &dyn Store) {
    let t = T0 + 50_000;
    let scan1 = vec![
        finding("openssl", "DSA-1", "1.0", "high"),
        finding("libc6", "DSA-2", "2.0", "medium"),
        finding("curl", "DSA-3", "3.0", "low"),
        // A second architecture of the same package: one row.
        finding("curl", "DSA-3", "3.0", "low"),
    ];
    let s = store.sync_host_vulns("v-1", &scan1, t).await.unwrap();
    assert_eq!(
        s,
        VulnSync {
            new: 3,
            reopened: 0,
            fixed: 0
        }
    );
    store.sync_host_vulns("v-2", &scan1[..1], t).await.unwrap();
    let (all, total) = store.vulns(&VulnFilter::default()).await.unwrap();
    assert_eq!(total, 4);
    // Highest level first.
    assert_eq!(all[0].finding.level, "high");
    assert_eq!(all[3].finding.level, "low");
    let ssl = vuln_of(store, "v-1", "openssl", "DSA-1").await;
    assert_eq!(ssl.status, VulnStatus::Unfixed);
    assert_eq!(ssl.finding, scan1[0]);
    assert_eq!((ssl.first_seen, ssl.last_seen, ssl.fixed_at), (t, t, None));
    assert!(
        vuln_of(store, "v-1", "libc6", "DSA-2")
            .await
            .finding
            .needs_restart
    );

    // Filters: status, level, package, id text (case-insensitive), paging.
    let count = |f: VulnFilter| async move { store.vulns(&f).await.unwrap().1 };
    assert_eq!(
        count(VulnFilter {
            level: Some("high".into()),
            ..VulnFilter::default()
        })
        .await,
        2
    );
    assert_eq!(
        count(VulnFilter {
            search: Some("cve-dsa-2".into()),
            ..VulnFilter::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(VulnFilter {
            search: Some("%".into()),
            ..VulnFilter::default()
        })
        .await,
        0
    );
    let (page, total) = store
        .vulns(&VulnFilter {
            host_id: Some("v-1".into()),
            limit: 1,
            offset: 1,
            ..VulnFilter::default()
        })
        .await
        .unwrap();
    assert_eq!((page.len(), total), (1, 3));
    assert_eq!(page[0].finding.package, "libc6");

    // Operators: ignore (from unfixed only), undo (from ignored only); fixed is not theirs.
    let r = store
        .set_vuln_status(
            &[
                vkey("v-1", "curl", "DSA-3"),
                vkey("v-1", "curl", "DSA-404"),
                vkey("v-1", "libc6", "DSA-2"),
            ],
            VulnStatus::Ignored,
            "not reachable",
            "alice",
            t + 1,
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        vec![
            VulnTransition::Changed,
            VulnTransition::Missing,
            VulnTransition::Changed
        ]
    );
    let curl = vuln_of(store, "v-1", "curl", "DSA-3").await;
    assert_eq!(
        (curl.status, curl.reason.as_str(), curl.handled_by.as_str()),
        (VulnStatus::Ignored, "not reachable", "alice")
    );
    assert_eq!(curl.handled_at, Some(t + 1));
    let again = store
        .set_vuln_status(
            &[vkey("v-1", "curl", "DSA-3")],
            VulnStatus::Ignored,
            "x",
            "bob",
            t + 2,
        )
        .await
        .unwrap();
    assert_eq!(again, vec![VulnTransition::Unchanged(VulnStatus::Ignored)]);
    let fixed = store
        .set_vuln_status(
            &[vkey("v-1", "openssl", "DSA-1")],
            VulnStatus::Fixed,
            "",
            "bob",
            t + 2,
        )
        .await
        .unwrap();
    assert_eq!(fixed, vec![VulnTransition::Unchanged(VulnStatus::Unfixed)]);
    let undo = store
        .set_vuln_status(
            &[
                vkey("v-1", "libc6", "DSA-2"),
                vkey("v-1", "openssl", "DSA-1"),
            ],
            VulnStatus::Unfixed,
            "",
            "bob",
            t + 2,
        )
        .await
        .unwrap();
    assert_eq!(
        undo,
        vec![
            VulnTransition::Changed,
            VulnTransition::Unchanged(VulnStatus::Unfixed)
        ]
    );
    let mut counts = store.unfixed_vuln_counts().await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("v-1".to_string(), "high".to_string(), 1),
            ("v-1".to_string(), "medium".to_string(), 1),
            ("v-2".to_string(), "high".to_string(), 1),
        ]
    );

    // A rescan without openssl and curl: openssl is fixed, ignored curl stays ignored, libc6's
    // new version is recorded; the other host is untouched.
    let mut libc = finding("libc6", "DSA-2", "2.1", "medium");
    libc.fixed = Some("2.2".into());
    let s = store
        .sync_host_vulns("v-1", std::slice::from_ref(&libc), t + 10)
        .await
        .unwrap();
    assert_eq!(
        s,
        VulnSync {
            new: 0,
            reopened: 0,
            fixed: 1
        }
    );
    let ssl = vuln_of(store, "v-1", "openssl", "DSA-1").await;
    assert_eq!(
        (ssl.status, ssl.fixed_at),
        (VulnStatus::Fixed, Some(t + 10))
    );
    assert_eq!(ssl.last_seen, t);
    assert_eq!(
        vuln_of(store, "v-1", "curl", "DSA-3").await.status,
        VulnStatus::Ignored
    );
    let l = vuln_of(store, "v-1", "libc6", "DSA-2").await;
    assert_eq!(
        (
            l.finding.installed.as_str(),
            l.finding.fixed.as_deref(),
            l.last_seen,
            l.first_seen
        ),
        ("2.1", Some("2.2"), t + 10, t)
    );
    assert_eq!(
        vuln_of(store, "v-2", "openssl", "DSA-1").await.status,
        VulnStatus::Unfixed
    );
    // An operator cannot undo a fix.
    let r = store
        .set_vuln_status(
            &[vkey("v-1", "openssl", "DSA-1")],
            VulnStatus::Ignored,
            "why",
            "bob",
            t + 11,
        )
        .await
        .unwrap();
    assert_eq!(r, vec![VulnTransition::Unchanged(VulnStatus::Fixed)]);

    // It comes back: unfixed again, fix time cleared, first sighting kept; ignored stays ignored.
    let s = store.sync_host_vulns("v-1", &scan1, t + 20).await.unwrap();
    assert_eq!(
        s,
        VulnSync {
            new: 0,
            reopened: 1,
            fixed: 0
        }
    );
    let ssl = vuln_of(store, "v-1", "openssl", "DSA-1").await;
    assert_eq!(
        (ssl.status, ssl.fixed_at, ssl.first_seen, ssl.last_seen),
        (VulnStatus::Unfixed, None, t, t + 20)
    );
    assert_eq!(
        vuln_of(store, "v-1", "curl", "DSA-3").await.status,
        VulnStatus::Ignored
    );
    let (fixed_rows, _) = store
        .vulns(&VulnFilter {
            status: Some(VulnStatus::Fixed),
            ..VulnFilter::default()
        })
        .await
        .unwrap();
    assert!(fixed_rows.is_empty());
}
