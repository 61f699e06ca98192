//! The one error type of the REST API: every failure is classified here, once, into a status and a body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use vigil_proto::api::*;

/// Every API failure, classified once here.
#[derive(Debug)]
pub(crate) enum ApiError {
    BadRequest(String),
    Unauthorized(String),
    NotFound(String),
    Conflict(String),
    Unavailable(String),
    /// 429 with `Retry-After`.
    TooMany {
        message: String,
        retry_after: i64,
    },
}

impl From<crate::ip_policy::PolicyError> for ApiError {
    fn from(e: crate::ip_policy::PolicyError) -> ApiError {
        use crate::ip_policy::PolicyError as P;
        match e {
            P::Invalid(m) => ApiError::BadRequest(m),
            P::NotFound(m) => ApiError::NotFound(m),
            P::Conflict(m) => ApiError::Conflict(m),
            P::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
        let (status, error, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
            ApiError::TooMany {
                message,
                retry_after: secs,
            } => {
                retry_after = Some(secs.to_string());
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
            }
        };
        let mut resp = (
            status,
            Json(ApiErrorBody {
                error: error.into(),
                message,
            }),
        )
            .into_response();
        if let Some(v) = retry_after.and_then(|v| v.parse().ok()) {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<vigil_store::StoreError> for ApiError {
    fn from(e: vigil_store::StoreError) -> Self {
        match e {
            vigil_store::StoreError::Conflict(what) => {
                ApiError::Conflict(format!("{what} already exists"))
            }
            vigil_store::StoreError::NotFound(what) => {
                ApiError::NotFound(format!("{what} not found"))
            }
            other => {
                tracing::error!(error = %other, "store error on the API");
                ApiError::Unavailable("storage is unavailable; retry later".into())
            }
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
