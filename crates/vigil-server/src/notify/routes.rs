//! `/api/v1/notify…` and `/api/v1/inbox…`: channels, SMTP and time settings, the outbox and the inbox.

use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub(crate) async fn list_channels(
    State(st): State<SharedState>,
) -> ApiResult<Json<serde_json::Value>> {
    let list: Vec<_> = crate::notify::channels(&st)
        .await?
        .into_iter()
        .map(|(id, name, cfg)| serde_json::json!({ "id": id, "name": name, "config": redacted(&cfg) }))
        .collect();
    Ok(Json(serde_json::json!({ "channels": list })))
}

/// A channel's settings with a webhook's secret path and query hidden.
pub(crate) fn redacted(cfg: &vigil_notify::ChannelConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(cfg).unwrap_or_default();
    if let Some(url) = v.pointer_mut("/kind/url") {
        if let Some(u) = url.as_str() {
            *url = serde_json::Value::String(vigil_notify::policy::redact_url(u));
        }
    }
    v
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateChannel {
    name: String,
    config: vigil_notify::ChannelConfig,
}

pub(crate) async fn create_channel(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let req: CreateChannel = parse_json(&body)?;
    if req.name.trim().is_empty() || req.name.len() > 100 {
        return Err(ApiError::BadRequest(
            "name must be 1 to 100 characters".into(),
        ));
    }
    req.config
        .validate()
        .map_err(|e| ApiError::BadRequest(format!("channel settings: {e}")))?;
    let id = crate::notify::add_channel(&st, req.name.trim(), &req.config).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

pub(crate) async fn delete_channel(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id("channel", &id)?;
    if !st.store.delete_notify_channel(id).await? {
        return Err(ApiError::NotFound(format!("channel {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, serde::Serialize)]
pub(crate) struct NotifySettings {
    /// Local time of the operators, for time windows and daily limits.
    #[serde(default)]
    utc_offset_minutes: i32,
    #[serde(default)]
    smtp: Option<vigil_notify::SmtpConfig>,
}

pub(crate) async fn get_notify_settings(
    State(st): State<SharedState>,
) -> ApiResult<Json<serde_json::Value>> {
    let offset = crate::notify::utc_offset(&st).await?;
    let smtp = crate::notify::smtp(&st).await?;
    let smtp = smtp.map(|mut s| {
        let set = s.password.take().is_some();
        let mut v = serde_json::to_value(&s).unwrap_or_default();
        v["password_set"] = serde_json::Value::Bool(set);
        v
    });
    Ok(Json(
        serde_json::json!({ "utc_offset_minutes": offset, "smtp": smtp }),
    ))
}

pub(crate) async fn put_notify_settings(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let req: NotifySettings = parse_json(&body)?;
    if !(-14 * 60..=14 * 60).contains(&req.utc_offset_minutes) {
        return Err(ApiError::BadRequest(
            "utc_offset_minutes must be between -840 and 840".into(),
        ));
    }
    if let Some(smtp) = &req.smtp {
        if smtp.host.trim().is_empty() || smtp.port == 0 || !smtp.from.contains('@') {
            return Err(ApiError::BadRequest(
                "smtp needs a host, a port and a from address".into(),
            ));
        }
        crate::notify::save_smtp(&st, smtp).await?;
    }
    st.store
        .put_setting(
            crate::notify::SETTING_UTC_OFFSET,
            &req.utc_offset_minutes.to_string(),
        )
        .await?;
    get_notify_settings(State(st)).await
}

pub(crate) async fn list_outbox(
    State(st): State<SharedState>,
) -> ApiResult<Json<serde_json::Value>> {
    let mut items = Vec::new();
    for row in st.store.outbox(100).await? {
        let attempts: Vec<_> = st
            .store
            .outbox_attempts(row.id)
            .await?
            .into_iter()
            .map(|(number, at, outcome)| {
                serde_json::json!({ "number": number, "at": at,
                    "outcome": serde_json::from_str::<serde_json::Value>(&outcome).unwrap_or_default() })
            })
            .collect();
        items.push(serde_json::json!({
            "id": row.id, "channel_id": row.channel_id, "host_id": row.host_id, "alert_id": row.alert_id,
            "state": row.state, "next_at": row.next_at, "created_at": row.created_at, "attempts": attempts,
        }));
    }
    Ok(Json(serde_json::json!({ "items": items })))
}

pub(crate) async fn list_inbox(
    State(st): State<SharedState>,
) -> ApiResult<Json<serde_json::Value>> {
    let messages: Vec<_> = st
        .store
        .inbox(200)
        .await?
        .into_iter()
        .map(|m| {
            serde_json::json!({ "id": m.id, "alert_id": m.alert_id, "host_id": m.host_id, "title": m.title,
                "body": m.body, "created_at": m.created_at, "read_at": m.read_at })
        })
        .collect();
    let unread = messages.iter().filter(|m| m["read_at"].is_null()).count();
    Ok(Json(
        serde_json::json!({ "messages": messages, "unread": unread }),
    ))
}

pub(crate) async fn read_inbox(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id("message", &id)?;
    if !st.store.mark_inbox_read(id, st.now()).await? {
        return Err(ApiError::NotFound(format!("message {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/api/v1/notify/channels",
            get(list_channels).post(create_channel),
        )
        .route(
            "/api/v1/notify/channels/{id}",
            axum::routing::delete(delete_channel),
        )
        .route(
            "/api/v1/notify/settings",
            get(get_notify_settings).put(put_notify_settings),
        )
        .route("/api/v1/notify/outbox", get(list_outbox))
        .route("/api/v1/inbox", get(list_inbox))
        .route("/api/v1/inbox/{id}/read", post(read_inbox))
}
