//! A typed client of Vigil's operator REST API: one method per endpoint, taking and returning
//! the bodies of [`vigil_proto::api`], with the server's own error message and status on
//! failure. The CLI, the bench and the tests use it, so a body that changes on the server and
//! not in `vigil-proto` fails to compile or to decode, never silently.
//!
//! The client does not choose how to trust the server: pass a [`reqwest::Client`] built for
//! plain HTTP or pinned to the server's CA.

#![forbid(unsafe_code)]

use serde::de::DeserializeOwned;
use serde::Serialize;
use vigil_model::Inventory;
use vigil_proto::agent::{BaselineSchedule, LoginSettings};
use vigil_proto::api::*;
use vigil_proto::meta::Meta;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer: connection refused, TLS failure, timeout.
    #[error("cannot reach {base}: {detail}")]
    Unreachable { base: String, detail: String },
    /// The server answered with an error status; `message` is its own wording.
    #[error("{message} ({status})")]
    Api {
        status: u16,
        /// The server's error code (`bad_request`, `not_found`, …); empty if it sent none.
        code: String,
        message: String,
    },
    /// The server answered 2xx with a body that is not what `vigil-proto` says.
    #[error("unexpected answer to {method} {path}: {detail}")]
    Decode {
        method: &'static str,
        path: String,
        detail: String,
    },
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A status and a body as the server sent them, for tests of the wire itself.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub body: serde_json::Value,
}

/// The operator API of one server, with one bearer token.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?a=1&b=x` from a query struct (fields that serialize to null are left out).
fn query_string<Q: Serialize>(q: &Q) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(q) else {
        return String::new();
    };
    let parts: Vec<String> = map
        .into_iter()
        .filter_map(|(k, v)| {
            let v = match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Some(format!("{}={}", encode(&k), encode(&v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The error a non-2xx answer stands for: the server's own code and message, or its body.
fn api_error(status: u16, bytes: &[u8]) -> Error {
    match serde_json::from_slice::<ApiErrorBody>(bytes) {
        Ok(e) => Error::Api {
            status,
            code: e.error,
            message: e.message,
        },
        Err(_) => Error::Api {
            status,
            code: String::new(),
            message: String::from_utf8_lossy(bytes).trim().to_string(),
        },
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !s.contains(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:8443`), authenticating with `token`.
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> Client {
        Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
        }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("a known method");
        let mut req = self.http.request(m, url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| Error::Unreachable {
            base: self.base.clone(),
            detail: error_chain(&e),
        })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| Error::Unreachable {
            base: self.base.clone(),
            detail: error_chain(&e),
        })?;
        Ok((status, bytes.to_vec()))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let body = body.map(|b| serde_json::to_vec(b).expect("request bodies serialize"));
        let (status, bytes) = self.send(method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes));
        }
        let bytes = if bytes.is_empty() {
            b"null".to_vec()
        } else {
            bytes
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            method,
            path: path.to_string(),
            detail: e.to_string(),
        })
    }

    /// `GET path`, decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call::<(), T>("GET", path, None).await
    }

    /// `POST path` with a JSON body, decoded as `T`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call("POST", path, Some(body)).await
    }

    /// `PUT path` with a JSON body, decoded as `T`.
    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call("PUT", path, Some(body)).await
    }

    /// `DELETE path`, decoded as `T` (`()` for 204).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call::<(), T>("DELETE", path, None).await
    }

    /// Any request, answered with its status and body as JSON (a non-JSON body as a string),
    /// whatever the status: for tests of the wire itself.
    pub async fn raw(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse> {
        let body = body.map(|b| serde_json::to_vec(b).expect("JSON values serialize"));
        let (status, bytes) = self.send(method, path, body).await?;
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        Ok(RawResponse { status, body })
    }

    /// A body that is not JSON (an HTML report), as text.
    pub async fn text(&self, path: &str) -> Result<String> {
        let (status, bytes) = self.send("GET", path, None).await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    // ---- system ----

    pub async fn health(&self) -> Result<Health> {
        self.get("/healthz").await
    }

    pub async fn me(&self) -> Result<Me> {
        self.get("/api/v1/me").await
    }

    pub async fn meta(&self) -> Result<Meta> {
        self.get("/api/v1/meta").await
    }

    pub async fn overview(&self) -> Result<Overview> {
        self.get("/api/v1/overview").await
    }

    pub async fn score(&self) -> Result<FleetScore> {
        self.get("/api/v1/score").await
    }

    pub async fn content(&self) -> Result<ContentStatus> {
        self.get("/api/v1/content").await
    }

    // ---- hosts, groups, install codes ----

    pub async fn hosts(&self, q: &HostQuery) -> Result<HostList> {
        self.get(&format!("/api/v1/hosts{}", query_string(q))).await
    }

    pub async fn host(&self, id: &str) -> Result<HostView> {
        self.get(&format!("/api/v1/hosts/{}", encode(id))).await
    }

    /// The host's last full inventory.
    pub async fn fingerprints(&self, id: &str) -> Result<Inventory> {
        self.get(&format!("/api/v1/hosts/{}/fingerprints", encode(id)))
            .await
    }

    pub async fn host_events(&self, id: &str, q: &LimitQuery) -> Result<HostEventList> {
        self.get(&format!(
            "/api/v1/hosts/{}/events{}",
            encode(id),
            query_string(q)
        ))
        .await
    }

    /// The printable HTML report of one host.
    pub async fn host_report(&self, id: &str) -> Result<String> {
        self.text(&format!("/api/v1/hosts/{}/report", encode(id)))
            .await
    }

    pub async fn groups(&self) -> Result<GroupList> {
        self.get("/api/v1/groups").await
    }

    pub async fn create_group(&self, req: &CreateGroup) -> Result<GroupView> {
        self.post("/api/v1/groups", req).await
    }

    pub async fn install_codes(&self) -> Result<InstallCodeList> {
        self.get("/api/v1/install-codes").await
    }

    pub async fn create_install_code(&self, req: &CreateInstallCode) -> Result<CreatedInstallCode> {
        self.post("/api/v1/install-codes", req).await
    }

    pub async fn revoke_install_code(&self, id: &str) -> Result<InstallCodeView> {
        self.post(
            &format!("/api/v1/install-codes/{}/revoke", encode(id)),
            &serde_json::Map::new(),
        )
        .await
    }

    // ---- alerts and whitelist ----

    pub async fn alerts(&self, q: &AlertQuery) -> Result<AlertList> {
        self.get(&format!("/api/v1/alerts{}", query_string(q)))
            .await
    }

    pub async fn alert(&self, id: i64) -> Result<AlertView> {
        self.get(&format!("/api/v1/alerts/{id}")).await
    }

    pub async fn handle_alerts(&self, req: &HandleAlerts) -> Result<HandleResponse> {
        self.post("/api/v1/alerts/handle", req).await
    }

    pub async fn whitelist(&self) -> Result<WhitelistRuleList> {
        self.get("/api/v1/whitelist").await
    }

    pub async fn create_whitelist_rule(
        &self,
        req: &CreateWhitelistRule,
    ) -> Result<CreatedWhitelistRule> {
        self.post("/api/v1/whitelist", req).await
    }

    pub async fn delete_whitelist_rule(&self, id: i64) -> Result<DeletedWhitelistRule> {
        self.delete(&format!("/api/v1/whitelist/{id}")).await
    }

    // ---- host actions ----

    pub async fn commands(&self, q: &HostFilter) -> Result<CommandList> {
        self.get(&format!("/api/v1/commands{}", query_string(q)))
            .await
    }

    pub async fn quarantine(&self, q: &HostFilter) -> Result<QuarantineList> {
        self.get(&format!("/api/v1/quarantine{}", query_string(q)))
            .await
    }

    pub async fn restore(&self, req: &RestoreRequest) -> Result<QueuedCommand> {
        self.post("/api/v1/quarantine/restore", req).await
    }

    // ---- IP policy and login defense ----

    pub async fn ip_rules(&self, q: &IpRuleFilter) -> Result<IpRuleList> {
        self.get(&format!("/api/v1/ip-rules{}", query_string(q)))
            .await
    }

    pub async fn create_ip_rule(&self, req: &CreateIpRule) -> Result<CreatedIpRule> {
        self.post("/api/v1/ip-rules", req).await
    }

    pub async fn disable_ip_rule(&self, id: i64) -> Result<DisabledIpRule> {
        self.post(
            &format!("/api/v1/ip-rules/{id}/disable"),
            &serde_json::Map::new(),
        )
        .await
    }

    pub async fn attacks(&self, q: &AttackQuery) -> Result<AttackReport> {
        self.get(&format!("/api/v1/attacks{}", query_string(q)))
            .await
    }

    pub async fn login_settings(&self, q: &ScopeQuery) -> Result<LoginSettings> {
        self.get(&format!("/api/v1/login-settings{}", query_string(q)))
            .await
    }

    pub async fn put_login_settings(
        &self,
        q: &ScopeQuery,
        req: &LoginSettings,
    ) -> Result<LoginSettings> {
        self.put(&format!("/api/v1/login-settings{}", query_string(q)), req)
            .await
    }

    pub async fn delete_login_settings(&self, q: &ScopeQuery) -> Result<RemovedScoped> {
        self.delete(&format!("/api/v1/login-settings{}", query_string(q)))
            .await
    }

    pub async fn login_policy(&self, q: &ScopeQuery) -> Result<PolicyDoc> {
        self.get(&format!("/api/v1/login-policy{}", query_string(q)))
            .await
    }

    pub async fn put_login_policy(&self, q: &ScopeQuery, req: &PolicyDoc) -> Result<PolicyDoc> {
        self.put(&format!("/api/v1/login-policy{}", query_string(q)), req)
            .await
    }

    pub async fn delete_login_policy(&self, q: &ScopeQuery) -> Result<RemovedScoped> {
        self.delete(&format!("/api/v1/login-policy{}", query_string(q)))
            .await
    }

    // ---- vulnerabilities ----

    pub async fn vulns(&self, q: &VulnQuery) -> Result<VulnList> {
        self.get(&format!("/api/v1/vulns{}", query_string(q))).await
    }

    pub async fn handle_vulns(&self, req: &HandleVulns) -> Result<HandleVulnResponse> {
        self.post("/api/v1/vulns/handle", req).await
    }

    pub async fn verify_vulns(&self, host: &str) -> Result<VerifyVulns> {
        self.post(
            &format!("/api/v1/hosts/{}/vulns/verify", encode(host)),
            &serde_json::Map::new(),
        )
        .await
    }

    // ---- baseline ----

    pub async fn baseline(&self, q: &BaselineQuery) -> Result<BaselineList> {
        self.get(&format!("/api/v1/baseline{}", query_string(q)))
            .await
    }

    pub async fn ignore_baseline(&self, req: &IgnoreBaseline) -> Result<IgnoredBaseline> {
        self.post("/api/v1/baseline/ignore", req).await
    }

    pub async fn unignore_baseline(&self, req: &IgnoreBaseline) -> Result<IgnoredBaseline> {
        self.post("/api/v1/baseline/unignore", req).await
    }

    pub async fn verify_baseline(&self, req: &VerifyBaseline) -> Result<VerifyingBaseline> {
        self.post("/api/v1/baseline/verify", req).await
    }

    pub async fn baseline_schedule(&self, q: &ScopeQuery) -> Result<BaselineSchedule> {
        self.get(&format!("/api/v1/baseline/schedule{}", query_string(q)))
            .await
    }

    pub async fn put_baseline_schedule(
        &self,
        q: &ScopeQuery,
        req: &BaselineSchedule,
    ) -> Result<BaselineSchedule> {
        self.put(
            &format!("/api/v1/baseline/schedule{}", query_string(q)),
            req,
        )
        .await
    }

    pub async fn delete_baseline_schedule(&self, q: &ScopeQuery) -> Result<RemovedScoped> {
        self.delete(&format!("/api/v1/baseline/schedule{}", query_string(q)))
            .await
    }

    // ---- notifications ----

    pub async fn channels(&self) -> Result<ChannelList> {
        self.get("/api/v1/notify/channels").await
    }

    pub async fn create_channel(&self, req: &CreateChannel) -> Result<CreatedId> {
        self.post("/api/v1/notify/channels", req).await
    }

    pub async fn delete_channel(&self, id: i64) -> Result<()> {
        self.delete(&format!("/api/v1/notify/channels/{id}")).await
    }

    pub async fn notify_settings(&self) -> Result<NotifySettingsView> {
        self.get("/api/v1/notify/settings").await
    }

    pub async fn put_notify_settings(&self, req: &NotifySettings) -> Result<NotifySettingsView> {
        self.put("/api/v1/notify/settings", req).await
    }

    pub async fn outbox(&self) -> Result<OutboxList> {
        self.get("/api/v1/notify/outbox").await
    }

    pub async fn inbox(&self) -> Result<Inbox> {
        self.get("/api/v1/inbox").await
    }

    pub async fn read_inbox(&self, id: i64) -> Result<()> {
        self.post(&format!("/api/v1/inbox/{id}/read"), &serde_json::Map::new())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_leave_out_what_is_unset_and_encode_the_rest() {
        assert_eq!(query_string(&AlertQuery::default()), "");
        let q = AlertQuery {
            host: Some("web 1/a".into()),
            limit: Some(5),
            ..AlertQuery::default()
        };
        assert_eq!(query_string(&q), "?host=web%201%2Fa&limit=5");
        assert_eq!(encode("a&b=c"), "a%26b%3Dc");
    }
}
