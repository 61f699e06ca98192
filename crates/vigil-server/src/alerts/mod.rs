//! Alerts as the API shows them, and which status each handling action starts from.

pub(crate) mod actions;
pub(crate) mod raised;
pub(crate) mod routes;
pub(crate) mod whitelist;

use crate::state::SharedState;
use std::collections::BTreeMap;
use vigil_model::AlertStatus;
use vigil_proto::api::*;
use vigil_store::AlertRecord;

pub(crate) async fn alert_views(
    st: &SharedState,
    alerts: Vec<AlertRecord>,
) -> Result<Vec<AlertView>, vigil_store::StoreError> {
    let hosts: BTreeMap<String, (String, String)> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, (h.hostname, h.group)))
        .collect();
    let mut related = BTreeMap::new();
    for a in &alerts {
        related.insert(a.id, st.store.related_alerts(a.id).await?);
    }
    Ok(alerts
        .into_iter()
        .map(|a| {
            let (hostname, group) = hosts.get(&a.host_id).cloned().unwrap_or_default();
            AlertView {
                hostname,
                group,
                id: a.id,
                host_id: a.host_id,
                kind: a.kind,
                level: a.level,
                status: a.status,
                name: a.name,
                evidence: a
                    .evidence
                    .into_iter()
                    .map(|(name, value)| Evidence { name, value })
                    .collect(),
                first_seen: a.first_seen,
                last_seen: a.last_seen,
                count: a.count,
                handled_at: a.handled_at,
                handled_by: a.handled_by,
                note: a.note,
                whitelist_rule_id: a.whitelist_rule_id,
                tactic: {
                    let (id, name) = a.kind.tactic();
                    format!("{id} {name}")
                },
                related: related.remove(&a.id).unwrap_or_default(),
            }
        })
        .collect())
}

/// Statuses each server-side action may start from.
pub(crate) fn allowed_from(action: HandleAction) -> &'static [AlertStatus] {
    match action {
        HandleAction::Ignore => &[AlertStatus::Unhandled, AlertStatus::Expired],
        HandleAction::Handled => &[
            AlertStatus::Unhandled,
            AlertStatus::Expired,
            AlertStatus::Ignored,
        ],
        // A whitelist rule may also cover alerts already ignored or handled.
        HandleAction::Whitelist => &[
            AlertStatus::Unhandled,
            AlertStatus::Expired,
            AlertStatus::Ignored,
            AlertStatus::Handled,
        ],
        HandleAction::Unwhitelist => &[AlertStatus::Whitelisted],
        HandleAction::KillProcess
        | HandleAction::Quarantine
        | HandleAction::KillAndQuarantine
        | HandleAction::BlockIp => &[
            AlertStatus::Unhandled,
            AlertStatus::Expired,
            AlertStatus::Ignored,
        ],
    }
}

pub(crate) fn result(
    id: i64,
    outcome: &str,
    status: Option<AlertStatus>,
    message: impl Into<String>,
) -> HandleResult {
    HandleResult {
        id,
        outcome: outcome.into(),
        status,
        message: message.into(),
    }
}

/// Moves the alert a host action worked on out of `in_progress`: `handled` with the agent's
/// message, or back to `unhandled` with its exact error.
pub struct SettleListener;

#[async_trait::async_trait]
impl crate::commands::CommandListener for SettleListener {
    fn actions(&self) -> Option<&'static [&'static str]> {
        None
    }

    async fn finished(
        &self,
        st: &SharedState,
        cmd: &vigil_store::CommandRecord,
        outcome: &crate::commands::Outcome<'_>,
    ) -> Result<(), vigil_store::StoreError> {
        let Some(alert) = cmd.alert_id else {
            return Ok(());
        };
        let message = outcome.message;
        let (to, note) = if outcome.ok {
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
}
