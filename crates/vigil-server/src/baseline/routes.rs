//! `/api/v1/baseline…`: the results, failed and most severe first, ignoring a check on a host
//! with a reason (and undoing it), verifying (the host runs its baseline now), and the schedule.

use crate::http::*;
use crate::login_defense::routes::{own_or_404, remove, scope_of};
use crate::scoped::{self, Scope};
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;
use vigil_model::CheckStatus;
use vigil_proto::agent::{BaselineSchedule, CommandAction};
use vigil_proto::api::{
    BaselineIgnore, BaselineList, BaselineQuery, BaselineResultView, BaselineSummary,
    IgnoreBaseline, IgnoredBaseline, VerifyBaseline, VerifyingBaseline,
};
use vigil_proto::api::{RemovedScoped, ScopeQuery};

const MAX_REASON: usize = 1_000;

pub(crate) async fn list(
    State(st): State<SharedState>,
    q: Result<Query<BaselineQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<BaselineList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let wanted = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None | Some("all") => None,
        Some("ignored") => Some(None),
        Some(s) => Some(Some(CheckStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status {s:?} is not one of passed, failed, ignored, not_applicable, error, all"
            ))
        })?)),
    };
    let host = q.host.as_deref().filter(|h| !h.is_empty());
    let content = st.content.current();
    let checks: BTreeMap<&str, &vigil_detect::baseline::Check> = content
        .baseline
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    let names: BTreeMap<String, String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, h.hostname))
        .collect();
    let mut summary = BaselineSummary::default();
    let mut results = Vec::new();
    for r in st.store.baseline_results(host).await? {
        if let Some(c) = q.check.as_deref().filter(|c| !c.is_empty()) {
            let family = c.ends_with('.') && r.check_id.starts_with(c);
            if r.check_id != c && !family {
                continue;
            }
        }
        let ignored = (!r.ignored_reason.is_empty()).then(|| BaselineIgnore {
            reason: r.ignored_reason.clone(),
            by: r.ignored_by.clone(),
            at: r.ignored_at.unwrap_or(r.last_run_at),
        });
        let counted_ignored = ignored.is_some() && r.status == CheckStatus::Failed;
        // The summary counts every status of the host and check selection; the list only the
        // status asked for.
        match (counted_ignored, r.status) {
            (true, _) => summary.ignored += 1,
            (_, CheckStatus::Passed) => summary.passed += 1,
            (_, CheckStatus::Failed) => summary.failed += 1,
            (_, CheckStatus::NotApplicable) => summary.not_applicable += 1,
            (_, CheckStatus::Error) => summary.error += 1,
        }
        let verifying = r.verify_requested_at.filter(|at| *at >= r.last_run_at);
        if verifying.is_some() {
            summary.verifying += 1;
        }
        match wanted {
            Some(None) if !counted_ignored => continue,
            Some(Some(s)) if s != r.status || counted_ignored => continue,
            _ => {}
        }
        let check = checks.get(r.check_id.as_str());
        results.push(BaselineResultView {
            hostname: names.get(&r.host_id).cloned().unwrap_or_default(),
            title: check.map_or_else(|| r.check_id.clone(), |c| c.title.clone()),
            category: check.map_or("other", |c| c.category.as_str()).to_string(),
            level: check.map_or("low", |c| c.level.as_str()).to_string(),
            remediation: check.map(|c| c.remediation.clone()).unwrap_or_default(),
            refs: check.map(|c| c.refs.clone()).unwrap_or_default(),
            host_id: r.host_id,
            check_id: r.check_id,
            status: r.status,
            ignored,
            evidence: r.evidence,
            file: r.file,
            first_failed_at: r.first_failed_at,
            last_run_at: r.last_run_at,
            verifying,
        });
    }
    let rank = |v: &BaselineResultView| {
        let status = match (v.status, v.ignored.is_some()) {
            (CheckStatus::Failed, false) => 0,
            (CheckStatus::Error, _) => 1,
            (CheckStatus::Failed, true) => 2,
            (CheckStatus::Passed, _) => 3,
            (CheckStatus::NotApplicable, _) => 4,
        };
        let level = match v.level.as_str() {
            "high" => 0,
            "medium" => 1,
            _ => 2,
        };
        (status, level)
    };
    results.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.check_id.cmp(&b.check_id))
            .then_with(|| a.host_id.cmp(&b.host_id))
    });
    Ok(Json(BaselineList { results, summary }))
}

async fn set_ignored(
    st: &SharedState,
    req: IgnoreBaseline,
    reason: &str,
    by: &str,
) -> ApiResult<Json<IgnoredBaseline>> {
    find_host(st, &req.host_id).await?;
    if !st
        .store
        .set_baseline_ignored(&req.host_id, &req.check_id, reason, by, st.now())
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "host {} has no baseline result for {}",
            req.host_id, req.check_id
        )));
    }
    Ok(Json(IgnoredBaseline {
        host_id: req.host_id,
        check_id: req.check_id,
        ignored: !reason.is_empty(),
    }))
}

pub(crate) async fn ignore(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<Json<IgnoredBaseline>> {
    let req: IgnoreBaseline = parse_json(&body)?;
    let reason = req.reason.trim().to_string();
    if reason.is_empty() {
        return Err(ApiError::BadRequest(
            "ignoring a baseline check needs a reason (why it does not matter on this host)".into(),
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ApiError::BadRequest(format!(
            "reason must be at most {MAX_REASON} characters"
        )));
    }
    set_ignored(&st, req, &reason, &op.0).await
}

pub(crate) async fn unignore(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<Json<IgnoredBaseline>> {
    let req: IgnoreBaseline = parse_json(&body)?;
    set_ignored(&st, req, "", &op.0).await
}

/// Asks a host to run its baseline now (the check's "verify"): a fixed check passes when the
/// run arrives; until then the results show as verifying.
pub(crate) async fn verify(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<VerifyingBaseline>)> {
    let req: VerifyBaseline = parse_json(&body)?;
    let host = find_host(&st, &req.host_id).await?;
    if host.uninstalled_at.is_some() {
        return Err(ApiError::Conflict(format!(
            "host {} is uninstalled; it cannot run its baseline",
            req.host_id
        )));
    }
    let check = Some(req.check_id.trim()).filter(|c| !c.is_empty());
    if let Some(c) = check {
        if !st.content.current().baseline.iter().any(|x| x.id == c) {
            return Err(ApiError::NotFound(format!("no baseline check {c}")));
        }
    }
    let verifying = st
        .store
        .request_baseline_verify(&req.host_id, check, st.now())
        .await?;
    // A full report from every monitor: the baseline monitor runs all its checks (a run of
    // one check would leave the others' results older than the run that replaced them).
    let command_id = crate::commands::queue(
        &st,
        &req.host_id,
        None,
        &CommandAction::ReportInventory,
        &op.0,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(VerifyingBaseline {
            host_id: req.host_id,
            check_id: check.unwrap_or_default().to_string(),
            command_id,
            verifying,
            message: "the host runs its baseline with its next heartbeat; results show as \
                      verifying until the run arrives"
                .into(),
        }),
    ))
}

type ScopeQ = Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>;

/// The fleet's schedule, or a group's or host's own (404 when it inherits).
async fn get_schedule(
    State(st): State<SharedState>,
    q: ScopeQ,
) -> ApiResult<Json<BaselineSchedule>> {
    let scope = scope_of(&st, q).await?;
    if scope == Scope::Global {
        return Ok(Json(
            scoped::own::<BaselineSchedule>(&st, &scope)
                .await?
                .unwrap_or_default(),
        ));
    }
    own_or_404::<BaselineSchedule>(&st, &scope).await.map(Json)
}

/// Replaces the schedule of the fleet, a group (`?group=`) or a host (`?host=`); agents pick
/// it up with their next heartbeat.
async fn put_schedule(
    State(st): State<SharedState>,
    q: ScopeQ,
    body: Bytes,
) -> ApiResult<Json<BaselineSchedule>> {
    let scope = scope_of(&st, q).await?;
    let req: BaselineSchedule = parse_json(&body)?;
    req.check().map_err(ApiError::BadRequest)?;
    scoped::save(&st, &scope, Some(&req)).await?;
    Ok(Json(req))
}

/// Removes a group's or host's own schedule: it uses its group's or the fleet's again.
async fn delete_schedule(
    State(st): State<SharedState>,
    q: ScopeQ,
) -> ApiResult<Json<RemovedScoped>> {
    let scope = scope_of(&st, q).await?;
    remove::<BaselineSchedule>(&st, &scope, "PUT the schedule you want instead").await
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/baseline", get(list))
        .route("/api/v1/baseline/verify", post(verify))
        .route(
            "/api/v1/baseline/schedule",
            get(get_schedule).put(put_schedule).delete(delete_schedule),
        )
        .route("/api/v1/baseline/ignore", post(ignore))
        .route("/api/v1/baseline/unignore", post(unignore))
}
