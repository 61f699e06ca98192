//! Handling actions that run on a host (kill, quarantine) or in the IP policy (block the source).

use super::{allowed_from, result};
use crate::http::*;
use crate::state::SharedState;
use vigil_model::{AlertStatus, RuleOrigin};
use vigil_proto::agent::{CommandAction, FileIdentity};
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
///
/// What the evidence knows of the target travels with the command for the agent to check: the
/// process's executable (`exe`) and start time (`start_ticks`, clock ticks since boot), and the
/// file's `sha256`, `size`, `device` and `inode`. Evidence values that do not parse are left
/// out rather than refusing the action.
pub(crate) fn command_for(action: HandleAction, a: &AlertRecord) -> Result<CommandAction, String> {
    let pid = || {
        evidence(a, &["pid"])
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p > 1)
            .ok_or_else(|| format!("alert {} names no process (no pid in its evidence)", a.id))
    };
    let number = |names: &[&str]| evidence(a, names).and_then(|v| v.parse::<u64>().ok());
    let exe = evidence(a, &["exe"]).map(str::to_string);
    let start_ticks = number(&["start_ticks"]).filter(|t| *t > 0);
    match action {
        HandleAction::KillProcess => Ok(CommandAction::KillProcess {
            pid: pid()?,
            exe,
            start_ticks,
        }),
        HandleAction::KillAndQuarantine => Ok(CommandAction::KillAndQuarantine {
            pid: pid()?,
            exe,
            start_ticks,
        }),
        // A running program's executable is quarantined with kill_and_quarantine, not alone.
        HandleAction::Quarantine => evidence(a, &["path", "file"])
            .filter(|p| p.starts_with('/'))
            .map(|p| CommandAction::QuarantineFile {
                path: p.to_string(),
                expect: FileIdentity {
                    sha256: evidence(a, &["sha256"])
                        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                        .map(str::to_ascii_lowercase),
                    size: number(&["size"]),
                    device: number(&["device"]),
                    inode: number(&["inode"]),
                },
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

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::{AlertKind, Level};

    fn alert(evidence: &[(&str, &str)]) -> AlertRecord {
        AlertRecord {
            id: 7,
            host_id: "h".into(),
            kind: AlertKind::SuspiciousPort,
            level: Level::Suspicious,
            status: AlertStatus::Unhandled,
            name: "n".into(),
            key: "k".into(),
            evidence: evidence
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            first_seen: 0,
            last_seen: 0,
            count: 1,
            handled_at: None,
            handled_by: String::new(),
            note: String::new(),
            whitelist_rule_id: None,
        }
    }

    #[test]
    fn what_the_evidence_knows_of_the_target_travels_with_the_command() {
        let a = alert(&[
            ("pid", "4242"),
            ("exe", "/tmp/.x/m"),
            ("start_ticks", "98765"),
        ]);
        assert_eq!(
            command_for(HandleAction::KillProcess, &a).unwrap(),
            CommandAction::KillProcess {
                pid: 4242,
                exe: Some("/tmp/.x/m".into()),
                start_ticks: Some(98765),
            }
        );
        let hash = "AB".repeat(32);
        let f = alert(&[
            ("path", "/var/www/x.php"),
            ("sha256", &hash),
            ("size", "120"),
            ("device", "2049"),
            ("inode", "131"),
        ]);
        assert_eq!(
            command_for(HandleAction::Quarantine, &f).unwrap(),
            CommandAction::QuarantineFile {
                path: "/var/www/x.php".into(),
                expect: FileIdentity {
                    sha256: Some("ab".repeat(32)),
                    size: Some(120),
                    device: Some(2049),
                    inode: Some(131),
                },
            }
        );
    }

    #[test]
    fn unparsable_or_missing_identity_is_left_out_not_guessed() {
        let a = alert(&[("pid", "4242"), ("start_ticks", "soon")]);
        assert_eq!(
            command_for(HandleAction::KillAndQuarantine, &a).unwrap(),
            CommandAction::KillAndQuarantine {
                pid: 4242,
                exe: None,
                start_ticks: None,
            }
        );
        let f = alert(&[("file", "/srv/a"), ("sha256", "not-a-hash"), ("size", "-1")]);
        assert_eq!(
            command_for(HandleAction::Quarantine, &f).unwrap(),
            CommandAction::QuarantineFile {
                path: "/srv/a".into(),
                expect: FileIdentity::default(),
            }
        );
        // The command without identity serializes as before (older agents read it unchanged).
        let json =
            serde_json::to_value(command_for(HandleAction::Quarantine, &f).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"action": "quarantine_file", "path": "/srv/a"})
        );
        assert!(command_for(HandleAction::KillProcess, &alert(&[("pid", "1")])).is_err());
        assert!(command_for(HandleAction::Quarantine, &alert(&[("path", "rel")])).is_err());
    }
}
