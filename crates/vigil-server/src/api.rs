//! The operator REST API under `/api/v1`: bearer-token auth, JSON in and out, one error type.

use crate::admin::{random_secret, token_hash, verify_password};
use crate::install;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use vigil_detect::score::{score, Pending};
use vigil_model::{
    AlertKind, AlertStatus, HostState, IpRuleStatus, Level, OsInfo, QuarantineState, RuleOrigin,
    TokenKind,
};
use vigil_proto::agent::CommandAction;
use vigil_proto::api::*;
use vigil_store::{
    AlertFilter, AlertRecord, AlertSort, HostRecord, InstallCodeRecord, TokenRecord, Transition,
    WhitelistRuleRecord,
};

/// Console sessions last half a day.
const SESSION_SECS: i64 = 12 * 3600;

pub fn router(state: SharedState) -> Router {
    let protected = Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/hosts", get(list_hosts))
        .route("/api/v1/hosts/{id}", get(get_host))
        .route("/api/v1/hosts/{id}/fingerprints", get(get_fingerprints))
        .route("/api/v1/hosts/{id}/events", get(get_events))
        .route("/api/v1/hosts/{id}/report", get(host_report))
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route("/api/v1/install-codes", get(list_codes).post(create_code))
        .route("/api/v1/install-codes/{id}/revoke", post(revoke_code))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/handle", post(handle_alerts))
        .route("/api/v1/whitelist", get(list_rules).post(create_rule))
        .route("/api/v1/whitelist/{id}", axum::routing::delete(delete_rule))
        .route("/api/v1/score", get(fleet_score))
        .route("/api/v1/vulns", get(crate::vulns::list))
        .route("/api/v1/vulns/handle", post(crate::vulns::handle))
        .route(
            "/api/v1/hosts/{id}/vulns/verify",
            post(crate::vulns::verify),
        )
        .route("/api/v1/commands", get(list_commands))
        .route("/api/v1/ip-rules", get(list_ip_rules).post(create_ip_rule))
        .route("/api/v1/attacks", get(attacks))
        .route(
            "/api/v1/login-settings",
            get(get_login_settings)
                .put(put_login_settings)
                .delete(delete_login_settings),
        )
        .route(
            "/api/v1/login-policy",
            get(get_login_policy)
                .put(put_login_policy)
                .delete(delete_login_policy),
        )
        .route("/api/v1/ip-rules/{id}/disable", post(disable_ip_rule))
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
        .route("/api/v1/quarantine", get(list_quarantine))
        .route("/api/v1/quarantine/restore", post(restore_file))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .merge(crate::meta::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/login", post(login))
        .route("/api/v1/openapi.json", get(openapi))
        .merge(protected)
        .fallback(not_found)
        .with_state(state)
}

/// Every API failure, classified once here.
#[derive(Debug)]
pub(crate) enum ApiError {
    BadRequest(String),
    Unauthorized(String),
    NotFound(String),
    Conflict(String),
    Unavailable(String),
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
        let (status, error, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
        };
        (
            status,
            Json(ApiErrorBody {
                error: error.into(),
                message,
            }),
        )
            .into_response()
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

/// A numeric id from a path segment.
fn parse_id(what: &str, raw: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("{what} id {raw:?} is not a number")))
}

pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("request body: {e}")))
}

/// The API's own description, kept beside the handlers it describes.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

async fn healthz(State(st): State<SharedState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "backend": st.store.backend() }))
}

#[derive(Clone, Debug)]
pub(crate) struct Operator(pub(crate) String);

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

async fn require_token(State(st): State<SharedState>, mut req: Request, next: Next) -> Response {
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

async fn login(State(st): State<SharedState>, body: Bytes) -> ApiResult<Json<LoginResponse>> {
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
async fn logout(State(st): State<SharedState>, req: Request) -> ApiResult<StatusCode> {
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

async fn me(axum::Extension(op): axum::Extension<Operator>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "username": op.0 }))
}

fn host_state(st: &SharedState, h: &HostRecord) -> HostState {
    HostState::derive(
        h.last_seen,
        h.uninstalled_at.is_some(),
        st.now(),
        st.config.offline_after_secs as i64,
    )
}

fn host_view(st: &SharedState, h: HostRecord, alerts: BTreeMap<String, i64>) -> HostView {
    let os: OsInfo = serde_json::from_str(&h.os_json).unwrap_or_default();
    HostView {
        state: host_state(st, &h),
        id: h.id,
        hostname: h.hostname,
        group: h.group,
        labels: h.labels,
        os: if os.pretty_name.is_empty() {
            os.id
        } else {
            os.pretty_name
        },
        kernel: os.kernel,
        ips: os.ips,
        agent_version: h.agent_version,
        enrolled_at: h.enrolled_at,
        last_seen: h.last_seen,
        uninstalled_at: h.uninstalled_at,
        inventory_at: h.inventory_at,
        alerts,
        agent: serde_json::from_str(&h.agent_stats).unwrap_or_default(),
    }
}

async fn alert_counts(st: &SharedState) -> ApiResult<BTreeMap<String, BTreeMap<String, i64>>> {
    let mut by_host: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (host, level, n) in st.store.unhandled_alert_counts().await? {
        by_host.entry(host).or_default().insert(level, n);
    }
    Ok(by_host)
}

#[derive(Debug, Deserialize)]
struct HostQuery {
    state: Option<String>,
    group: Option<String>,
}

async fn list_hosts(
    State(st): State<SharedState>,
    q: Result<Query<HostQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<HostList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some("online") => Some(HostState::Online),
        Some("offline") => Some(HostState::Offline),
        Some("uninstalled") => Some(HostState::Uninstalled),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "state {other:?} is not one of online, offline, uninstalled"
            )))
        }
    };
    let mut counts = alert_counts(&st).await?;
    let hosts = st
        .store
        .hosts()
        .await?
        .into_iter()
        .filter(|h| {
            q.group
                .as_deref()
                .is_none_or(|g| g.is_empty() || h.group == g)
        })
        .map(|h| {
            let c = counts.remove(&h.id).unwrap_or_default();
            host_view(&st, h, c)
        })
        .filter(|v| wanted.is_none_or(|w| v.state == w))
        .collect();
    Ok(Json(HostList { hosts }))
}

pub(crate) async fn find_host(st: &SharedState, id: &str) -> ApiResult<HostRecord> {
    st.store
        .host(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("host {id} not found")))
}

async fn get_host(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Json<HostView>> {
    let h = find_host(&st, &id).await?;
    let counts = alert_counts(&st).await?.remove(&id).unwrap_or_default();
    Ok(Json(host_view(&st, h, counts)))
}

async fn get_fingerprints(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    find_host(&st, &id).await?;
    let Some(json) = st.store.inventory(&id).await? else {
        return Err(ApiError::NotFound(format!(
            "host {id} has not reported fingerprints yet"
        )));
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

async fn get_events(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    q: Result<Query<LimitQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    find_host(&st, &id).await?;
    let events = st
        .store
        .events(&id, q.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    let total = st.store.event_count(Some(&id)).await?;
    let list: Vec<_> = events
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "seq": e.seq, "time": e.time, "kind": e.kind,
                "body": serde_json::from_str::<serde_json::Value>(&e.body).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "events": list, "total": total })))
}

async fn list_groups(State(st): State<SharedState>) -> ApiResult<Json<GroupList>> {
    let groups = st
        .store
        .groups()
        .await?
        .into_iter()
        .map(|g| GroupView {
            name: g.name,
            hosts: g.hosts,
            created_at: g.created_at,
        })
        .collect();
    Ok(Json(GroupList { groups }))
}

fn valid_name(what: &str, s: &str) -> ApiResult<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{what} {s:?} must be 1 to 64 letters, digits, spaces, '-', '_' or '.'"
        )))
    }
}

async fn create_group(
    State(st): State<SharedState>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let req: CreateGroup = parse_json(&body)?;
    valid_name("group", &req.name)?;
    if !st.store.create_group(&req.name, st.now()).await? {
        return Err(ApiError::Conflict(format!(
            "group {} already exists",
            req.name
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(GroupView {
            name: req.name,
            hosts: 0,
            created_at: st.now(),
        }),
    ))
}

fn code_view(st: &SharedState, c: InstallCodeRecord) -> InstallCodeView {
    let state = if c.revoked_at.is_some() {
        InstallCodeState::Revoked
    } else if st.now() >= c.expires_at {
        InstallCodeState::Expired
    } else {
        InstallCodeState::Active
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
        state,
    }
}

async fn list_codes(State(st): State<SharedState>) -> ApiResult<Json<InstallCodeList>> {
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
const MAX_CODE_SECS: i64 = 30 * 86_400;

async fn create_code(
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
    };
    st.store.create_install_code(&rec).await?;
    let command = install::command(&st.pki.curl_pin, &st.public_url, &code);
    Ok((
        StatusCode::CREATED,
        Json(CreatedInstallCode {
            view: code_view(&st, rec),
            code,
            command,
        }),
    ))
}

async fn revoke_code(
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

#[derive(Debug, Deserialize)]
struct AlertQuery {
    host: Option<String>,
    level: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    /// Unix seconds: last seen at or after / before.
    since: Option<i64>,
    until: Option<i64>,
    /// Text the alert's name contains (case-insensitive).
    q: Option<String>,
    /// newest (default), oldest or level.
    sort: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

fn parse_opt<T>(
    what: &str,
    v: Option<&str>,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
) -> ApiResult<Option<T>> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            ApiError::BadRequest(format!("{what} {s:?} is not one of: {}", names.join(", ")))
        }),
    }
}

async fn alert_views(st: &SharedState, alerts: Vec<AlertRecord>) -> ApiResult<Vec<AlertView>> {
    let hosts: BTreeMap<String, (String, String)> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, (h.hostname, h.group)))
        .collect();
    let mut related = BTreeMap::new();
    for a in &alerts {
        related.insert(a.id, st.store.related_alerts(a.id).await?);
    }
    Ok(alerts
        .into_iter()
        .map(|a| {
            let (hostname, group) = hosts.get(&a.host_id).cloned().unwrap_or_default();
            AlertView {
                hostname,
                group,
                id: a.id,
                host_id: a.host_id,
                kind: a.kind,
                level: a.level,
                status: a.status,
                name: a.name,
                evidence: a
                    .evidence
                    .into_iter()
                    .map(|(name, value)| Evidence { name, value })
                    .collect(),
                first_seen: a.first_seen,
                last_seen: a.last_seen,
                count: a.count,
                handled_at: a.handled_at,
                handled_by: a.handled_by,
                note: a.note,
                whitelist_rule_id: a.whitelist_rule_id,
                tactic: {
                    let (id, name) = a.kind.tactic();
                    format!("{id} {name}")
                },
                related: related.remove(&a.id).unwrap_or_default(),
            }
        })
        .collect())
}

async fn list_alerts(
    State(st): State<SharedState>,
    q: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AlertList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let levels: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
    let statuses: Vec<&str> = AlertStatus::ALL.iter().map(|s| s.as_str()).collect();
    let kinds: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let filter = AlertFilter {
        host_id: q.host.filter(|h| !h.is_empty()),
        level: parse_opt("level", q.level.as_deref(), Level::parse, &levels)?,
        status: parse_opt("status", q.status.as_deref(), AlertStatus::parse, &statuses)?,
        kind: parse_opt("kind", q.kind.as_deref(), AlertKind::parse, &kinds)?,
        since: q.since,
        until: q.until,
        search: q
            .q
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().chars().take(200).collect()),
        sort: match q.sort.as_deref() {
            None | Some("") | Some("newest") => AlertSort::Newest,
            Some("oldest") => AlertSort::Oldest,
            Some("level") => AlertSort::Level,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "sort {other:?} is not one of newest, oldest, level"
                )))
            }
        },
        limit,
        offset: q.offset.unwrap_or(0).max(0),
    };
    let (alerts, total) = st.store.alerts(&filter).await?;
    let total_capped = total > vigil_store::alert_count_cap(&filter);
    Ok(Json(AlertList {
        alerts: alert_views(&st, alerts).await?,
        total,
        total_capped,
    }))
}

async fn get_alert(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertView>> {
    let id = parse_id("alert", &id)?;
    let a = st
        .store
        .alert(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("alert {id} not found")))?;
    Ok(Json(alert_views(&st, vec![a]).await?.remove(0)))
}

async fn overview(State(st): State<SharedState>) -> ApiResult<Json<Overview>> {
    let mut o = Overview::default();
    for h in st.store.hosts().await? {
        o.hosts_total += 1;
        match host_state(&st, &h) {
            HostState::Online => o.hosts_online += 1,
            HostState::Offline => o.hosts_offline += 1,
            HostState::Uninstalled => o.hosts_uninstalled += 1,
        }
    }
    for l in Level::ALL {
        o.alerts.insert(l.as_str().into(), 0);
    }
    for (_, level, n) in st.store.unhandled_alert_counts().await? {
        *o.alerts.entry(level).or_default() += n;
    }
    Ok(Json(o))
}

/// Statuses each server-side action may start from.
pub(crate) fn allowed_from(action: HandleAction) -> &'static [AlertStatus] {
    match action {
        HandleAction::Ignore => &[AlertStatus::Unhandled, AlertStatus::Expired],
        HandleAction::Handled => &[
            AlertStatus::Unhandled,
            AlertStatus::Expired,
            AlertStatus::Ignored,
        ],
        // A whitelist rule may also cover alerts already ignored or handled.
        HandleAction::Whitelist => &[
            AlertStatus::Unhandled,
            AlertStatus::Expired,
            AlertStatus::Ignored,
            AlertStatus::Handled,
        ],
        HandleAction::Unwhitelist => &[AlertStatus::Whitelisted],
        HandleAction::KillProcess
        | HandleAction::Quarantine
        | HandleAction::KillAndQuarantine
        | HandleAction::BlockIp => &[
            AlertStatus::Unhandled,
            AlertStatus::Expired,
            AlertStatus::Ignored,
        ],
    }
}

fn result(
    id: i64,
    outcome: &str,
    status: Option<AlertStatus>,
    message: impl Into<String>,
) -> HandleResult {
    HandleResult {
        id,
        outcome: outcome.into(),
        status,
        message: message.into(),
    }
}

async fn handle_alerts(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<Json<HandleResponse>> {
    let mut req: HandleAlerts = parse_json(&body)?;
    if req.ids.is_empty() || req.ids.len() > 1000 {
        return Err(ApiError::BadRequest(
            "ids must list 1 to 1000 alert ids".into(),
        ));
    }
    if req.include_related {
        let mut all = req.ids.clone();
        for id in &req.ids {
            all.extend(st.store.related_alerts(*id).await?);
        }
        let mut seen = std::collections::BTreeSet::new();
        all.retain(|id| seen.insert(*id));
        req.ids = all;
    }
    if req.note.len() > 1000 {
        return Err(ApiError::BadRequest(
            "note must be at most 1000 characters".into(),
        ));
    }
    let now = st.now();
    let results = match req.action {
        HandleAction::Ignore | HandleAction::Handled => {
            let to = if req.action == HandleAction::Ignore {
                AlertStatus::Ignored
            } else {
                AlertStatus::Handled
            };
            st.store
                .transition_alerts(
                    &req.ids,
                    allowed_from(req.action),
                    to,
                    &op.0,
                    &req.note,
                    now,
                )
                .await?
                .into_iter()
                .map(|t| match t {
                    Transition::Changed(id) => result(
                        id,
                        "changed",
                        Some(to),
                        format!("alert {id} is now {}", to.as_str()),
                    ),
                    Transition::Unchanged { id, status } if status == to => result(
                        id,
                        "unchanged",
                        Some(status),
                        format!(
                            "alert {id} is already {0}; it cannot become {0} again",
                            to.as_str()
                        ),
                    ),
                    Transition::Unchanged { id, status } => result(
                        id,
                        "unchanged",
                        Some(status),
                        format!(
                            "alert {id} is {}; it cannot become {}",
                            status.as_str(),
                            to.as_str()
                        ),
                    ),
                    Transition::Missing(id) => {
                        result(id, "missing", None, format!("alert {id} not found"))
                    }
                })
                .collect()
        }
        HandleAction::Whitelist => whitelist_alerts(&st, &req, &op.0).await?,
        HandleAction::Unwhitelist => unwhitelist_alerts(&st, &req.ids).await?,
        HandleAction::KillProcess | HandleAction::Quarantine | HandleAction::KillAndQuarantine => {
            host_actions(&st, &req, &op.0).await?
        }
        HandleAction::BlockIp => block_sources(&st, &req, &op.0).await?,
    };
    Ok(Json(HandleResponse { results }))
}

/// Creates one rule per distinct whitelist key among the alerts, and applies each rule to every
/// existing alert it covers.
async fn whitelist_alerts(
    st: &SharedState,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Vec<HandleResult>> {
    let groups: BTreeMap<String, String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, h.group))
        .collect();
    let mut results = Vec::new();
    let mut made: Vec<WhitelistRuleRecord> = Vec::new();
    for &id in &req.ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        if a.status == AlertStatus::Whitelisted {
            results.push(result(
                id,
                "unchanged",
                Some(a.status),
                format!("alert {id} is already whitelisted"),
            ));
            continue;
        }
        if !allowed_from(HandleAction::Whitelist).contains(&a.status) {
            results.push(result(
                id,
                "unchanged",
                Some(a.status),
                format!("alert {id} is {}", a.status.as_str()),
            ));
            continue;
        }
        let Some(fields) = vigil_detect::whitelist::key_of(a.kind, &a.evidence) else {
            results.push(result(
                id,
                "refused",
                Some(a.status),
                format!(
                    "alert {id} carries none of the fields a {} whitelist is keyed by ({})",
                    a.kind.as_str(),
                    vigil_detect::whitelist::key_fields(a.kind).join(", ")
                ),
            ));
            continue;
        };
        let group = groups.get(&a.host_id).cloned().unwrap_or_default();
        let (scope, scope_value) = match req.scope {
            WhitelistScope::Host => (WhitelistScope::Host, a.host_id.clone()),
            WhitelistScope::Group => (WhitelistScope::Group, group),
            WhitelistScope::All => (WhitelistScope::All, String::new()),
        };
        let existing = made.iter().find(|r| {
            r.kind == a.kind
                && r.fields == fields
                && r.scope == scope
                && r.scope_value == scope_value
        });
        if existing.is_none() {
            let mut rule = WhitelistRuleRecord {
                id: 0,
                kind: a.kind,
                scope,
                scope_value,
                fields,
                note: req.note.clone(),
                created_at: st.now(),
                created_by: by.into(),
            };
            rule.id = st.store.add_whitelist_rule(&rule).await?;
            apply_rule(st, &rule, &groups).await?;
            made.push(rule);
        }
        results.push(result(
            id,
            "changed",
            Some(AlertStatus::Whitelisted),
            format!("alert {id} is whitelisted"),
        ));
    }
    st.invalidate_whitelist().await;
    Ok(results)
}

/// Whitelists the existing alerts a new rule covers; returns how many.
async fn apply_rule(
    st: &SharedState,
    rule: &WhitelistRuleRecord,
    groups: &BTreeMap<String, String>,
) -> ApiResult<u64> {
    let engine_rule = crate::state::rule_of(rule);
    let candidates = st
        .store
        .alerts_of_kind(rule.kind, allowed_from(HandleAction::Whitelist))
        .await?;
    let ids: Vec<i64> = candidates
        .iter()
        .filter(|a| {
            let group = groups.get(&a.host_id).map(String::as_str).unwrap_or("");
            engine_rule.matches(a.kind, &a.evidence, &a.host_id, group)
        })
        .map(|a| a.id)
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(st
        .store
        .whitelist_alerts(&ids, rule.id, &rule.created_by, st.now())
        .await?)
}

async fn unwhitelist_alerts(st: &SharedState, ids: &[i64]) -> ApiResult<Vec<HandleResult>> {
    let mut results = Vec::new();
    for &id in ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        match (a.status, a.whitelist_rule_id) {
            (AlertStatus::Whitelisted, Some(rule)) => {
                let restored = st.store.delete_whitelist_rule(rule).await?.unwrap_or(0);
                results.push(result(
                    id,
                    "changed",
                    Some(AlertStatus::Unhandled),
                    format!("whitelist rule {rule} removed; {restored} alert(s) back in the list"),
                ));
            }
            (status, _) => results.push(result(
                id,
                "unchanged",
                Some(status),
                format!("alert {id} is not whitelisted"),
            )),
        }
    }
    st.invalidate_whitelist().await;
    Ok(results)
}

fn rule_view(r: WhitelistRuleRecord) -> WhitelistRuleView {
    WhitelistRuleView {
        id: r.id,
        kind: r.kind,
        scope: r.scope,
        scope_value: r.scope_value,
        fields: r.fields,
        note: r.note,
        created_at: r.created_at,
        created_by: r.created_by,
    }
}

async fn list_rules(State(st): State<SharedState>) -> ApiResult<Json<WhitelistRuleList>> {
    let rules = st
        .store
        .whitelist_rules()
        .await?
        .into_iter()
        .map(rule_view)
        .collect();
    Ok(Json(WhitelistRuleList { rules }))
}

async fn create_rule(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedWhitelistRule>)> {
    let req: CreateWhitelistRule = parse_json(&body)?;
    let allowed = vigil_detect::whitelist::key_fields(req.kind);
    if req.fields.is_empty() || req.fields.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "a {} whitelist rule is keyed by {}; got {:?}",
            req.kind.as_str(),
            allowed.join(", "),
            req.fields.keys().collect::<Vec<_>>()
        )));
    }
    if req.fields.values().any(|v| v.is_empty() || v.len() > 4096) {
        return Err(ApiError::BadRequest(
            "field values must be 1 to 4096 characters".into(),
        ));
    }
    let scope_value = match req.scope {
        WhitelistScope::All => String::new(),
        WhitelistScope::Host => {
            find_host(&st, &req.scope_value).await?;
            req.scope_value.clone()
        }
        WhitelistScope::Group => {
            if !st
                .store
                .groups()
                .await?
                .iter()
                .any(|g| g.name == req.scope_value)
            {
                return Err(ApiError::NotFound(format!(
                    "group {:?} not found",
                    req.scope_value
                )));
            }
            req.scope_value.clone()
        }
    };
    let mut rule = WhitelistRuleRecord {
        id: 0,
        kind: req.kind,
        scope: req.scope,
        scope_value,
        fields: req.fields,
        note: req.note,
        created_at: st.now(),
        created_by: op.0,
    };
    rule.id = st.store.add_whitelist_rule(&rule).await?;
    let groups: BTreeMap<String, String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, h.group))
        .collect();
    let whitelisted = apply_rule(&st, &rule, &groups).await?;
    st.invalidate_whitelist().await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWhitelistRule {
            rule: rule_view(rule),
            whitelisted,
        }),
    ))
}

async fn delete_rule(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_id("rule", &id)?;
    let restored = st
        .store
        .delete_whitelist_rule(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("whitelist rule {id} not found")))?;
    st.invalidate_whitelist().await;
    Ok(Json(
        serde_json::json!({ "deleted": id, "restored": restored }),
    ))
}

fn score_view(s: &vigil_detect::score::Score) -> ScoreView {
    ScoreView {
        score: s.score,
        band: s.band.as_str().into(),
        deductions: s
            .deductions
            .iter()
            .map(|(m, p)| (m.to_string(), *p))
            .collect(),
        capped_at: s.capped_at,
    }
}

/// What the score counts against a host: unhandled alerts and unfixed vulnerabilities.
fn pending(
    alerts: Option<&BTreeMap<String, i64>>,
    vulns: Option<&BTreeMap<String, i64>>,
) -> Pending {
    let n = |m: Option<&BTreeMap<String, i64>>, level: &str| {
        m.and_then(|m| m.get(level)).copied().unwrap_or(0).max(0) as u64
    };
    Pending {
        alerts_urgent: n(alerts, "urgent"),
        alerts_suspicious: n(alerts, "suspicious"),
        alerts_reminder: n(alerts, "reminder"),
        vulns_high: n(vulns, "high"),
        vulns_medium: n(vulns, "medium"),
        vulns_low: n(vulns, "low"),
        ..Pending::default()
    }
}

async fn fleet_score(State(st): State<SharedState>) -> ApiResult<Json<FleetScore>> {
    let counts = alert_counts(&st).await?;
    let vulns = crate::vulns::counts(&st).await?;
    let mut hosts: Vec<HostScore> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .filter(|h| h.uninstalled_at.is_none())
        .map(|h| {
            let pending = pending(counts.get(&h.id), vulns.get(&h.id));
            HostScore {
                host_id: h.id,
                hostname: h.hostname,
                score: score_view(&score(&pending)),
            }
        })
        .collect();
    hosts.sort_by_key(|h| h.score.score);
    let mean = if hosts.is_empty() {
        100
    } else {
        (hosts.iter().map(|h| h.score.score as f64).sum::<f64>() / hosts.len() as f64).round()
            as u32
    };
    let fleet = ScoreView {
        score: mean,
        band: vigil_detect::score::Band::of(mean).as_str().into(),
        deductions: Vec::new(),
        capped_at: None,
    };
    Ok(Json(FleetScore { fleet, hosts }))
}

fn evidence<'a>(a: &'a AlertRecord, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| {
        a.evidence
            .iter()
            .find(|(k, v)| k == n && !v.is_empty())
            .map(|(_, v)| v.as_str())
    })
}

/// The command an action needs for this alert, or why it cannot apply.
fn command_for(action: HandleAction, a: &AlertRecord) -> Result<CommandAction, String> {
    let pid = || {
        evidence(a, &["pid"])
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p > 1)
            .ok_or_else(|| format!("alert {} names no process (no pid in its evidence)", a.id))
    };
    let exe = evidence(a, &["exe"]).map(str::to_string);
    match action {
        HandleAction::KillProcess => Ok(CommandAction::KillProcess { pid: pid()?, exe }),
        HandleAction::KillAndQuarantine => {
            Ok(CommandAction::KillAndQuarantine { pid: pid()?, exe })
        }
        // A running program's executable is quarantined with kill_and_quarantine, not alone.
        HandleAction::Quarantine => evidence(a, &["path", "file"])
            .filter(|p| p.starts_with('/'))
            .map(|p| CommandAction::QuarantineFile {
                path: p.to_string(),
            })
            .ok_or_else(|| {
                format!(
                    "alert {} names no file (no absolute path in its evidence)",
                    a.id
                )
            }),
        _ => Err("not a host action".into()),
    }
}

/// Claims each alert (`in_progress`) and queues the action for its host.
async fn host_actions(
    st: &SharedState,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Vec<HandleResult>> {
    let mut results = Vec::new();
    for &id in &req.ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        let command = match command_for(req.action, &a) {
            Ok(c) => c,
            Err(why) => {
                results.push(result(id, "refused", Some(a.status), why));
                continue;
            }
        };
        if let Err(refusal) = claim_on_host(st, &a, req, by).await? {
            results.push(refusal);
            continue;
        }
        let cmd = crate::commands::queue(st, &a.host_id, Some(id), &command, by).await?;
        results.push(result(
            id,
            "changed",
            Some(AlertStatus::InProgress),
            format!(
                "{} queued as command {cmd}; it runs when host {} next checks in (it times out after {} min)",
                command.name(),
                a.host_id,
                crate::commands::COMMAND_TTL_SECS / 60
            ),
        ));
    }
    Ok(results)
}

/// Marks an alert `in_progress` for an action on its host, or says why it cannot be: the host
/// is uninstalled, or the alert is in a status the action does not start from.
async fn claim_on_host(
    st: &SharedState,
    a: &AlertRecord,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Result<(), HandleResult>> {
    let id = a.id;
    match st.store.host(&a.host_id).await? {
        Some(h) if h.uninstalled_at.is_none() => {}
        _ => {
            return Ok(Err(result(
                id,
                "refused",
                Some(a.status),
                format!("host {} is uninstalled", a.host_id),
            )))
        }
    }
    let claimed = st
        .store
        .transition_alerts(
            &[id],
            allowed_from(req.action),
            AlertStatus::InProgress,
            by,
            &req.note,
            st.now(),
        )
        .await?;
    if let Some(Transition::Unchanged { status, .. }) = claimed.first() {
        return Ok(Err(result(
            id,
            "unchanged",
            Some(*status),
            format!("alert {id} is {}", status.as_str()),
        )));
    }
    Ok(Ok(()))
}

/// Blocks each alert's source address on the alert's host, as an IP policy rule; the alert is
/// `in_progress` until the agent reports the nftables outcome.
async fn block_sources(
    st: &SharedState,
    req: &HandleAlerts,
    by: &str,
) -> ApiResult<Vec<HandleResult>> {
    let Some(duration) = req.duration.as_deref() else {
        return Err(ApiError::BadRequest(
            "block_ip needs a duration: 30m, 12h, 7d, or permanent".into(),
        ));
    };
    let validity = vigil_proto::api::parse_validity(duration).map_err(ApiError::BadRequest)?;
    let mut results = Vec::new();
    for &id in &req.ids {
        let Some(a) = st.store.alert(id).await? else {
            results.push(result(id, "missing", None, format!("alert {id} not found")));
            continue;
        };
        let Some(source) = evidence(&a, &["source_ip"]) else {
            results.push(result(
                id,
                "refused",
                Some(a.status),
                format!("alert {id} names no source address (no source_ip in its evidence)"),
            ));
            continue;
        };
        let target = match crate::ip_policy::parse_target(source) {
            Ok(t) => t.to_string(),
            Err(e) => {
                results.push(result(id, "refused", Some(a.status), e.to_string()));
                continue;
            }
        };
        if let Err(refusal) = claim_on_host(st, &a, req, by).await? {
            results.push(refusal);
            continue;
        }
        let now = st.now();
        let reason = if req.note.is_empty() {
            format!("alert {id}: {}", a.name)
        } else {
            format!("alert {id}: {} ({})", a.name, req.note)
        };
        let made = crate::ip_policy::create(
            st,
            crate::ip_policy::BlockRequest {
                target: target.clone(),
                direction: vigil_proto::agent::Direction::In,
                hosts: vec![a.host_id.clone()],
                origin: RuleOrigin::Custom,
                reason,
                alert_id: Some(id),
                expires_at: validity.map(|v| now + v),
            },
            by,
        )
        .await;
        match made {
            Ok((rule, _)) => results.push(result(
                id,
                "changed",
                Some(AlertStatus::InProgress),
                format!(
                    "{target} block queued as IP rule {} for host {} ({}); the alert shows the outcome when the host reports",
                    rule.id,
                    a.host_id,
                    match validity {
                        Some(v) => format!("for {}", vigil_proto::api::format_duration(v)),
                        None => "permanent".into(),
                    }
                ),
            )),
            Err(e) => {
                st.store
                    .transition_alerts(&[id], &[AlertStatus::InProgress], a.status, by, "", now)
                    .await?;
                results.push(result(id, "refused", Some(a.status), e.to_string()));
            }
        }
    }
    Ok(results)
}

#[derive(Debug, Deserialize)]
struct ScopeQuery {
    host: Option<String>,
    group: Option<String>,
}

/// `?host=ID`, `?group=NAME` or neither (the fleet).
async fn scope_of(
    st: &SharedState,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<crate::login_settings::Scope> {
    use crate::login_settings::Scope;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    match (
        q.host.filter(|h| !h.is_empty()),
        q.group.filter(|g| !g.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest("give host or group, not both".into())),
        (Some(h), None) => {
            find_host(st, &h).await?;
            Ok(Scope::Host(h))
        }
        (None, Some(g)) => {
            if !st.store.groups().await?.iter().any(|x| x.name == g) {
                return Err(ApiError::NotFound(format!("group {g} not found")));
            }
            Ok(Scope::Group(g))
        }
        (None, None) => Ok(Scope::Global),
    }
}

/// The fleet's settings, or a group's or host's own (404 when it inherits).
async fn get_login_settings(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<vigil_proto::agent::LoginSettings>> {
    let scope = scope_of(&st, q).await?;
    if scope == crate::login_settings::Scope::Global {
        return Ok(Json(crate::login_settings::load(&st).await?));
    }
    crate::login_settings::load_scope(&st, &scope)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{scope:?} has no login settings of its own; it uses its group's or the fleet's"
            ))
        })
}

/// Replaces the brute-force rule and access whitelist of the fleet, a group (`?group=`) or a
/// host (`?host=`); agents pick them up with their next heartbeat.
async fn put_login_settings(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Json<vigil_proto::agent::LoginSettings>> {
    let scope = scope_of(&st, q).await?;
    let mut req: vigil_proto::agent::LoginSettings = parse_json(&body)?;
    req.to_config().map_err(ApiError::BadRequest)?;
    req.access_whitelist = req
        .access_whitelist
        .iter()
        .filter_map(|c| vigil_detect::ip::Cidr::parse(c).ok())
        .map(|c| c.to_string())
        .collect();
    crate::login_settings::save(&st, &scope, Some(&req)).await?;
    Ok(Json(req))
}

/// Removes a group's or host's own settings: it uses its group's or the fleet's again.
async fn delete_login_settings(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let scope = scope_of(&st, q).await?;
    if scope == crate::login_settings::Scope::Global {
        return Err(ApiError::BadRequest(
            "the fleet's settings cannot be removed; PUT the defaults instead".into(),
        ));
    }
    crate::login_settings::save(&st, &scope, None).await?;
    Ok(Json(serde_json::json!({ "removed": format!("{scope:?}") })))
}

/// The fleet's login policy, or a group's or host's own (404 when it inherits).
async fn get_login_policy(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<crate::logins::PolicyDoc>> {
    let scope = scope_of(&st, q).await?;
    if scope == crate::login_settings::Scope::Global {
        return Ok(Json(crate::logins::load_policy(&st).await?.to_doc()));
    }
    let own = crate::logins::load_scoped_policy(&st, &scope)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{scope:?} has no login policy of its own; it uses its group's or the fleet's"
            ))
        })?;
    Ok(Json(
        crate::logins::Policy {
            policy: own,
            malicious: Vec::new(),
        }
        .to_doc(),
    ))
}

/// Replaces the approved login locations, IPs, times and accounts (and, for the fleet, the
/// malicious-IP list) of the fleet, a group or a host; a host's own factors take priority over
/// its group's, which take priority over the fleet's.
async fn put_login_policy(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Json<crate::logins::PolicyDoc>> {
    let scope = scope_of(&st, q).await?;
    let req: crate::logins::PolicyDoc = parse_json(&body)?;
    let policy = req.validate().map_err(ApiError::BadRequest)?;
    if scope == crate::login_settings::Scope::Global {
        crate::logins::save_policy(&st, &policy).await?;
    } else {
        if !policy.malicious.is_empty() {
            return Err(ApiError::BadRequest(
                "the malicious-IP list is fleet-wide: set it without host or group".into(),
            ));
        }
        crate::logins::save_scoped_policy(&st, &scope, Some(&policy.policy)).await?;
    }
    Ok(Json(policy.to_doc()))
}

/// Removes a group's or host's own policy: it uses its group's or the fleet's again.
async fn delete_login_policy(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let scope = scope_of(&st, q).await?;
    if scope == crate::login_settings::Scope::Global {
        return Err(ApiError::BadRequest(
            "the fleet's policy cannot be removed; PUT an empty one instead".into(),
        ));
    }
    crate::logins::save_scoped_policy(&st, &scope, None).await?;
    Ok(Json(serde_json::json!({ "removed": format!("{scope:?}") })))
}

#[derive(Debug, Deserialize)]
struct AttackQuery {
    host: Option<String>,
    days: Option<i64>,
}

/// Attack analysis (SPEC R-LG10): failed logins, distinct sources and automatic blocks per host
/// per UTC day, and the sources that failed most.
async fn attacks(
    State(st): State<SharedState>,
    q: Result<Query<AttackQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::BadRequest(format!(
            "days must be 1 to 366 (got {days})"
        )));
    }
    let host = q.host.as_deref().filter(|h| !h.is_empty());
    let now = st.now();
    let since = now - now.rem_euclid(86_400) - (days - 1) * 86_400;
    let mut rows: BTreeMap<(i64, String), (i64, i64, i64)> = BTreeMap::new();
    for d in st.store.attack_days(host, since).await? {
        rows.insert((d.day, d.host_id), (d.failures, d.sources, 0));
    }
    for r in st.store.ip_rules(None).await? {
        if r.rule.origin != RuleOrigin::System || r.rule.created_at < since {
            continue;
        }
        let Some(h) = r.rule.hosts.first() else {
            continue;
        };
        if host.is_some_and(|x| x != h) {
            continue;
        }
        let day = r.rule.created_at - r.rule.created_at.rem_euclid(86_400);
        rows.entry((day, h.clone())).or_default().2 += 1;
    }
    let days: Vec<_> = rows
        .into_iter()
        .map(|((day, host_id), (failures, sources, blocks))| {
            serde_json::json!({ "day": day, "host_id": host_id, "failures": failures, "sources": sources, "blocks": blocks })
        })
        .collect();
    let top: Vec<_> = st
        .store
        .top_attack_sources(host, since, 10)
        .await?
        .into_iter()
        .map(|(source, failures)| serde_json::json!({ "source": source, "failures": failures }))
        .collect();
    Ok(Json(
        serde_json::json!({ "since": since, "days": days, "top_sources": top }),
    ))
}

#[derive(Debug, Deserialize)]
struct IpRuleFilter {
    status: Option<String>,
    host: Option<String>,
}

/// The IP policy library, newest first, each rule with its state on every host.
async fn list_ip_rules(
    State(st): State<SharedState>,
    q: Result<Query<IpRuleFilter>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(IpRuleStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status must be active, disabled or expired (got {s:?})"
            ))
        })?),
    };
    let host = q.host.as_deref().filter(|h| !h.is_empty());
    let mut per_rule: BTreeMap<i64, Vec<serde_json::Value>> = BTreeMap::new();
    for h in st.store.ip_rule_hosts(None).await? {
        per_rule.entry(h.rule_id).or_default().push(serde_json::json!({
            "host_id": h.host_id, "state": h.state, "message": h.message, "updated_at": h.updated_at,
        }));
    }
    let rules: Vec<_> = st
        .store
        .ip_rules(status)
        .await?
        .into_iter()
        .filter(|r| {
            host.is_none_or(|h| r.rule.hosts.is_empty() || r.rule.hosts.iter().any(|x| x == h))
        })
        .map(|r| {
            serde_json::json!({
                "id": r.id, "target": r.rule.target, "direction": r.rule.direction,
                "hosts": r.rule.hosts, "origin": r.rule.origin, "reason": r.rule.reason,
                "alert_id": r.rule.alert_id, "created_at": r.rule.created_at,
                "created_by": r.rule.created_by, "expires_at": r.rule.expires_at,
                "status": r.status, "ended_at": r.ended_at, "ended_by": r.ended_by,
                "on_hosts": per_rule.remove(&r.id).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "rules": rules })))
}

async fn create_ip_rule(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let req: vigil_proto::api::CreateIpRule = parse_json(&body)?;
    let d = req.direction.as_deref().unwrap_or("in");
    let direction = vigil_proto::agent::Direction::parse(d)
        .ok_or_else(|| ApiError::BadRequest(format!("direction must be in or out (got {d:?})")))?;
    let validity = vigil_proto::api::parse_validity(&req.duration).map_err(ApiError::BadRequest)?;
    if req.reason.len() > 1000 {
        return Err(ApiError::BadRequest(
            "reason must be at most 1000 characters".into(),
        ));
    }
    let now = st.now();
    let (rule, hosts) = crate::ip_policy::create(
        &st,
        crate::ip_policy::BlockRequest {
            target: req.target,
            direction,
            hosts: req.hosts,
            origin: RuleOrigin::Custom,
            reason: req.reason,
            alert_id: None,
            expires_at: validity.map(|v| now + v),
        },
        &op.0,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": rule.id, "target": rule.rule.target, "direction": rule.rule.direction,
            "expires_at": rule.rule.expires_at, "sent_to_hosts": hosts,
        })),
    ))
}

async fn disable_ip_rule(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_id("IP rule", &id)?;
    let rule = crate::ip_policy::disable(&st, id, &op.0).await?;
    Ok(Json(serde_json::json!({
        "id": rule.id, "status": rule.status, "target": rule.rule.target,
    })))
}

#[derive(Debug, Deserialize)]
struct HostFilter {
    host: Option<String>,
}

async fn list_commands(
    State(st): State<SharedState>,
    q: Result<Query<HostFilter>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let list: Vec<_> = st
        .store
        .commands(q.host.as_deref().filter(|h| !h.is_empty()), 200)
        .await?
        .into_iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "host_id": c.host_id, "alert_id": c.alert_id, "action": c.action,
                "params": serde_json::from_str::<serde_json::Value>(&c.params).unwrap_or_default(),
                "state": c.state, "created_at": c.created_at, "created_by": c.created_by,
                "expires_at": c.expires_at, "sent_at": c.sent_at, "finished_at": c.finished_at,
                "message": c.message,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "commands": list })))
}

async fn list_quarantine(
    State(st): State<SharedState>,
    q: Result<Query<HostFilter>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
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
            serde_json::json!({
                "host_id": f.host_id, "hostname": names.get(&f.host_id), "qid": f.qid, "path": f.path,
                "sha256": f.sha256, "md5": f.md5, "size": f.size, "quarantined_at": f.quarantined_at,
                "expires_at": expires_at, "state": f.state, "restored_at": f.restored_at,
                "restorable": f.state == QuarantineState::Quarantined && now < expires_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "files": files })))
}

async fn restore_file(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
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
        Json(
            serde_json::json!({ "command_id": id, "message": format!("restore of {} queued as command {id}", file.path) }),
        ),
    ))
}

async fn list_channels(State(st): State<SharedState>) -> ApiResult<Json<serde_json::Value>> {
    let list: Vec<_> = crate::notify::channels(&st)
        .await?
        .into_iter()
        .map(|(id, name, cfg)| serde_json::json!({ "id": id, "name": name, "config": redacted(&cfg) }))
        .collect();
    Ok(Json(serde_json::json!({ "channels": list })))
}

/// A channel's settings with a webhook's secret path and query hidden.
fn redacted(cfg: &vigil_notify::ChannelConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(cfg).unwrap_or_default();
    if let Some(url) = v.pointer_mut("/kind/url") {
        if let Some(u) = url.as_str() {
            *url = serde_json::Value::String(vigil_notify::policy::redact_url(u));
        }
    }
    v
}

#[derive(Debug, Deserialize)]
struct CreateChannel {
    name: String,
    config: vigil_notify::ChannelConfig,
}

async fn create_channel(
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
    let config = serde_json::to_string(&req.config).expect("channel settings serialize");
    let id = st
        .store
        .add_notify_channel(req.name.trim(), &config, st.now())
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

async fn delete_channel(
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
struct NotifySettings {
    /// Local time of the operators, for time windows and daily limits.
    #[serde(default)]
    utc_offset_minutes: i32,
    #[serde(default)]
    smtp: Option<vigil_notify::SmtpConfig>,
}

async fn get_notify_settings(State(st): State<SharedState>) -> ApiResult<Json<serde_json::Value>> {
    let offset = crate::notify::utc_offset(&st).await?;
    let smtp: Option<vigil_notify::SmtpConfig> = st
        .store
        .setting(crate::notify::SETTING_SMTP)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok());
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

async fn put_notify_settings(
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
        st.store
            .put_setting(
                crate::notify::SETTING_SMTP,
                &serde_json::to_string(smtp).expect("serializes"),
            )
            .await?;
    }
    st.store
        .put_setting(
            crate::notify::SETTING_UTC_OFFSET,
            &req.utc_offset_minutes.to_string(),
        )
        .await?;
    get_notify_settings(State(st)).await
}

async fn list_outbox(State(st): State<SharedState>) -> ApiResult<Json<serde_json::Value>> {
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

async fn list_inbox(State(st): State<SharedState>) -> ApiResult<Json<serde_json::Value>> {
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

async fn read_inbox(
    State(st): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id("message", &id)?;
    if !st.store.mark_inbox_read(id, st.now()).await? {
        return Err(ApiError::NotFound(format!("message {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The host's printable security report as HTML.
async fn host_report(State(st): State<SharedState>, Path(id): Path<String>) -> ApiResult<Response> {
    let host = find_host(&st, &id).await?;
    let counts = alert_counts(&st).await?.remove(&id);
    let vulns = crate::vulns::counts(&st).await?.remove(&id);
    let pending = pending(counts.as_ref(), vulns.as_ref());
    let filter = AlertFilter {
        host_id: Some(id.clone()),
        status: Some(AlertStatus::Unhandled),
        sort: AlertSort::Level,
        limit: 500,
        ..AlertFilter::default()
    };
    let (alerts, _) = st.store.alerts(&filter).await?;
    let inventory: Option<vigil_model::Inventory> = st
        .store
        .inventory(&id)
        .await?
        .and_then(|j| serde_json::from_str(&j).ok());
    let commands = st.store.commands(Some(&id), 20).await?;
    let state = host_state(&st, &host);
    let html = crate::report::render(&crate::report::ReportInput {
        host: &host,
        state: state.as_str(),
        score: &score(&pending),
        alerts: &alerts,
        inventory: inventory.as_ref(),
        commands: &commands,
        now: st.now(),
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        html,
    )
        .into_response())
}
