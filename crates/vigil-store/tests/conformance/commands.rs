//! Host commands: queued, delivered, settled, timed out.

use super::*;

/// Host actions: queued, sent, finished once by their own host, timed out; quarantine records.
pub(super) async fn commands(store: &dyn Store) {
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
