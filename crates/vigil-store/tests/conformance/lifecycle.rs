//! Alert lifecycle: statuses, transitions, whitelisting, expiry.

use super::*;

/// Statuses, recurrence, expiry and whitelist rules, on top of the data `check` left.
pub(super) async fn lifecycle(store: &dyn Store) {
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
