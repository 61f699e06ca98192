//! `/api/v1/notify…` and `/api/v1/inbox…`: channels, SMTP and time settings, the outbox and the inbox.

use crate::http::*;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use vigil_proto::api::*;

pub(crate) async fn list_channels(State(st): State<SharedState>) -> ApiResult<Json<ChannelList>> {
    let channels = crate::notify::channels(&st)
        .await?
        .into_iter()
        .map(|(id, name, cfg)| ChannelView {
            id,
            name,
            config: redacted(cfg),
        })
        .collect();
    Ok(Json(ChannelList { channels }))
}

/// A channel's settings with a webhook's secret path and query hidden.
pub(crate) fn redacted(mut cfg: vigil_notify::ChannelConfig) -> vigil_notify::ChannelConfig {
    if let vigil_notify::ChannelKind::Webhook { url, .. } = &mut cfg.kind {
        *url = vigil_notify::policy::redact_url(url);
    }
    cfg
}

pub(crate) async fn create_channel(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedId>)> {
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
    Ok((StatusCode::CREATED, Json(CreatedId { id })))
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

pub(crate) async fn get_notify_settings(
    State(st): State<SharedState>,
) -> ApiResult<Json<NotifySettingsView>> {
    let offset = crate::notify::utc_offset(&st).await?;
    let smtp = crate::notify::smtp(&st).await?.map(|mut config| {
        let password_set = config.password.take().is_some();
        SmtpView {
            config,
            password_set,
        }
    });
    Ok(Json(NotifySettingsView {
        utc_offset_minutes: offset,
        smtp,
    }))
}

pub(crate) async fn put_notify_settings(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<Json<NotifySettingsView>> {
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

pub(crate) async fn list_outbox(State(st): State<SharedState>) -> ApiResult<Json<OutboxList>> {
    let mut items = Vec::new();
    for row in st.store.outbox(100).await? {
        let attempts: Vec<_> = st
            .store
            .outbox_attempts(row.id)
            .await?
            .into_iter()
            .map(|(number, at, outcome)| OutboxAttemptView {
                number,
                at,
                outcome: serde_json::from_str(&outcome).ok(),
            })
            .collect();
        items.push(OutboxItemView {
            id: row.id,
            channel_id: row.channel_id,
            host_id: row.host_id,
            alert_id: row.alert_id,
            state: row.state,
            next_at: row.next_at,
            created_at: row.created_at,
            attempts,
        });
    }
    Ok(Json(OutboxList { items }))
}

pub(crate) async fn list_inbox(State(st): State<SharedState>) -> ApiResult<Json<Inbox>> {
    let messages: Vec<InboxMessageView> = st
        .store
        .inbox(200)
        .await?
        .into_iter()
        .map(|m| InboxMessageView {
            id: m.id,
            alert_id: m.alert_id,
            host_id: m.host_id,
            title: m.title,
            body: m.body,
            created_at: m.created_at,
            read_at: m.read_at,
        })
        .collect();
    let unread = messages.iter().filter(|m| m.read_at.is_none()).count();
    Ok(Json(Inbox { messages, unread }))
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
