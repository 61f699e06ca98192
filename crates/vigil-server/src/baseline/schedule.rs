//! `/api/v1/baseline/schedule`: when agents run the baseline, for the fleet, a group or a host
//! (the most specific applies), handed to each agent with its heartbeat.

use crate::http::*;
use crate::login_defense::routes::{own_or_404, remove, scope_of};
use crate::scoped::{self, Scope, Scoped};
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::Json;
use vigil_proto::agent::BaselineSchedule;
use vigil_proto::api::{RemovedScoped, ScopeQuery};

impl Scoped for BaselineSchedule {
    const SETTING: &'static str = "baseline_schedule";
    const WHAT: &'static str = "baseline schedule";
}

type ScopeQ = Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>;

/// The schedule in force on a host: its own, else its group's, else the fleet's (every other
/// night until changed).
pub async fn effective(
    st: &SharedState,
    host: &str,
    group: &str,
) -> Result<BaselineSchedule, vigil_store::StoreError> {
    scoped::most_specific(st, host, group).await
}

pub(crate) async fn get_schedule(
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
pub(crate) async fn put_schedule(
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
pub(crate) async fn delete_schedule(
    State(st): State<SharedState>,
    q: ScopeQ,
) -> ApiResult<Json<RemovedScoped>> {
    let scope = scope_of(&st, q).await?;
    remove::<BaselineSchedule>(&st, &scope, "PUT the schedule you want instead").await
}
