//! IP rules and their per-host states, and the attack counts.

use super::*;

/// The IP policy library: active rules end once, by a person or by time; per-host states upsert.
pub(super) async fn ip_rules(store: &dyn Store) {
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
pub(super) async fn attacks(store: &dyn Store) {
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
