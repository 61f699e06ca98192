//! The agent channel under `/agent/v1`: enrollment, heartbeats, fingerprints, event batches,
//! uninstall. Every request but enrollment is authenticated by the host's Ed25519 signature.

pub(crate) mod guard;
pub(crate) mod ingest;

use crate::install;
use crate::state::{CachedHost, SharedState};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use sha2::{Digest, Sha256};
use vigil_proto::agent::*;
use vigil_proto::auth::{self, AuthError};
use vigil_proto::{codec, MAX_BODY_BYTES, MAX_ENROLL_BYTES, MAX_INFLATED_BYTES, PROTO_VERSION};
use vigil_store::{EnrollRefusal, Ingested, NewHost};

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route(PATH_ENROLL, post(enroll))
        .route(PATH_HEARTBEAT, post(heartbeat))
        .route(PATH_INVENTORY, post(inventory))
        .route(PATH_EVENTS, post(events))
        .route(PATH_UNINSTALL, post(uninstall))
        .route(PATH_COMMAND_RESULT, post(command_result))
        .route(PATH_CA, get(install::ca_pem))
        .route(PATH_INSTALL_SCRIPT, get(install::script))
        .route(PATH_DOWNLOAD, get(install::binary))
        .route(PATH_DOWNLOAD_SHA256, get(install::binary_sha256))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// An agent-facing error: HTTP status plus a stable code the agent can act on.
#[derive(Debug)]
pub struct AgentApiError {
    status: StatusCode,
    body: AgentError,
}

impl AgentApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        AgentApiError {
            status,
            body: AgentError {
                code: code.into(),
                message: message.into(),
            },
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }
}

impl IntoResponse for AgentApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<vigil_store::StoreError> for AgentApiError {
    fn from(e: vigil_store::StoreError) -> Self {
        tracing::error!(error = %e, "store error on the agent channel");
        AgentApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::INTERNAL,
            "storage is unavailable; retry later",
        )
    }
}

impl From<codec::CodecError> for AgentApiError {
    fn from(e: codec::CodecError) -> Self {
        match e {
            codec::CodecError::TooLarge { .. } => AgentApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::TOO_LARGE,
                e.to_string(),
            ),
            other => AgentApiError::bad_request(other.to_string()),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, AuthError> {
    headers
        .get(name)
        .ok_or(AuthError::Missing(name))?
        .to_str()
        .map_err(|_| AuthError::Malformed(name))
}

/// Inflates and parses an agent body on a blocking thread, so a large or hostile body never
/// stalls the async workers.
async fn decode<T: serde::de::DeserializeOwned + Send + 'static>(
    body: &Bytes,
    limit: usize,
) -> Result<T, AgentApiError> {
    let body = body.clone();
    tokio::task::spawn_blocking(move || codec::decode(&body, limit))
        .await
        .map_err(|_| AgentApiError::bad_request("the body could not be read"))?
        .map_err(Into::into)
}

/// The request's nonce header, when it has one (an agent from before nonces has none).
fn optional_nonce(headers: &HeaderMap) -> Result<Option<&str>, AgentApiError> {
    match headers.get(auth::HEADER_NONCE) {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(n) if !n.is_empty() && n.len() <= 64 => Ok(Some(n)),
            _ => Err(auth_error(AuthError::Malformed(auth::HEADER_NONCE))),
        },
    }
}

fn path_of(uri: &Uri) -> &str {
    uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
}

fn auth_error(e: AuthError) -> AgentApiError {
    AgentApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::BAD_SIGNATURE,
        e.to_string(),
    )
}

/// Checks the signature headers against the host's key; returns the host id and what is cached
/// of it.
async fn authenticate_host(
    st: &SharedState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, CachedHost), AgentApiError> {
    let host = header(headers, auth::HEADER_HOST)
        .map_err(auth_error)?
        .to_string();
    let time: i64 = header(headers, auth::HEADER_TIME)
        .map_err(auth_error)?
        .parse()
        .map_err(|_| auth_error(AuthError::Malformed(auth::HEADER_TIME)))?;
    let sig = header(headers, auth::HEADER_SIGNATURE).map_err(auth_error)?;
    let nonce = optional_nonce(headers)?;

    let cached = st
        .hosts
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&host)
        .cloned();
    let cached = match cached {
        Some(c) => c,
        None => {
            let Some(rec) = st.store.host(&host).await? else {
                return Err(AgentApiError::new(
                    StatusCode::UNAUTHORIZED,
                    codes::UNKNOWN_HOST,
                    format!("host {host} is not enrolled on this server"),
                ));
            };
            let c = CachedHost {
                public_key: rec.public_key,
                uninstalled: rec.uninstalled_at.is_some(),
                group: rec.group,
            };
            st.hosts
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(host.clone(), c.clone());
            c
        }
    };
    auth::verify(
        &cached.public_key,
        method.as_str(),
        path_of(uri),
        &host,
        time,
        nonce,
        sig,
        body,
        st.now(),
    )
    .map_err(auth_error)?;
    if !st.replays.first_time(sig, st.now()) {
        return Err(AgentApiError::new(
            StatusCode::CONFLICT,
            codes::REPLAYED,
            "this signed request was received before; a retry is signed anew",
        ));
    }
    if cached.uninstalled {
        return Err(AgentApiError::new(
            StatusCode::FORBIDDEN,
            codes::UNINSTALLED_HOST,
            format!("host {host} was uninstalled; enroll it again with a new install code"),
        ));
    }
    Ok((host, cached))
}

/// [`authenticate_host`] for handlers that need only the host id.
async fn authenticate(
    st: &SharedState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, AgentApiError> {
    Ok(authenticate_host(st, method, uri, headers, body).await?.0)
}

fn settings(st: &SharedState) -> AgentSettings {
    AgentSettings {
        heartbeat_secs: st.config.heartbeat_secs,
        inventory_secs: st.config.inventory_secs,
    }
}

fn new_host_id() -> String {
    let n: u64 = rand::rng().random();
    format!("h-{n:016x}")
}

async fn enroll(
    State(st): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<EnrollResponse>, AgentApiError> {
    // The install code first, from its header, before the body is even inflated.
    let now = st.now();
    let header_code = headers
        .get(auth::HEADER_INSTALL_CODE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if let Some(hash) = &header_code {
        check_install_code(&st, hash, now).await?;
    }
    let req: EnrollRequest = decode(&body, MAX_ENROLL_BYTES).await?;
    let code_hash = hex::encode(Sha256::digest(req.code.trim().as_bytes()));
    match &header_code {
        Some(h) if *h != code_hash => {
            return Err(AgentApiError::bad_request(
                "the install code header and body disagree",
            ))
        }
        Some(_) => {}
        None => check_install_code(&st, &code_hash, now).await?,
    }
    if req.proto != PROTO_VERSION {
        return Err(AgentApiError::bad_request(format!(
            "agent speaks protocol {}, this server speaks {PROTO_VERSION}; install the server's agent",
            req.proto
        )));
    }
    let public_key = auth::decode_public_key(&req.public_key).map_err(auth_error)?;
    // The enrollment is signed with the new key: proof that the caller holds it.
    let time: i64 = header(&headers, auth::HEADER_TIME)
        .map_err(auth_error)?
        .parse()
        .map_err(|_| auth_error(AuthError::Malformed(auth::HEADER_TIME)))?;
    let sig = header(&headers, auth::HEADER_SIGNATURE).map_err(auth_error)?;
    auth::verify(
        &public_key,
        method.as_str(),
        path_of(&uri),
        "enroll",
        time,
        optional_nonce(&headers)?,
        sig,
        &body,
        st.now(),
    )
    .map_err(auth_error)?;
    if req.hostname.is_empty() || req.hostname.len() > 255 {
        return Err(AgentApiError::bad_request(
            "hostname must be 1 to 255 characters",
        ));
    }
    if req.agent_version.len() > 64 {
        return Err(AgentApiError::bad_request(
            "agent_version must be at most 64 characters",
        ));
    }
    let os_json = serde_json::to_string(&req.os).unwrap_or_else(|_| "{}".into());
    if os_json.len() > MAX_OS_JSON {
        return Err(AgentApiError::bad_request(format!(
            "the OS description is {} bytes, over the {MAX_OS_JSON}-byte limit",
            os_json.len()
        )));
    }
    let host = NewHost {
        id: new_host_id(),
        hostname: req.hostname.clone(),
        public_key,
        agent_version: req.agent_version.clone(),
        os_json,
    };
    match st.store.enroll_host(&code_hash, &host, st.now()).await? {
        Ok(rec) => {
            tracing::info!(host = %rec.id, hostname = %rec.hostname, group = %rec.group, "host enrolled");
            crate::ip_policy::on_enroll(&st, &rec.id).await?;
            Ok(Json(EnrollResponse {
                host_id: rec.id,
                group: rec.group,
                settings: settings(&st),
                command_key: st.pki.command_key.public_base64(),
            }))
        }
        Err(refusal) => Err(refused(refusal)),
    }
}

/// The agent's OS description, as stored.
const MAX_OS_JSON: usize = 8 * 1024;

/// Refuses an unknown, expired or revoked code before anything else is done. A used-up code
/// passes here: its own host may be enrolling again (a retry), which the store answers.
async fn check_install_code(st: &SharedState, hash: &str, now: i64) -> Result<(), AgentApiError> {
    let refusal = match st.store.install_code(hash).await? {
        None => EnrollRefusal::Unknown,
        Some(code) => match vigil_store::check_code(&code, now) {
            Ok(()) | Err(EnrollRefusal::UsedUp { .. }) => return Ok(()),
            Err(r) => r,
        },
    };
    Err(refused(refusal))
}

fn refused(refusal: EnrollRefusal) -> AgentApiError {
    let (code, message) = crate::install::refusal(refusal);
    AgentApiError::new(StatusCode::FORBIDDEN, code, message)
}

async fn heartbeat(
    State(st): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<HeartbeatResponse>, AgentApiError> {
    let (host, cached) = authenticate_host(&st, &method, &uri, &headers, &body).await?;
    let group = cached.group.clone();
    let hb: Heartbeat = decode(&body, MAX_INFLATED_BYTES).await?;
    if hb.spool.dropped_events > 0 || hb.spool.write_failures > 0 {
        tracing::warn!(%host, dropped = hb.spool.dropped_events, write_failures = hb.spool.write_failures, "agent spool reports loss");
    }
    let health = vigil_proto::api::AgentHealth {
        rss_kb: hb.rss_kb,
        spool: hb.spool,
    };
    let health = serde_json::to_string(&health).expect("health serializes");
    let monitors =
        serde_json::to_string(&bounded_monitors(hb.monitors)).expect("health serializes");
    st.store
        .record_heartbeat_health(&host, st.now(), &hb.agent_version, &health, &monitors)
        .await?;
    let commands = crate::commands::deliver(&st, &host).await?;
    Ok(Json(HeartbeatResponse {
        settings: settings(&st),
        commands,
        login: Some(crate::login_defense::settings::effective(&st, &host, &group).await?),
        baseline: Some(crate::baseline::schedule::effective(&st, &host, &group).await?),
    }))
}

/// An agent's monitor health as kept: at most 32 monitors, 20 unreadable sources each, and
/// 500 characters a text, so a heartbeat cannot grow the host row without bound.
fn bounded_monitors(mut monitors: Vec<MonitorHealth>) -> Vec<MonitorHealth> {
    fn cut(s: &mut String) {
        if let Some((i, _)) = s.char_indices().nth(500) {
            s.truncate(i);
        }
    }
    monitors.truncate(32);
    for m in &mut monitors {
        cut(&mut m.name);
        if let Some(e) = &mut m.last_error {
            cut(e);
        }
        m.unreadable.truncate(20);
        m.unreadable.iter_mut().for_each(cut);
    }
    monitors
}

async fn inventory(
    State(st): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AgentApiError> {
    let host = authenticate(&st, &method, &uri, &headers, &body).await?;
    let report: InventoryReport = decode(&body, MAX_INFLATED_BYTES).await?;
    let inv = &report.inventory;
    let os =
        serde_json::to_string(&inv.os).map_err(|e| AgentApiError::bad_request(e.to_string()))?;
    let json = serde_json::to_string(inv).map_err(|e| AgentApiError::bad_request(e.to_string()))?;
    st.store
        .put_inventory(&host, inv.collected_at, &os, &json)
        .await?;
    st.store.touch_host(&host, st.now()).await?;
    // The inventory is stored: a failed match is retried by the next report or database reload,
    // so the agent need not resend.
    if let Err(e) = crate::vulns::scan(&st, &host, std::sync::Arc::new(report.inventory)).await {
        tracing::warn!(host = %host, error = %e, "matching the inventory against advisories failed");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn events(
    State(st): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<BatchAck>, AgentApiError> {
    let (host, cached) = authenticate_host(&st, &method, &uri, &headers, &body).await?;
    let batch: EventBatch = decode(&body, MAX_INFLATED_BYTES).await?;
    let seq =
        i64::try_from(batch.seq).map_err(|_| AgentApiError::bad_request("seq out of range"))?;
    if seq <= 0 {
        return Err(AgentApiError::bad_request("seq starts at 1"));
    }
    guard::check_batch(&batch.events)
        .map_err(|m| AgentApiError::new(StatusCode::PAYLOAD_TOO_LARGE, codes::TOO_LARGE, m))?;
    let now_f = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if let Err(wait) = st.quota.take(&host, batch.events.len(), now_f) {
        tracing::warn!(%host, events = batch.events.len(), refused = st.quota.refusals(&host), "host over its event quota; batch refused, the agent keeps it and retries");
        return Err(AgentApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::QUOTA,
            format!(
                "over this host's quota of {} events a minute; retry in {wait} s",
                guard::QUOTA_PER_MINUTE
            ),
        ));
    }
    let digest = hex::encode(Sha256::digest(&body));
    let outcome =
        crate::agent::ingest::ingest(&st, &host, &cached.group, seq, digest, &batch.events).await?;
    let behind = match outcome {
        Ingested::Behind { next_seq } => {
            tracing::warn!(%host, seq, next_seq, "the agent's batch numbers went back (a restored snapshot or a lost counter); told it to renumber");
            u64::try_from(next_seq).ok()
        }
        _ => None,
    };
    Ok(Json(BatchAck {
        seq: batch.seq,
        stored: outcome == Ingested::Stored,
        behind,
    }))
}

async fn uninstall(
    State(st): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AgentApiError> {
    let host = authenticate(&st, &method, &uri, &headers, &body).await?;
    st.store.mark_uninstalled(&host, st.now()).await?;
    st.hosts
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&host);
    tracing::info!(%host, "host uninstalled; its history is kept");
    Ok(StatusCode::NO_CONTENT)
}

async fn command_result(
    State(st): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AgentApiError> {
    let host = authenticate(&st, &method, &uri, &headers, &body).await?;
    let result: CommandResult = decode(&body, MAX_INFLATED_BYTES).await?;
    if crate::commands::finish(&st, &host, &result).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        // Already finished (a retried report) or not this host's: nothing to do, and the agent
        // must not keep retrying.
        Ok(StatusCode::OK)
    }
}
