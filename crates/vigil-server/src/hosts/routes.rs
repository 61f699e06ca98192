//! `/api/v1/hosts…` and `/api/v1/groups`: the host list, one host, its fingerprints, events and report.

use crate::hosts::{alert_counts, host_state, host_view, pending};
use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use vigil_detect::score::score;
use vigil_model::{AlertStatus, HostState};
use vigil_proto::api::*;
use vigil_store::{AlertFilter, AlertSort};

pub(crate) async fn list_hosts(
    State(st): State<SharedState>,
    q: Result<Query<HostQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<HostList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some("online") => Some(HostState::Online),
        Some("offline") => Some(HostState::Offline),
        Some("uninstalled") => Some(HostState::Uninstalled),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "state {other:?} is not one of online, offline, uninstalled"
            )))
        }
    };
    let mut counts = alert_counts(&st).await?;
    let hosts = st
        .store
        .hosts()
        .await?
        .into_iter()
        .filter(|h| {
            q.group
                .as_deref()
                .is_none_or(|g| g.is_empty() || h.group == g)
        })
        .map(|h| {
            let c = counts.remove(&h.id).unwrap_or_default();
            host_view(&st, h, c)
        })
        .filter(|v| wanted.is_none_or(|w| v.state == w))
        .collect();
    Ok(Json(HostList { hosts }))
}

pub(crate) async fn get_host(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Json<HostView>> {
    let h = find_host(&st, &id).await?;
    let counts = alert_counts(&st).await?.remove(&id).unwrap_or_default();
    Ok(Json(host_view(&st, h, counts)))
}

pub(crate) async fn get_fingerprints(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    find_host(&st, &id).await?;
    let Some(json) = st.store.inventory(&id).await? else {
        return Err(ApiError::NotFound(format!(
            "host {id} has not reported fingerprints yet"
        )));
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

pub(crate) async fn get_events(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    q: Result<Query<LimitQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<HostEventList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    find_host(&st, &id).await?;
    let events = st
        .store
        .events(&id, q.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    let total = st.store.event_count(Some(&id)).await?;
    let list: Vec<_> = events
        .into_iter()
        .map(|e| HostEventView {
            body: serde_json::from_str(&e.body).unwrap_or(serde_json::Value::Null),
            id: e.id,
            seq: e.seq,
            time: e.time,
            kind: e.kind,
        })
        .collect();
    Ok(Json(HostEventList {
        events: list,
        total,
    }))
}

pub(crate) async fn list_groups(State(st): State<SharedState>) -> ApiResult<Json<GroupList>> {
    let groups = st
        .store
        .groups()
        .await?
        .into_iter()
        .map(|g| GroupView {
            name: g.name,
            hosts: g.hosts,
            created_at: g.created_at,
        })
        .collect();
    Ok(Json(GroupList { groups }))
}

pub(crate) async fn create_group(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let req: CreateGroup = parse_json(&body)?;
    valid_name("group", &req.name)?;
    if !st.store.create_group(&req.name, st.now()).await? {
        return Err(ApiError::Conflict(format!(
            "group {} already exists",
            req.name
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(GroupView {
            name: req.name,
            hosts: 0,
            created_at: st.now(),
        }),
    ))
}

/// The host's baseline for its report, joined with the checks in force.
async fn report_baseline(
    st: &SharedState,
    id: &str,
) -> ApiResult<crate::hosts::report::ReportBaseline> {
    let content = st.content.current();
    let mut out = crate::hosts::report::ReportBaseline::default();
    let rank = |l: &str| match l {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    };
    for r in st.store.baseline_results(Some(id)).await? {
        out.last_run = out.last_run.max(Some(r.last_run_at));
        let ignored = !r.ignored_reason.is_empty();
        match r.status {
            vigil_model::CheckStatus::Failed if ignored => out.ignored += 1,
            vigil_model::CheckStatus::Failed => {
                let c = content.baseline.iter().find(|c| c.id == r.check_id);
                out.failed.push((
                    c.map_or("low", |c| c.level.as_str()).to_string(),
                    c.map_or_else(|| r.check_id.clone(), |c| c.title.clone()),
                    r.check_id.clone(),
                    r.evidence,
                    c.map(|c| c.remediation.clone()).unwrap_or_default(),
                ));
            }
            vigil_model::CheckStatus::Passed => out.passed += 1,
            _ => {}
        }
    }
    out.failed
        .sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.2.cmp(&b.2)));
    Ok(out)
}

/// The host's printable security report as HTML.
pub(crate) async fn host_report(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let host = find_host(&st, &id).await?;
    let counts = alert_counts(&st).await?.remove(&id);
    let vulns = crate::vulns::counts(&st).await?.remove(&id);
    let baseline = crate::baseline::counts(&st).await?.remove(&id);
    let pending = pending(counts.as_ref(), vulns.as_ref(), baseline.as_ref());
    let filter = AlertFilter {
        host_id: Some(id.clone()),
        status: Some(AlertStatus::Unhandled),
        sort: AlertSort::Level,
        limit: 500,
        ..AlertFilter::default()
    };
    let (alerts, _) = st.store.alerts(&filter).await?;
    let inventory: Option<vigil_model::Inventory> = st
        .store
        .inventory(&id)
        .await?
        .and_then(|j| serde_json::from_str(&j).ok());
    let commands = st.store.commands(Some(&id), 20).await?;
    let report_baseline = report_baseline(&st, &id).await?;
    let state = host_state(&st, &host);
    let html = crate::hosts::report::render(&crate::hosts::report::ReportInput {
        host: &host,
        state: state.as_str(),
        score: &score(&pending),
        alerts: &alerts,
        inventory: inventory.as_ref(),
        commands: &commands,
        baseline: &report_baseline,
        now: st.now(),
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        html,
    )
        .into_response())
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/hosts", get(list_hosts))
        .route("/api/v1/hosts/{id}", get(get_host))
        .route("/api/v1/hosts/{id}/fingerprints", get(get_fingerprints))
        .route("/api/v1/hosts/{id}/events", get(get_events))
        .route("/api/v1/hosts/{id}/report", get(host_report))
        .route("/api/v1/groups", get(list_groups).post(create_group))
}
