//! The network edge: email over SMTP (lettre) and webhooks over HTTP (reqwest), with every failure
//! classified once into [`SendError`] so the outbox knows whether to retry.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policy::{parse_webhook_url, redact_url, ChannelKind, WebhookShape};
use crate::render::Payload;

/// How long connecting to the mail server may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a whole SMTP conversation (connect, TLS, auth, message) may take.
pub const SMTP_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one webhook call may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(20);
/// Bytes of a refusing server's reply kept in the error.
const ERROR_BODY_BYTES: usize = 200;
/// Bytes of a webhook's reply read at most.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Why a notification was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The webhook URL is malformed; nothing was sent. Permanent.
    #[error("bad webhook URL: {0}")]
    BadUrl(String),
    /// Settings that cannot work (no SMTP server, a bad address). Permanent.
    #[error("notification settings: {0}")]
    Config(String),
    /// The mail server refused the credentials. Permanent: retrying could lock the account.
    #[error("SMTP authentication failed: {0}")]
    Auth(String),
    /// The receiver refused this message for good (5xx SMTP reply, HTTP 4xx, chat tool error).
    #[error("refused: {0}")]
    Refused(String),
    /// Unreachable, timed out, busy or rate-limited: retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl SendError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Unavailable(_))
    }

    /// A stable code for the outbox's attempt log and the API.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::BadUrl(_) => "bad_url",
            SendError::Config(_) => "config",
            SendError::Auth(_) => "auth",
            SendError::Refused(_) => "refused",
            SendError::Unavailable(_) => "unavailable",
        }
    }
}

/// Whether and how the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a relay on loopback or a trusted LAN).
    None,
    /// Plain connection upgraded with STARTTLS, usually port 587; refuses to go on without it.
    StartTls,
    /// TLS from the first byte, usually port 465.
    Tls,
}

impl SmtpTls {
    /// The safe default first, as settings forms offer them.
    pub const ALL: [SmtpTls; 3] = [SmtpTls::StartTls, SmtpTls::Tls, SmtpTls::None];

    /// The name on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }
}

/// The server's outgoing mail settings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The sender, `vigil@example.com` or `Vigil <vigil@example.com>`.
    pub from: String,
    /// PEM of an extra CA to trust besides the public ones (a private mail relay).
    #[serde(default)]
    pub ca_cert_pem: Option<String>,
}

// Hand-written so the password never reaches a log line.
impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("ca_cert_pem", &self.ca_cert_pem.is_some())
            .finish()
    }
}

/// Sends one plain-text email.
pub async fn send_email(
    smtp: &SmtpConfig,
    to: &[String],
    subject: &str,
    body: &str,
) -> Result<(), SendError> {
    let from: Mailbox = smtp.from.parse().map_err(|e| {
        SendError::Config(format!(
            "sender {:?} is not an email address: {e}",
            smtp.from
        ))
    })?;
    if to.is_empty() {
        return Err(SendError::Config("no recipients".to_string()));
    }
    let mut message = Message::builder()
        .from(from)
        // A header is one line: a stray line break must not start another header.
        .subject(subject.replace(|c: char| c.is_control(), " "))
        .header(ContentType::TEXT_PLAIN);
    for address in to {
        let mailbox: Mailbox = address.parse().map_err(|e| {
            SendError::Config(format!(
                "recipient {address:?} is not an email address: {e}"
            ))
        })?;
        message = message.to(mailbox);
    }
    let message = message
        .body(body.to_string())
        .map_err(|e| SendError::Config(format!("building the message: {e}")))?;
    deliver_within(&smtp_transport(smtp)?, message, SMTP_SEND_TIMEOUT).await
}

/// Sends within `limit`. lettre's own timeout covers connecting only: a server that accepts and
/// then never answers would hold the dispatcher, and every channel behind it, forever.
async fn deliver_within(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
    limit: Duration,
) -> Result<(), SendError> {
    match tokio::time::timeout(limit, transport.send(message)).await {
        Ok(sent) => sent.map(drop).map_err(classify_smtp),
        Err(_) => Err(SendError::Unavailable(format!(
            "the mail server did not finish the conversation within {} s",
            limit.as_secs_f64()
        ))),
    }
}

fn smtp_transport(smtp: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    if smtp.host.trim().is_empty() {
        return Err(SendError::Config("no SMTP server configured".to_string()));
    }
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.trim())
        .port(smtp.port)
        .timeout(Some(SMTP_TIMEOUT));
    let tls_parameters = || -> Result<TlsParameters, SendError> {
        let mut params = TlsParameters::builder(smtp.host.trim().to_string());
        if let Some(pem) = &smtp.ca_cert_pem {
            let ca = Certificate::from_pem(pem.as_bytes()).map_err(|e| {
                SendError::Config(format!("the SMTP CA certificate: {}", chain(&e)))
            })?;
            params = params.add_root_certificate(ca);
        }
        params
            .build()
            .map_err(|e| SendError::Config(format!("SMTP TLS settings: {}", chain(&e))))
    };
    match smtp.tls {
        SmtpTls::None => {}
        SmtpTls::StartTls => builder = builder.tls(Tls::Required(tls_parameters()?)),
        SmtpTls::Tls => builder = builder.tls(Tls::Wrapper(tls_parameters()?)),
    }
    if let Some(user) = smtp.username.as_ref().filter(|u| !u.is_empty()) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            smtp.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

fn classify_smtp(e: lettre::transport::smtp::Error) -> SendError {
    let message = chain(&e);
    if let Some(code) = e.status() {
        return match code.to_string().as_str() {
            // Authentication required / too weak / credentials invalid / encryption required.
            "530" | "534" | "535" | "538" => SendError::Auth(message),
            _ if e.is_permanent() => SendError::Refused(message),
            _ => SendError::Unavailable(message),
        };
    }
    if e.is_client() {
        // lettre found no mechanism it may use, e.g. the server offers no AUTH.
        return if message.contains("authentication") {
            SendError::Auth(message)
        } else {
            SendError::Refused(message)
        };
    }
    // Network, connection, TLS, timeout, garbled reply: the server may come back or be fixed.
    SendError::Unavailable(message)
}

/// A client for webhooks: timeouts, no redirects (a token must not follow one), rustls with ring.
pub fn webhook_client() -> Result<reqwest::Client, SendError> {
    // reqwest is built without a default provider; install ring's unless the process has one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(WEBHOOK_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SendError::Config(format!("building the HTTP client: {}", chain(&e))))
}

/// POSTs `body` as JSON to `url`. Succeeds on a 2xx reply, except when a DingTalk or Feishu
/// reply carries a non-zero error code in its JSON.
pub async fn send_webhook(
    client: &reqwest::Client,
    url: &str,
    shape: WebhookShape,
    body: &Value,
) -> Result<(), SendError> {
    let url = parse_webhook_url(url).map_err(SendError::BadUrl)?;
    let where_ = redact_url(url.as_str());
    let mut response = client.post(url).json(body).send().await.map_err(|e| {
        let e = e.without_url();
        let detail = chain(&e);
        if e.is_builder() {
            SendError::BadUrl(detail)
        } else {
            SendError::Unavailable(format!("{where_}: {detail}"))
        }
    })?;
    let status = response.status();
    let mut reply = Vec::new();
    while reply.len() < MAX_REPLY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => reply.extend_from_slice(&chunk),
            Ok(None) => break,
            // The status is what matters; a cut reply only shortens the error text.
            Err(_) => break,
        }
    }
    if !status.is_success() {
        let message = format!(
            "{where_} answered HTTP {}: {}",
            status.as_u16(),
            excerpt(&reply)
        );
        let retry = status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::REQUEST_TIMEOUT;
        return Err(if retry {
            SendError::Unavailable(message)
        } else {
            SendError::Refused(message)
        });
    }
    check_reply(shape, &reply).map_err(|(retry, detail)| {
        let message = format!("{where_} answered HTTP {} with {detail}", status.as_u16());
        if retry {
            SendError::Unavailable(message)
        } else {
            SendError::Refused(message)
        }
    })
}

/// DingTalk and Feishu answer 200 with an error code in the JSON. `Err((retryable, detail))`.
fn check_reply(shape: WebhookShape, reply: &[u8]) -> Result<(), (bool, String)> {
    let fields: &[&str] = match shape {
        WebhookShape::DingTalk => &["errcode"],
        WebhookShape::Feishu => &["code", "StatusCode"],
        WebhookShape::Generic | WebhookShape::Slack => return Ok(()),
    };
    let Ok(json) = serde_json::from_slice::<Value>(reply) else {
        return Ok(());
    };
    for field in fields {
        let Some(code) = json.get(field).and_then(Value::as_i64) else {
            continue;
        };
        if code != 0 {
            let msg = ["errmsg", "msg", "StatusMessage"]
                .iter()
                .find_map(|k| json.get(k).and_then(Value::as_str))
                .unwrap_or("");
            // DingTalk 130101: more than 20 a minute; Feishu 11232: frequency limited.
            let retry = matches!(
                (shape, code),
                (WebhookShape::DingTalk, 130_101) | (WebhookShape::Feishu, 11_232)
            );
            return Err((retry, format!("error {code}: {}", excerpt(msg.as_bytes()))));
        }
    }
    Ok(())
}

/// Delivers one outbox payload on `channel`. Inbox payloads are the store's to write.
pub async fn deliver(
    transports: &Transports,
    channel: &ChannelKind,
    payload: &Payload,
) -> Result<(), SendError> {
    match (channel, payload) {
        (ChannelKind::Email { to }, Payload::Email { subject, body }) => {
            let smtp = transports.smtp.as_ref().ok_or_else(|| {
                SendError::Config("email channel but no SMTP server configured".to_string())
            })?;
            send_email(smtp, to, subject, body).await
        }
        (ChannelKind::Webhook { url, shape }, Payload::Webhook { body }) => {
            send_webhook(&transports.http, url, *shape, body).await
        }
        (channel, payload) => Err(SendError::Config(format!(
            "{} payload cannot be delivered on a {} channel",
            match payload {
                Payload::Inbox { .. } => "an inbox",
                Payload::Email { .. } => "an email",
                Payload::Webhook { .. } => "a webhook",
            },
            channel.as_str()
        ))),
    }
}

/// What [`deliver`] sends with.
#[derive(Debug, Clone)]
pub struct Transports {
    pub smtp: Option<SmtpConfig>,
    pub http: reqwest::Client,
}

/// The first bytes of a reply, as text without control characters.
fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(ERROR_BODY_BYTES)];
    let text = String::from_utf8_lossy(cut);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if bytes.len() > ERROR_BODY_BYTES {
        out.push('…');
    }
    out.trim().to_string()
}

/// An error and its causes, `a: b: c`, without repeating a cause the message already quotes.
fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    // Some errors repeat their kind in their source ("Connection error: Connection error: …").
    let mut parts: Vec<&str> = out.split(": ").collect();
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {

    /// A server that accepts the connection and never says a word is given up on in time, as
    /// a retryable failure, instead of holding every notification behind it.
    #[tokio::test]
    async fn a_silent_mail_server_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let smtp = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "vigil@example.com".into(),
            ca_cert_pem: None,
        };
        let message = Message::builder()
            .from("vigil@example.com".parse().unwrap())
            .to("ops@example.com".parse().unwrap())
            .subject("x")
            .body("x".to_string())
            .unwrap();
        let start = std::time::Instant::now();
        let err = deliver_within(
            &smtp_transport(&smtp).unwrap(),
            message,
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SendError::Unavailable(_)), "{err}");
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
        drop(listener);
    }

    use super::*;

    #[test]
    fn in_band_errors() {
        use WebhookShape::*;
        type Case<'a> = (WebhookShape, &'a str, Result<(), (bool, &'a str)>);
        let cases: [Case; 11] = [
            (DingTalk, r#"{"errcode":0,"errmsg":"ok"}"#, Ok(())),
            (
                DingTalk,
                r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
                Err((false, "error 310000: keywords not in content")),
            ),
            (
                DingTalk,
                r#"{"errcode":130101,"errmsg":"send too fast"}"#,
                Err((true, "error 130101: send too fast")),
            ),
            (DingTalk, "not json", Ok(())),
            (Feishu, r#"{"code":0,"msg":"success","data":{}}"#, Ok(())),
            (
                Feishu,
                r#"{"StatusCode":0,"StatusMessage":"success"}"#,
                Ok(()),
            ),
            (
                Feishu,
                r#"{"code":19024,"msg":"Key Words Not Found"}"#,
                Err((false, "error 19024: Key Words Not Found")),
            ),
            (
                Feishu,
                r#"{"code":11232,"msg":"frequency limited"}"#,
                Err((true, "error 11232: frequency limited")),
            ),
            // Generic receivers and Slack may say anything in a 2xx.
            (Generic, r#"{"code":200,"errcode":1}"#, Ok(())),
            (Slack, "ok", Ok(())),
            (DingTalk, r#"{"errcode":"x"}"#, Ok(())),
        ];
        for (shape, reply, want) in cases {
            let got = check_reply(shape, reply.as_bytes());
            let want = want.map_err(|(r, s)| (r, s.to_string()));
            assert_eq!(got, want, "{shape:?} {reply}");
        }
    }

    #[test]
    fn excerpts() {
        assert_eq!(excerpt(b"bad\r\nthing"), "bad  thing");
        let long = "é".repeat(300);
        let e = excerpt(long.as_bytes());
        assert!(e.ends_with('…'));
        assert_eq!(
            e.chars().count(),
            101,
            "100 two-byte chars and the ellipsis"
        );
    }

    #[test]
    fn smtp_tls_names_are_the_wire_names() {
        for t in SmtpTls::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }

    #[test]
    fn smtp_config_debug_hides_the_password() {
        let c = SmtpConfig {
            host: "mail.example.com".into(),
            port: 587,
            tls: SmtpTls::StartTls,
            username: Some("vigil".into()),
            password: Some("hunter2".into()),
            from: "vigil@example.com".into(),
            ca_cert_pem: None,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["tls"], "starttls");
        let back: SmtpConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn retry_classes() {
        for (e, retry) in [
            (SendError::BadUrl("x".into()), false),
            (SendError::Config("x".into()), false),
            (SendError::Auth("x".into()), false),
            (SendError::Refused("x".into()), false),
            (SendError::Unavailable("x".into()), true),
        ] {
            assert_eq!(e.is_retryable(), retry, "{e}");
        }
    }
}
