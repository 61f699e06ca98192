//! Host actions: queued by operators, delivered signed with heartbeats, finished by the agent's
//! report, timed out when the host does not run them in time. The alert a command acts on is
//! `in_progress` meanwhile, then `handled` or back to `unhandled` with the agent's exact error:
//! the domains that care register a [`CommandListener`], so this module imports none of them.

pub(crate) mod routes;

use crate::state::SharedState;
use vigil_proto::agent::{Command, CommandAction, CommandResult, SignedCommand};
use vigil_store::{CommandRecord, NewCommand, StoreError};

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

/// How a host action ended, as its listeners hear it.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub ok: bool,
    pub message: &'a str,
    /// What the agent reported with it (`null` when the command timed out).
    pub data: &'a serde_json::Value,
}

/// A domain that wants to know when host actions end (the IP policy for blocks, the quarantine
/// box for files, alerts for the alert an action worked on). Commands knows none of them: they
/// register at start, and hear of the actions they follow.
#[async_trait::async_trait]
pub trait CommandListener: Send + Sync {
    /// The action names (`CommandAction::name`) followed; `None` follows every action.
    fn actions(&self) -> Option<&'static [&'static str]>;
    async fn finished(
        &self,
        st: &SharedState,
        cmd: &CommandRecord,
        outcome: &Outcome<'_>,
    ) -> Result<(), StoreError>;
}

async fn announce(
    st: &SharedState,
    cmd: &CommandRecord,
    outcome: &Outcome<'_>,
) -> Result<(), StoreError> {
    for l in &st.command_listeners {
        if l.actions().is_none_or(|a| a.contains(&cmd.action.as_str())) {
            l.finished(st, cmd, outcome).await?;
        }
    }
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
    let outcome = Outcome {
        ok: r.ok,
        message: &r.message,
        data: &r.data,
    };
    announce(st, &cmd, &outcome).await?;
    tracing::info!(host = %host_id, id = r.id, action = %cmd.action, ok = r.ok, message = %r.message, "command finished");
    Ok(true)
}

/// Times out commands their hosts did not run.
pub async fn expire(st: &SharedState) -> Result<usize, StoreError> {
    let expired = st.store.expire_commands(st.now()).await?;
    let outcome = Outcome {
        ok: false,
        message: "timed out: the host did not run it in time (offline?)",
        data: &serde_json::Value::Null,
    };
    for cmd in &expired {
        announce(st, cmd, &outcome).await?;
    }
    Ok(expired.len())
}
