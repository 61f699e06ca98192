//! `/api/v1/install-codes`: install codes (create, list, revoke) and the command each one installs with.

use crate::admin::random_secret;
use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use vigil_proto::api::*;
use vigil_store::{EnrollRefusal, InstallCodeRecord};

pub(crate) fn code_view(st: &SharedState, c: InstallCodeRecord) -> InstallCodeView {
    let state = match vigil_store::check_code(&c, st.now()) {
        Ok(()) => InstallCodeState::Active,
        Err(EnrollRefusal::Revoked { .. }) => InstallCodeState::Revoked,
        Err(EnrollRefusal::UsedUp { .. }) => InstallCodeState::UsedUp,
        Err(_) => InstallCodeState::Expired,
    };
    InstallCodeView {
        id: c.id,
        hint: c.hint,
        group: c.group,
        os: c.os,
        provider: c.provider,
        labels: c.labels,
        proxy_cluster: c.proxy_cluster,
        created_at: c.created_at,
        expires_at: c.expires_at,
        revoked_at: c.revoked_at,
        uses: c.uses,
        max_hosts: c.max_uses,
        state,
    }
}

pub(crate) async fn list_codes(State(st): State<SharedState>) -> ApiResult<Json<InstallCodeList>> {
    let codes = st
        .store
        .install_codes()
        .await?
        .into_iter()
        .map(|c| code_view(&st, c))
        .collect();
    Ok(Json(InstallCodeList { codes }))
}

/// Longest validity an install code may have: a code is a short-lived secret.
pub(crate) const MAX_CODE_SECS: i64 = 30 * 86_400;

pub(crate) async fn create_code(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedInstallCode>)> {
    let req: CreateInstallCode = parse_json(&body)?;
    valid_name("group", &req.group)?;
    if req.os != "linux" {
        return Err(ApiError::BadRequest(format!(
            "os {:?} is not supported; the agent runs on linux",
            req.os
        )));
    }
    let secs = parse_duration(&req.expires).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "expires {:?} is not a duration such as 30m, 24h or 7d",
            req.expires
        ))
    })?;
    if secs > MAX_CODE_SECS {
        return Err(ApiError::BadRequest(
            "an install code may be valid for 30 days at most".into(),
        ));
    }
    for (k, v) in &req.labels {
        if k.is_empty() || k.len() > 64 || v.len() > 256 {
            return Err(ApiError::BadRequest(format!(
                "label {k:?} must have a 1–64 character key and a value of at most 256"
            )));
        }
    }
    if let Some(c) = &req.proxy_cluster {
        valid_name("proxy cluster", c)?;
    }
    if req.max_hosts.is_some_and(|n| !(1..=1_000_000).contains(&n)) {
        return Err(ApiError::BadRequest(
            "max_hosts must be 1 to 1000000 (leave it out for no limit)".into(),
        ));
    }
    let code = random_secret(32);
    let now = st.now();
    let rec = InstallCodeRecord {
        id: format!("ic-{}", &hex::encode(Sha256::digest(code.as_bytes()))[..12]),
        code_hash: hex::encode(Sha256::digest(code.as_bytes())),
        hint: code[..6].to_string(),
        group: req.group,
        os: req.os,
        provider: req.provider,
        labels: req.labels,
        proxy_cluster: req.proxy_cluster,
        created_at: now,
        expires_at: now + secs,
        revoked_at: None,
        uses: 0,
        max_uses: req.max_hosts,
    };
    st.store.create_install_code(&rec).await?;
    let command = super::command(&st.pki.curl_pin, &st.public_url, &code);
    Ok((
        StatusCode::CREATED,
        Json(CreatedInstallCode {
            view: code_view(&st, rec),
            code,
            command,
        }),
    ))
}

pub(crate) async fn revoke_code(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Json<InstallCodeView>> {
    if !st.store.revoke_install_code(&id, st.now()).await? {
        return Err(ApiError::NotFound(format!("install code {id} not found")));
    }
    let rec = st
        .store
        .install_codes()
        .await?
        .into_iter()
        .find(|c| c.id == id);
    rec.map(|c| Json(code_view(&st, c)))
        .ok_or_else(|| ApiError::NotFound(format!("install code {id} not found")))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/install-codes", get(list_codes).post(create_code))
        .route("/api/v1/install-codes/{id}/revoke", post(revoke_code))
}
