//! `/api/v1/alerts…`: the alert list, one alert, and handling alerts (one or many).

use super::actions::{block_sources, host_actions};
use super::whitelist::{unwhitelist_alerts, whitelist_alerts};
use super::{alert_views, allowed_from, result};
use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use vigil_model::{AlertKind, AlertStatus, Level};
use vigil_proto::api::*;
use vigil_store::{AlertFilter, AlertSort, Transition};

pub(crate) async fn list_alerts(
    State(st): State<SharedState>,
    q: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AlertList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let levels: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
    let statuses: Vec<&str> = AlertStatus::ALL.iter().map(|s| s.as_str()).collect();
    let kinds: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let filter = AlertFilter {
        host_id: q.host.filter(|h| !h.is_empty()),
        level: parse_opt("level", q.level.as_deref(), Level::parse, &levels)?,
        status: parse_opt("status", q.status.as_deref(), AlertStatus::parse, &statuses)?,
        kind: parse_opt("kind", q.kind.as_deref(), AlertKind::parse, &kinds)?,
        since: q.since,
        until: q.until,
        search: q
            .q
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().chars().take(200).collect()),
        sort: match q.sort.as_deref() {
            None | Some("") | Some("newest") => AlertSort::Newest,
            Some("oldest") => AlertSort::Oldest,
            Some("level") => AlertSort::Level,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "sort {other:?} is not one of newest, oldest, level"
                )))
            }
        },
        limit,
        offset: q.offset.unwrap_or(0).max(0),
    };
    let (alerts, total) = st.store.alerts(&filter).await?;
    let total_capped = total > vigil_store::alert_count_cap(&filter);
    Ok(Json(AlertList {
        alerts: alert_views(&st, alerts).await?,
        total,
        total_capped,
    }))
}

pub(crate) async fn get_alert(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertView>> {
    let id = parse_id("alert", &id)?;
    let a = st
        .store
        .alert(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("alert {id} not found")))?;
    Ok(Json(alert_views(&st, vec![a]).await?.remove(0)))
}

pub(crate) async fn handle_alerts(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<Json<HandleResponse>> {
    let mut req: HandleAlerts = parse_json(&body)?;
    if req.ids.is_empty() || req.ids.len() > 1000 {
        return Err(ApiError::BadRequest(
            "ids must list 1 to 1000 alert ids".into(),
        ));
    }
    if req.include_related {
        let mut all = req.ids.clone();
        for id in &req.ids {
            all.extend(st.store.related_alerts(*id).await?);
        }
        let mut seen = std::collections::BTreeSet::new();
        all.retain(|id| seen.insert(*id));
        req.ids = all;
    }
    if req.note.len() > 1000 {
        return Err(ApiError::BadRequest(
            "note must be at most 1000 characters".into(),
        ));
    }
    let now = st.now();
    let results = match req.action {
        HandleAction::Ignore | HandleAction::Handled => {
            let to = if req.action == HandleAction::Ignore {
                AlertStatus::Ignored
            } else {
                AlertStatus::Handled
            };
            st.store
                .transition_alerts(
                    &req.ids,
                    allowed_from(req.action),
                    to,
                    &op.0,
                    &req.note,
                    now,
                )
                .await?
                .into_iter()
                .map(|t| match t {
                    Transition::Changed(id) => result(
                        id,
                        "changed",
                        Some(to),
                        format!("alert {id} is now {}", to.as_str()),
                    ),
                    Transition::Unchanged { id, status } if status == to => result(
                        id,
                        "unchanged",
                        Some(status),
                        format!(
                            "alert {id} is already {0}; it cannot become {0} again",
                            to.as_str()
                        ),
                    ),
                    Transition::Unchanged { id, status } => result(
                        id,
                        "unchanged",
                        Some(status),
                        format!(
                            "alert {id} is {}; it cannot become {}",
                            status.as_str(),
                            to.as_str()
                        ),
                    ),
                    Transition::Missing(id) => {
                        result(id, "missing", None, format!("alert {id} not found"))
                    }
                })
                .collect()
        }
        HandleAction::Whitelist => whitelist_alerts(&st, &req, &op.0).await?,
        HandleAction::Unwhitelist => unwhitelist_alerts(&st, &req.ids).await?,
        HandleAction::KillProcess | HandleAction::Quarantine | HandleAction::KillAndQuarantine => {
            host_actions(&st, &req, &op.0).await?
        }
        HandleAction::BlockIp => block_sources(&st, &req, &op.0).await?,
    };
    Ok(Json(HandleResponse { results }))
}

pub(crate) fn routes() -> Router<SharedState> {
    use super::whitelist::{create_rule, delete_rule, list_rules};
    Router::new()
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/handle", post(handle_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/whitelist", get(list_rules).post(create_rule))
        .route("/api/v1/whitelist/{id}", axum::routing::delete(delete_rule))
}
