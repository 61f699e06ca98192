//! `/api/v1/ip-rules…`: the IP policy library's rules, new blocks and disabling.

use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;
use vigil_model::{IpRuleStatus, RuleOrigin};
use vigil_proto::api::{
    CreatedIpRule, DisabledIpRule, IpRuleFilter, IpRuleList, IpRuleOnHost, IpRuleView,
};

/// The IP policy library, newest first, each rule with its state on every host.
pub(crate) async fn list_ip_rules(
    State(st): State<SharedState>,
    q: Result<Query<IpRuleFilter>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<IpRuleList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(IpRuleStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status must be active, disabled or expired (got {s:?})"
            ))
        })?),
    };
    let host = q.host.as_deref().filter(|h| !h.is_empty());
    let mut per_rule: BTreeMap<i64, Vec<IpRuleOnHost>> = BTreeMap::new();
    for h in st.store.ip_rule_hosts(None).await? {
        per_rule.entry(h.rule_id).or_default().push(IpRuleOnHost {
            host_id: h.host_id,
            state: h.state,
            message: h.message,
            updated_at: h.updated_at,
        });
    }
    let rules: Vec<_> = st
        .store
        .ip_rules(status)
        .await?
        .into_iter()
        .filter(|r| {
            host.is_none_or(|h| r.rule.hosts.is_empty() || r.rule.hosts.iter().any(|x| x == h))
        })
        .map(|r| IpRuleView {
            on_hosts: per_rule.remove(&r.id).unwrap_or_default(),
            id: r.id,
            target: r.rule.target,
            direction: r.rule.direction,
            hosts: r.rule.hosts,
            origin: r.rule.origin,
            reason: r.rule.reason,
            alert_id: r.rule.alert_id,
            created_at: r.rule.created_at,
            created_by: r.rule.created_by,
            expires_at: r.rule.expires_at,
            status: r.status,
            ended_at: r.ended_at,
            ended_by: r.ended_by,
        })
        .collect();
    Ok(Json(IpRuleList { rules }))
}

pub(crate) async fn create_ip_rule(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedIpRule>)> {
    let req: vigil_proto::api::CreateIpRule = parse_json(&body)?;
    let d = req.direction.as_deref().unwrap_or("in");
    let direction = vigil_proto::agent::Direction::parse(d)
        .ok_or_else(|| ApiError::BadRequest(format!("direction must be in or out (got {d:?})")))?;
    let validity = vigil_proto::api::parse_validity(&req.duration).map_err(ApiError::BadRequest)?;
    if req.reason.len() > 1000 {
        return Err(ApiError::BadRequest(
            "reason must be at most 1000 characters".into(),
        ));
    }
    let now = st.now();
    let (rule, hosts) = crate::ip_policy::create(
        &st,
        crate::ip_policy::BlockRequest {
            target: req.target,
            direction,
            hosts: req.hosts,
            origin: RuleOrigin::Custom,
            reason: req.reason,
            alert_id: None,
            expires_at: validity.map(|v| now + v),
            confirm_wide: req.confirm_wide,
        },
        &op.0,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedIpRule {
            id: rule.id,
            target: rule.rule.target,
            direction: rule.rule.direction,
            expires_at: rule.rule.expires_at,
            sent_to_hosts: hosts,
        }),
    ))
}

pub(crate) async fn disable_ip_rule(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    Path(id): Path<String>,
) -> ApiResult<Json<DisabledIpRule>> {
    let id = parse_id("IP rule", &id)?;
    let rule = crate::ip_policy::disable(&st, id, &op.0).await?;
    Ok(Json(DisabledIpRule {
        id: rule.id,
        status: rule.status,
        target: rule.rule.target,
    }))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/ip-rules", get(list_ip_rules).post(create_ip_rule))
        .route("/api/v1/ip-rules/{id}/disable", post(disable_ip_rule))
}
