//! Notification channels, the outbox and its attempts, the inbox.

use super::*;

/// Settings, channels, the outbox (claimed once, attempts kept), day counts, inbox.
pub(super) async fn notifications(store: &dyn Store) {
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
