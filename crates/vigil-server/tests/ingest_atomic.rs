//! Ingest is one transaction: a batch whose every stage has something to write (a learned login
//! location, failed-login counts, the agent's own block, two related alerts and their queued
//! notifications) fails at each of its statements in turn, on both backends, and after the
//! agent's retry everything exists exactly once.

mod support;

use serde_json::json;
use support::{now, Server};
use vigil_agent::client::CallError;
use vigil_model::{
    AlertKind, Event, EventBody, Level, LoginEvent, LoginMethod, LoginOutcome, NewAlert, Response,
};
use vigil_proto::agent::*;
use vigil_store::prelude::*;
use vigil_store::testing::{drop_schema, fresh_postgres_schema};
use vigil_store::AlertFilter;

/// A batch that gives every ingest stage something to write.
fn batch(t: i64) -> EventBatch {
    let alert = |kind, key: &str, evidence: &[(&str, &str)]| NewAlert {
        kind,
        level: Level::Urgent,
        name: format!("{key} seen"),
        key: key.into(),
        evidence: evidence
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        time: t,
    };
    let login = LoginEvent {
        time: t,
        service: "sshd".into(),
        user: "deploy".into(),
        source: Some("8.8.8.8".into()),
        port: Some(22),
        method: Some(LoginMethod::Password),
        outcome: LoginOutcome::Success,
        reason: None,
    };
    let events = vec![
        // The abnormal-login model learns this place (a write of its own).
        EventBody::Login { login },
        // Failed-login counts for the attack analysis.
        EventBody::LoginFailures {
            source: Some("203.0.113.9".into()),
            service: "sshd".into(),
            failures: 81,
            users: vec!["root".into()],
            first: t - 60,
            last: t,
        },
        // The agent blocked a brute force: the alert is `blocked`, a system rule is recorded.
        EventBody::AgentAlert {
            alert: alert(
                AlertKind::BruteForce,
                "brute_force:203.0.113.9",
                &[("source_ip", "203.0.113.9")],
            ),
            response: Some(Response {
                action: "block_ip".into(),
                target: "203.0.113.9/32".into(),
                until: Some(t + 21_600),
                ok: true,
                message: "203.0.113.9/32 blocked for 6h".into(),
            }),
        },
        // Two alerts about one process: linked, and each queued for notification.
        EventBody::AgentAlert {
            alert: alert(
                AlertKind::SuspiciousProcess,
                "proc:77",
                &[("pid", "77"), ("exe", "/tmp/.x/m")],
            ),
            response: None,
        },
        EventBody::AgentAlert {
            alert: alert(
                AlertKind::SuspiciousConnection,
                "conn:77",
                &[
                    ("pid", "77"),
                    ("exe", "/tmp/.x/m"),
                    ("dst_ip", "198.51.100.4"),
                ],
            ),
            response: None,
        },
    ];
    EventBatch {
        seq: 1,
        events: events
            .into_iter()
            .map(|body| Event { time: t, body })
            .collect(),
    }
}

/// What a host's batch left behind, counted through the store.
#[derive(Debug, PartialEq, Eq)]
struct Left {
    events: i64,
    alerts: usize,
    blocked: usize,
    links: usize,
    notifications: usize,
    learned: bool,
    failures: i64,
    system_rules: usize,
    applied: usize,
}

async fn left(s: &Server, host: &str) -> Left {
    let store = s.store.as_ref();
    let (alerts, _) = store
        .alerts(&AlertFilter {
            host_id: Some(host.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut links = 0;
    for a in &alerts {
        links += store.related_alerts(a.id).await.unwrap().len();
    }
    let notifications = store
        .outbox(1000)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.host_id == host)
        .count();
    let rules: Vec<_> = store
        .ip_rules(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.rule.hosts == [host])
        .collect();
    let mut applied = 0;
    for r in &rules {
        applied += store
            .ip_rule_hosts(Some(r.id))
            .await
            .unwrap()
            .iter()
            .filter(|h| h.host_id == host && h.state == vigil_model::IpRuleHostState::Applied)
            .count();
    }
    Left {
        events: store.event_count(Some(host)).await.unwrap(),
        alerts: alerts.len(),
        blocked: alerts
            .iter()
            .filter(|a| a.status == vigil_model::AlertStatus::Blocked)
            .count(),
        links,
        notifications,
        learned: store
            .setting(&format!("login_state:{host}"))
            .await
            .unwrap()
            .is_some(),
        failures: store
            .attack_days(Some(host), 0)
            .await
            .unwrap()
            .iter()
            .map(|d| d.failures)
            .sum(),
        system_rules: rules.len(),
        applied,
    }
}

const NOTHING: Left = Left {
    events: 0,
    alerts: 0,
    blocked: 0,
    links: 0,
    notifications: 0,
    learned: false,
    failures: 0,
    system_rules: 0,
    applied: 0,
};

const EVERYTHING: Left = Left {
    events: 5,
    alerts: 3,
    blocked: 1,
    // Both directions of the one link.
    links: 2,
    // The blocked alert does not notify; the two others do, once each.
    notifications: 2,
    learned: true,
    failures: 81,
    system_rules: 1,
    applied: 1,
};

async fn check(url: &str) {
    let s = Server::start(url).await;
    let (status, v) = s
        .api(
            "POST",
            "/api/v1/notify/channels",
            Some(
                json!({"name": "console", "config": {"id": 0, "kind": {"type": "inbox"},
                "levels": ["urgent", "suspicious", "reminder"],
                "max_per_day": 0, "max_per_host_per_day": 0}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = s
        .api(
            "POST",
            "/api/v1/install-codes",
            Some(json!({"group": "web", "expires": "1h"})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let code = v["code"].as_str().unwrap().to_string();
    let faults = s.store.faults();

    // Without a fault: what one batch runs, and what it leaves.
    let (host, key) = s.enroll(&code).await;
    let before = faults.executed();
    let ack = s.send(&host, &key, &batch(now())).await.unwrap();
    assert!(ack.stored);
    let statements = faults.executed() - before;
    assert!(statements >= 10, "only {statements} statements?");
    assert_eq!(left(&s, &host).await, EVERYTHING);
    // A retry of a committed batch writes nothing more.
    assert!(!s.send(&host, &key, &batch(now())).await.unwrap().stored);
    assert_eq!(left(&s, &host).await, EVERYTHING);

    // Each statement in turn fails: nothing is left, and the agent's retry stores it all once.
    // The count can differ by a statement or two from the first batch's (the host-key and
    // whitelist caches), so the loop runs until an armed fault is no longer reached.
    let mut n = 1;
    loop {
        let (host, key) = s.enroll(&code).await;
        let t = now();
        faults.fail_nth(n);
        let sent = s.send(&host, &key, &batch(t)).await;
        faults.disarm();
        match sent {
            Err(CallError::Retry(_)) => {}
            Ok(ack) if ack.stored => {
                // The batch ran fewer than n statements: the fault never fired.
                assert!(
                    n > statements / 2,
                    "the fault stopped firing at {n} of {statements}"
                );
                assert_eq!(left(&s, &host).await, EVERYTHING);
                break;
            }
            other => panic!("statement {n}: expected a retryable error, got {other:?}"),
        }
        assert_eq!(
            left(&s, &host).await,
            NOTHING,
            "after failing statement {n}"
        );
        let ack = s.send(&host, &key, &batch(t)).await.unwrap();
        assert!(ack.stored, "retry after failing statement {n}");
        assert_eq!(
            left(&s, &host).await,
            EVERYTHING,
            "after failing statement {n}"
        );
        assert!(!s.send(&host, &key, &batch(t)).await.unwrap().stored);
        assert_eq!(
            left(&s, &host).await,
            EVERYTHING,
            "after failing statement {n}"
        );
        n += 1;
    }
    eprintln!(
        "ingest_atomic: a fault at each of {} statements, then the retry: exactly once",
        n - 1
    );
    s.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_is_atomic_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check(&format!(
        "sqlite://{}",
        dir.path().join("vigil.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_is_atomic_on_postgres() {
    let schema = fresh_postgres_schema().await;
    check(&schema.url).await;
    drop_schema(&schema).await;
}
