//! `/api/v1/quarantine…`: the fleet's quarantine boxes and restoring a file.

use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;
use vigil_model::QuarantineState;
use vigil_proto::agent::CommandAction;
use vigil_proto::api::*;

pub(crate) async fn list_quarantine(
    State(st): State<SharedState>,
    q: Result<Query<HostFilter>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<QuarantineList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let now = st.now();
    let names: BTreeMap<String, String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, h.hostname))
        .collect();
    let files: Vec<_> = st
        .store
        .quarantined(q.host.as_deref().filter(|h| !h.is_empty()))
        .await?
        .into_iter()
        .map(|f| {
            let expires_at = f.quarantined_at + vigil_model::QUARANTINE_KEEP_SECS;
            QuarantinedFileView {
                hostname: names.get(&f.host_id).cloned(),
                restorable: f.state == QuarantineState::Quarantined && now < expires_at,
                host_id: f.host_id,
                qid: f.qid,
                path: f.path,
                sha256: f.sha256,
                md5: f.md5,
                size: f.size,
                quarantined_at: f.quarantined_at,
                expires_at,
                state: f.state,
                restored_at: f.restored_at,
            }
        })
        .collect();
    Ok(Json(QuarantineList { files }))
}

pub(crate) async fn restore_file(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<QueuedCommand>)> {
    let req: RestoreRequest = parse_json(&body)?;
    let file = st
        .store
        .quarantined(Some(&req.host_id))
        .await?
        .into_iter()
        .find(|f| f.qid == req.qid)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no quarantined file {} on host {}",
                req.qid, req.host_id
            ))
        })?;
    let pending = st.store.pending_commands(&req.host_id, st.now()).await?;
    let already = pending.iter().any(|c| {
        matches!(serde_json::from_str::<CommandAction>(&c.params),
            Ok(CommandAction::RestoreFile { quarantine_id, .. }) if quarantine_id == req.qid)
    });
    if already {
        return Err(ApiError::Conflict(format!(
            "a restore of {} is already waiting for host {}",
            req.qid, req.host_id
        )));
    }
    if file.state != QuarantineState::Quarantined {
        return Err(ApiError::Conflict(format!(
            "file {} was already {}",
            req.qid, file.state
        )));
    }
    if st.now() >= file.quarantined_at + vigil_model::QUARANTINE_KEEP_SECS {
        return Err(ApiError::Conflict(format!(
            "file {} was quarantined more than 30 days ago and is purged",
            req.qid
        )));
    }
    let action = CommandAction::RestoreFile {
        quarantine_id: req.qid.clone(),
        overwrite: req.overwrite,
    };
    let id = crate::commands::queue(&st, &req.host_id, None, &action, &op.0).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedCommand {
            command_id: id,
            message: format!("restore of {} queued as command {id}", file.path),
        }),
    ))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/quarantine", get(list_quarantine))
        .route("/api/v1/quarantine/restore", post(restore_file))
}
