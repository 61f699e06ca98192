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
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    body: Bytes,
) -> ApiResult<Json<LoginResponse>> {
    let req: LoginRequest = parse_json(&body)?;
    if req.username.len() > 256 || req.password.len() > 1024 {
        return Err(ApiError::BadRequest(
            "user name or password too long".into(),
        ));
    }
    let source = peer.map(|axum::Extension(c)| c.0.ip());
    let guard = &st.sign_ins;
    match guard.gate(source, &req.username, st.now()) {
        super::sign_in::Gate::Locked(secs) => {
            return Err(ApiError::TooMany {
                message: format!(
                    "too many failed sign-ins from this address; try again in {} minutes",
                    (secs + 59) / 60
                ),
                retry_after: secs,
            })
        }
        super::sign_in::Gate::Proceed(wait) => tokio::time::sleep(wait).await,
    }
    let user = st.store.user(&req.username).await?;
    let check = st.clone();
    let password = req.password.clone();
    let verified = guard
        .hash(move || match user {
            Some(u) => verify_password(&password, &u.password_hash),
            // The same work as for a known user, so the time does not tell who exists.
            None => {
                verify_password(&password, check.sign_ins.dummy_hash());
                false
            }
        })
        .await;
    let Some(ok) = verified else {
        return Err(ApiError::Unavailable(
            "too many sign-ins at once; try again in a moment".into(),
        ));
    };
    if !ok {
        guard.failed(source, &req.username, st.now());
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    }
    guard.succeeded(source, &req.username);
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

pub(crate) async fn me(
    axum::Extension(op): axum::Extension<Operator>,
) -> Json<vigil_proto::api::Me> {
    Json(vigil_proto::api::Me { username: op.0 })
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/logout", post(logout))
}
