//! Operators' authentication: bearer tokens on every protected route, console sign-in and sign-out.

use crate::admin::{random_secret, token_hash, verify_password};
use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use vigil_model::TokenKind;
use vigil_proto::api::*;
use vigil_store::TokenRecord;

/// Console sessions last half a day.
pub(crate) const SESSION_SECS: i64 = 12 * 3600;

#[derive(Clone, Debug)]
pub(crate) struct Operator(pub(crate) String);

pub(crate) fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

pub(crate) async fn require_token(
    State(st): State<SharedState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(&req) else {
        return ApiError::Unauthorized("missing bearer token (Authorization: Bearer TOKEN)".into())
            .into_response();
    };
    match st.store.token(&token_hash(token)).await {
        Ok(Some(t)) if t.expires_at.is_none_or(|e| e > st.now()) => {
            req.extensions_mut().insert(Operator(t.username));
            next.run(req).await
        }
        Ok(_) => ApiError::Unauthorized("token is unknown or expired".into()).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub(crate) async fn login(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<Json<LoginResponse>> {
    let req: LoginRequest = parse_json(&body)?;
    let user = st.store.user(&req.username).await?;
    let ok = match user {
        Some(u) => {
            tokio::task::spawn_blocking(move || verify_password(&req.password, &u.password_hash))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    if !ok {
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    }
    let token = format!("vgs_{}", random_secret(40));
    let now = st.now();
    st.store
        .add_token(&TokenRecord {
            token_hash: token_hash(&token),
            username: req.username,
            kind: TokenKind::Session,
            created_at: now,
            expires_at: Some(now + SESSION_SECS),
        })
        .await?;
    Ok(Json(LoginResponse {
        token,
        expires_at: now + SESSION_SECS,
    }))
}

/// Ends the session whose token made the request (API tokens are not session tokens and stay).
pub(crate) async fn logout(State(st): State<SharedState>, req: Request) -> ApiResult<StatusCode> {
    let token = bearer(&req).unwrap_or_default();
    let hash = token_hash(token);
    match st.store.token(&hash).await? {
        Some(t) if t.kind == TokenKind::Session => {
            st.store.delete_token(&hash).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::BadRequest(
            "only console session tokens can be logged out".into(),
        )),
    }
}

pub(crate) async fn me(axum::Extension(op): axum::Extension<Operator>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "username": op.0 }))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/logout", post(logout))
}
