//! Whitelist rules (SPEC R-AL4): made from alerts or by hand, applied to the alerts they cover, removed.

use super::{allowed_from, result};
use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use std::collections::BTreeMap;
use vigil_model::AlertStatus;
use vigil_proto::api::*;
use vigil_store::WhitelistRuleRecord;

/// Creates one rule per distinct whitelist key among the alerts, and applies each rule to every
/// existing alert it covers.
pub(crate) async fn whitelist_alerts(
    st: &SharedState,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Vec<HandleResult>> {
    let groups: BTreeMap<String, String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, h.group))
        .collect();
    let mut results = Vec::new();
    let mut made: Vec<WhitelistRuleRecord> = Vec::new();
    for &id in &req.ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        if a.status == AlertStatus::Whitelisted {
            results.push(result(
                id,
                "unchanged",
                Some(a.status),
                format!("alert {id} is already whitelisted"),
            ));
            continue;
        }
        if !allowed_from(HandleAction::Whitelist).contains(&a.status) {
            results.push(result(
                id,
                "unchanged",
                Some(a.status),
                format!("alert {id} is {}", a.status.as_str()),
            ));
            continue;
        }
        let Some(fields) = vigil_detect::whitelist::key_of(a.kind, &a.evidence) else {
            results.push(result(
                id,
                "refused",
                Some(a.status),
                format!(
                    "alert {id} carries none of the fields a {} whitelist is keyed by ({})",
                    a.kind.as_str(),
                    vigil_detect::whitelist::key_fields(a.kind).join(", ")
                ),
            ));
            continue;
        };
        let group = groups.get(&a.host_id).cloned().unwrap_or_default();
        let (scope, scope_value) = match req.scope {
            WhitelistScope::Host => (WhitelistScope::Host, a.host_id.clone()),
            WhitelistScope::Group => (WhitelistScope::Group, group),
            WhitelistScope::All => (WhitelistScope::All, String::new()),
        };
        let existing = made.iter().find(|r| {
            r.kind == a.kind
                && r.fields == fields
                && r.scope == scope
                && r.scope_value == scope_value
        });
        if existing.is_none() {
            let mut rule = WhitelistRuleRecord {
                id: 0,
                kind: a.kind,
                scope,
                scope_value,
                fields,
                note: req.note.clone(),
                created_at: st.now(),
                created_by: by.into(),
            };
            rule.id = st.store.add_whitelist_rule(&rule).await?;
            apply_rule(st, &rule, &groups).await?;
            made.push(rule);
        }
        results.push(result(
            id,
            "changed",
            Some(AlertStatus::Whitelisted),
            format!("alert {id} is whitelisted"),
        ));
    }
    st.invalidate_whitelist().await;
    Ok(results)
}

/// Whitelists the existing alerts a new rule covers; returns how many.
pub(crate) async fn apply_rule(
    st: &SharedState,
    rule: &WhitelistRuleRecord,
    groups: &BTreeMap<String, String>,
) -> ApiResult<u64> {
    let engine_rule = crate::state::rule_of(rule);
    let candidates = st
        .store
        .alerts_of_kind(rule.kind, allowed_from(HandleAction::Whitelist))
        .await?;
    let ids: Vec<i64> = candidates
        .iter()
        .filter(|a| {
            let group = groups.get(&a.host_id).map(String::as_str).unwrap_or("");
            engine_rule.matches(a.kind, &a.evidence, &a.host_id, group)
        })
        .map(|a| a.id)
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(st
        .store
        .whitelist_alerts(&ids, rule.id, &rule.created_by, st.now())
        .await?)
}

pub(crate) async fn unwhitelist_alerts(
    st: &SharedState,
    ids: &[i64],
) -> ApiResult<Vec<HandleResult>> {
    let mut results = Vec::new();
    for &id in ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        match (a.status, a.whitelist_rule_id) {
            (AlertStatus::Whitelisted, Some(rule)) => {
                let restored = st.store.delete_whitelist_rule(rule).await?.unwrap_or(0);
                results.push(result(
                    id,
                    "changed",
                    Some(AlertStatus::Unhandled),
                    format!("whitelist rule {rule} removed; {restored} alert(s) back in the list"),
                ));
            }
            (status, _) => results.push(result(
                id,
                "unchanged",
                Some(status),
                format!("alert {id} is not whitelisted"),
            )),
        }
    }
    st.invalidate_whitelist().await;
    Ok(results)
}

pub(crate) fn rule_view(r: WhitelistRuleRecord) -> WhitelistRuleView {
    WhitelistRuleView {
        id: r.id,
        kind: r.kind,
        scope: r.scope,
        scope_value: r.scope_value,
        fields: r.fields,
        note: r.note,
        created_at: r.created_at,
        created_by: r.created_by,
    }
}

pub(crate) async fn list_rules(
    State(st): State<SharedState>,
) -> ApiResult<Json<WhitelistRuleList>> {
    let rules = st
        .store
        .whitelist_rules()
        .await?
        .into_iter()
        .map(rule_view)
        .collect();
    Ok(Json(WhitelistRuleList { rules }))
}

pub(crate) async fn create_rule(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedWhitelistRule>)> {
    let req: CreateWhitelistRule = parse_json(&body)?;
    let allowed = vigil_detect::whitelist::key_fields(req.kind);
    if req.fields.is_empty() || req.fields.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "a {} whitelist rule is keyed by {}; got {}",
            req.kind.as_str(),
            allowed.join(", "),
            if req.fields.is_empty() {
                "no fields".to_string()
            } else {
                req.fields.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        )));
    }
    if req.note.len() > 1000 {
        return Err(ApiError::BadRequest(
            "the note must be at most 1000 characters".into(),
        ));
    }
    if req.fields.values().any(|v| v.is_empty() || v.len() > 4096) {
        return Err(ApiError::BadRequest(
            "field values must be 1 to 4096 characters".into(),
        ));
    }
    let scope_value = match req.scope {
        WhitelistScope::All => String::new(),
        WhitelistScope::Host => {
            find_host(&st, &req.scope_value).await?;
            req.scope_value.clone()
        }
        WhitelistScope::Group => {
            if !st
                .store
                .groups()
                .await?
                .iter()
                .any(|g| g.name == req.scope_value)
            {
                return Err(ApiError::NotFound(format!(
                    "group {:?} not found",
                    req.scope_value
                )));
            }
            req.scope_value.clone()
        }
    };
    let mut rule = WhitelistRuleRecord {
        id: 0,
        kind: req.kind,
        scope: req.scope,
        scope_value,
        fields: req.fields,
        note: req.note,
        created_at: st.now(),
        created_by: op.0,
    };
    rule.id = st.store.add_whitelist_rule(&rule).await?;
    let groups: BTreeMap<String, String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, h.group))
        .collect();
    let whitelisted = apply_rule(&st, &rule, &groups).await?;
    st.invalidate_whitelist().await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWhitelistRule {
            rule: rule_view(rule),
            whitelisted,
        }),
    ))
}

pub(crate) async fn delete_rule(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Json<DeletedWhitelistRule>> {
    let id = parse_id("rule", &id)?;
    let restored = st
        .store
        .delete_whitelist_rule(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("whitelist rule {id} not found")))?;
    st.invalidate_whitelist().await;
    Ok(Json(DeletedWhitelistRule {
        deleted: id,
        restored,
    }))
}
