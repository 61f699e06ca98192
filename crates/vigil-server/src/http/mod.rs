//! The REST API's edge: the router assembled from every domain's routes, operator
//! authentication, the one error type and the request pieces every domain shares.
//!
//! Imports go one way: `http` is used by each domain's `routes`, never by a domain's service;
//! routes call services, services call the store.

mod auth;
mod error;
mod extract;
pub(crate) mod sign_in;

pub(crate) use auth::Operator;
pub(crate) use error::{ApiError, ApiResult};
pub(crate) use extract::{find_host, parse_id, parse_json, parse_opt, valid_name};
pub(crate) use vigil_proto::api::HostFilter;

use crate::state::SharedState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

/// The API's own description, kept beside the handlers it describes.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every domain's protected routes: adding a domain is adding a line here.
fn domains() -> Router<SharedState> {
    Router::new()
        .merge(auth::routes())
        .merge(crate::overview::routes())
        .merge(crate::hosts::routes::routes())
        .merge(crate::install::routes::routes())
        .merge(crate::alerts::routes::routes())
        .merge(crate::vulns::routes::routes())
        .merge(crate::baseline::routes::routes())
        .merge(crate::commands::routes::routes())
        .merge(crate::quarantine::routes::routes())
        .merge(crate::ip_policy::routes::routes())
        .merge(crate::login_defense::routes::routes())
        .merge(crate::notify::routes::routes())
        .merge(crate::meta::routes())
        .merge(crate::content::routes())
}

pub fn router(state: SharedState) -> Router {
    let protected = domains().route_layer(middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/login", post(auth::login))
        .route("/api/v1/openapi.json", get(openapi))
        .merge(protected)
        .fallback(not_found)
        .with_state(state)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

async fn healthz(State(st): State<SharedState>) -> Json<vigil_proto::api::Health> {
    Json(vigil_proto::api::Health {
        status: "ok".into(),
        backend: st.store.backend().into(),
    })
}

/// Reads a request's whole body within `deadline` (at most [`vigil_proto::MAX_BODY_BYTES`],
/// an enrollment's at most [`vigil_proto::MAX_ENROLL_BYTES`]),
/// so a client that trickles a body cannot hold a task and a connection for ever.
pub async fn read_body_within(
    State(deadline): State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let limit = if parts.uri.path() == vigil_proto::agent::PATH_ENROLL {
        vigil_proto::MAX_ENROLL_BYTES
    } else {
        vigil_proto::MAX_BODY_BYTES
    };
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Ok(Err(_)) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {limit} bytes or broken off"),
        )
            .into_response(),
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                deadline.as_secs()
            ),
        )
            .into_response(),
    }
}
