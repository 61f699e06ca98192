//! Host actions: queued by operators, delivered signed with heartbeats, finished by the agent's
//! report, timed out when the host does not run them in time. The alert a command acts on is
//! `in_progress` meanwhile, then `handled` or back to `unhandled` with the agent's exact error.

use crate::state::SharedState;
use vigil_model::AlertStatus;
use vigil_proto::agent::{Command, CommandAction, CommandResult, SignedCommand};
use vigil_store::{CommandRecord, NewCommand, QuarantineRecord, StoreError};

/// How long a queued action waits for its host (an offline host gets it when it returns).
pub const COMMAND_TTL_SECS: i64 = 3600;

/// Queues an action for a host; returns the command id.
pub async fn queue(
    st: &SharedState,
    host_id: &str,
    alert_id: Option<i64>,
    action: &CommandAction,
    by: &str,
) -> Result<i64, StoreError> {
    queue_for(st, host_id, alert_id, action, by, COMMAND_TTL_SECS).await
}

/// Queues an action that waits up to `ttl` seconds for its host.
pub async fn queue_for(
    st: &SharedState,
    host_id: &str,
    alert_id: Option<i64>,
    action: &CommandAction,
    by: &str,
    ttl: i64,
) -> Result<i64, StoreError> {
    let now = st.now();
    st.store
        .queue_command(&NewCommand {
            host_id: host_id.into(),
            alert_id,
            action: action.name().into(),
            params: serde_json::to_string(action).expect("actions serialize"),
            created_at: now,
            created_by: by.into(),
            expires_at: now + ttl,
        })
        .await
}

/// The host's unfinished commands, signed, marked as sent.
pub async fn deliver(st: &SharedState, host_id: &str) -> Result<Vec<SignedCommand>, StoreError> {
    let pending = st.store.pending_commands(host_id, st.now()).await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(pending.len());
    for c in &pending {
        let Ok(action) = serde_json::from_str::<CommandAction>(&c.params) else {
            tracing::error!(
                id = c.id,
                "stored command has unreadable parameters; not sent"
            );
            continue;
        };
        let cmd = Command {
            id: c.id,
            host_id: c.host_id.clone(),
            issued_at: c.created_at,
            expires_at: c.expires_at,
            action,
        };
        let payload = serde_json::to_string(&cmd).expect("commands serialize");
        let signature = vigil_proto::auth::sign_command(&st.pki.command_key, &payload);
        out.push(SignedCommand { payload, signature });
    }
    let ids: Vec<i64> = pending.iter().map(|c| c.id).collect();
    st.store.mark_commands_sent(&ids, st.now()).await?;
    Ok(out)
}

/// Moves the command's alert out of `in_progress`.
async fn settle_alert(
    st: &SharedState,
    cmd: &CommandRecord,
    ok: bool,
    message: &str,
) -> Result<(), StoreError> {
    let Some(alert) = cmd.alert_id else {
        return Ok(());
    };
    let (to, note) = if ok {
        (AlertStatus::Handled, format!("{}: {message}", cmd.action))
    } else {
        (
            AlertStatus::Unhandled,
            format!("{} failed: {message}", cmd.action),
        )
    };
    st.store
        .transition_alerts(
            &[alert],
            &[AlertStatus::InProgress],
            to,
            "agent",
            &note,
            st.now(),
        )
        .await?;
    Ok(())
}

/// Records an agent's report. Returns false when the command was not this host's unfinished one.
pub async fn finish(
    st: &SharedState,
    host_id: &str,
    r: &CommandResult,
) -> Result<bool, StoreError> {
    let now = st.now();
    let result = serde_json::to_string(&r.data).unwrap_or_else(|_| "null".into());
    let Some(cmd) = st
        .store
        .finish_command(host_id, r.id, r.ok, &r.message, &result, now)
        .await?
    else {
        return Ok(false);
    };
    if r.ok {
        match cmd.action.as_str() {
            "quarantine_file" | "kill_and_quarantine" => {
                if let Some(q) = quarantine_record(host_id, &r.data) {
                    st.store.put_quarantined(&q).await?;
                }
            }
            "restore_file" => {
                if let Ok(CommandAction::RestoreFile { quarantine_id, .. }) =
                    serde_json::from_str::<CommandAction>(&cmd.params)
                {
                    st.store.mark_restored(host_id, &quarantine_id, now).await?;
                }
            }
            _ => {}
        }
    }
    crate::ip_policy::on_command_done(st, &cmd, r.ok, &r.message).await?;
    settle_alert(st, &cmd, r.ok, &r.message).await?;
    tracing::info!(host = %host_id, id = r.id, action = %cmd.action, ok = r.ok, message = %r.message, "command finished");
    Ok(true)
}

/// The quarantined file's record from an agent report (`data.file` or `data` itself).
fn quarantine_record(host_id: &str, data: &serde_json::Value) -> Option<QuarantineRecord> {
    let f = data.get("file").unwrap_or(data);
    let s = |k: &str| f.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some(QuarantineRecord {
        host_id: host_id.into(),
        qid: s("id")?,
        path: s("original_path")?,
        sha256: s("sha256").unwrap_or_default(),
        md5: s("md5").unwrap_or_default(),
        size: f.get("size").and_then(|v| v.as_i64()).unwrap_or(0),
        quarantined_at: f
            .get("quarantined_at")
            .and_then(|v| v.as_i64())
            .unwrap_or(0),
        state: vigil_model::QuarantineState::Quarantined,
        restored_at: None,
        record: f.to_string(),
    })
}

/// Times out commands their hosts did not run, returning their alerts to the list.
pub async fn expire(st: &SharedState) -> Result<usize, StoreError> {
    let expired = st.store.expire_commands(st.now()).await?;
    for cmd in &expired {
        let why = "timed out: the host did not run it in time (offline?)";
        crate::ip_policy::on_command_done(st, cmd, false, why).await?;
        settle_alert(st, cmd, false, why).await?;
    }
    Ok(expired.len())
}
