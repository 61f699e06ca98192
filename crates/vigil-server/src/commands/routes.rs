//! `/api/v1/commands`: host actions and their outcomes.

use crate::http::*;
use crate::state::SharedState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use vigil_proto::api::{CommandList, CommandView};

pub(crate) async fn list_commands(
    State(st): State<SharedState>,
    q: Result<Query<HostFilter>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CommandList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let list: Vec<_> = st
        .store
        .commands(q.host.as_deref().filter(|h| !h.is_empty()), 200)
        .await?
        .into_iter()
        .map(|c| CommandView {
            params: serde_json::from_str(&c.params).ok(),
            id: c.id,
            host_id: c.host_id,
            alert_id: c.alert_id,
            action: c.action,
            state: c.state,
            created_at: c.created_at,
            created_by: c.created_by,
            expires_at: c.expires_at,
            sent_at: c.sent_at,
            finished_at: c.finished_at,
            message: c.message,
        })
        .collect();
    Ok(Json(CommandList { commands: list }))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/api/v1/commands", get(list_commands))
}
