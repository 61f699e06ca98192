//! Handling actions that run on a host (kill, quarantine) or in the IP policy (block the source).

use super::{allowed_from, result};
use crate::http::*;
use crate::state::SharedState;
use vigil_model::{AlertStatus, RuleOrigin};
use vigil_proto::agent::CommandAction;
use vigil_proto::api::*;
use vigil_store::{AlertRecord, Transition};

pub(crate) fn evidence<'a>(a: &'a AlertRecord, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| {
        a.evidence
            .iter()
            .find(|(k, v)| k == n && !v.is_empty())
            .map(|(_, v)| v.as_str())
    })
}

/// The command an action needs for this alert, or why it cannot apply.
pub(crate) fn command_for(action: HandleAction, a: &AlertRecord) -> Result<CommandAction, String> {
    let pid = || {
        evidence(a, &["pid"])
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p > 1)
            .ok_or_else(|| format!("alert {} names no process (no pid in its evidence)", a.id))
    };
    let exe = evidence(a, &["exe"]).map(str::to_string);
    match action {
        HandleAction::KillProcess => Ok(CommandAction::KillProcess { pid: pid()?, exe }),
        HandleAction::KillAndQuarantine => {
            Ok(CommandAction::KillAndQuarantine { pid: pid()?, exe })
        }
        // A running program's executable is quarantined with kill_and_quarantine, not alone.
        HandleAction::Quarantine => evidence(a, &["path", "file"])
            .filter(|p| p.starts_with('/'))
            .map(|p| CommandAction::QuarantineFile {
                path: p.to_string(),
            })
            .ok_or_else(|| {
                format!(
                    "alert {} names no file (no absolute path in its evidence)",
                    a.id
                )
            }),
        _ => Err("not a host action".into()),
    }
}

/// Claims each alert (`in_progress`) and queues the action for its host.
pub(crate) async fn host_actions(
    st: &SharedState,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Vec<HandleResult>> {
    let mut results = Vec::new();
    for &id in &req.ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        let command = match command_for(req.action, &a) {
            Ok(c) => c,
            Err(why) => {
                results.push(result(id, "refused", Some(a.status), why));
                continue;
            }
        };
        if let Err(refusal) = claim_on_host(st, &a, req, by).await? {
            results.push(refusal);
            continue;
        }
        let cmd = crate::commands::queue(st, &a.host_id, Some(id), &command, by).await?;
        results.push(result(
            id,
            "changed",
            Some(AlertStatus::InProgress),
            format!(
                "{} queued as command {cmd}; it runs when host {} next checks in (it times out after {} min)",
                command.name(),
                a.host_id,
                crate::commands::COMMAND_TTL_SECS / 60
            ),
        ));
    }
    Ok(results)
}

/// Marks an alert `in_progress` for an action on its host, or says why it cannot be: the host
/// is uninstalled, or the alert is in a status the action does not start from.
pub(crate) async fn claim_on_host(
    st: &SharedState,
    a: &AlertRecord,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Result<(), HandleResult>> {
    let id = a.id;
    match st.store.host(&a.host_id).await? {
        Some(h) if h.uninstalled_at.is_none() => {}
        _ => {
            return Ok(Err(result(
                id,
                "refused",
                Some(a.status),
                format!("host {} is uninstalled", a.host_id),
            )))
        }
    }
    let claimed = st
        .store
        .transition_alerts(
            &[id],
            allowed_from(req.action),
            AlertStatus::InProgress,
            by,
            &req.note,
            st.now(),
        )
        .await?;
    if let Some(Transition::Unchanged { status, .. }) = claimed.first() {
        return Ok(Err(result(
            id,
            "unchanged",
            Some(*status),
            format!("alert {id} is {}", status.as_str()),
        )));
    }
    Ok(Ok(()))
}

/// Blocks each alert's source address on the alert's host, as an IP policy rule; the alert is
/// `in_progress` until the agent reports the nftables outcome.
pub(crate) async fn block_sources(
    st: &SharedState,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Vec<HandleResult>> {
    let Some(duration) = req.duration.as_deref() else {
        return Err(ApiError::BadRequest(
            "block_ip needs a duration: 30m, 12h, 7d, or permanent".into(),
        ));
    };
    let validity = vigil_proto::api::parse_validity(duration).map_err(ApiError::BadRequest)?;
    let mut results = Vec::new();
    for &id in &req.ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        let Some(source) = evidence(&a, &["source_ip"]) else {
            results.push(result(
                id,
                "refused",
                Some(a.status),
                format!("alert {id} names no source address (no source_ip in its evidence)"),
            ));
            continue;
        };
        let target = match crate::ip_policy::parse_target(source) {
            Ok(t) => t.to_string(),
            Err(e) => {
                results.push(result(id, "refused", Some(a.status), e.to_string()));
                continue;
            }
        };
        if let Err(refusal) = claim_on_host(st, &a, req, by).await? {
            results.push(refusal);
            continue;
        }
        let now = st.now();
        let reason = if req.note.is_empty() {
            format!("alert {id}: {}", a.name)
        } else {
            format!("alert {id}: {} ({})", a.name, req.note)
        };
        let made = crate::ip_policy::create(
            st,
            crate::ip_policy::BlockRequest {
                target: target.clone(),
                direction: vigil_proto::agent::Direction::In,
                hosts: vec![a.host_id.clone()],
                origin: RuleOrigin::Custom,
                reason,
                alert_id: Some(id),
                expires_at: validity.map(|v| now + v),
                // One source address, from the alert: never a network.
                confirm_wide: false,
            },
            by,
        )
        .await;
        match made {
            Ok((rule, _)) => results.push(result(
                id,
                "changed",
                Some(AlertStatus::InProgress),
                format!(
                    "{target} block queued as IP rule {} for host {} ({}); the alert shows the outcome when the host reports",
                    rule.id,
                    a.host_id,
                    match validity {
                        Some(v) => format!("for {}", vigil_proto::api::format_duration(v)),
                        None => "permanent".into(),
                    }
                ),
            )),
            Err(e) => {
                st.store
                    .transition_alerts(&[id], &[AlertStatus::InProgress], a.status, by, "", now)
                    .await?;
                results.push(result(id, "refused", Some(a.status), e.to_string()));
            }
        }
    }
    Ok(results)
}
