//! Webhooks against a real HTTP server on loopback that records what it receives and answers
//! like DingTalk, Slack, Feishu or a broken receiver would.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use vigil_model::{AlertKind, HostId, Level};
use vigil_notify::render::{self, RenderOptions};
use vigil_notify::{
    deliver, send_webhook, webhook_client, AlertNotice, ChannelKind, Payload, SendError,
    Transports, WebhookShape,
};

#[derive(Debug, Clone)]
struct Received {
    path: String,
    content_type: String,
    body: Value,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Starts the receiver; `/{reply}` picks the answer.
async fn receiver() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/{reply}", post(answer))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, log)
}

async fn answer(
    State(log): State<Log>,
    Path(reply): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    log.lock().unwrap().push(Received {
        path: reply.clone(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let (status, text) = match reply.as_str() {
        "ok" => (200, "ok".to_string()),
        "no-content" => (204, String::new()),
        "dingtalk-ok" => (200, r#"{"errcode":0,"errmsg":"ok"}"#.into()),
        "dingtalk-keyword" => (
            200,
            r#"{"errcode":310000,"errmsg":"keywords not in content"}"#.into(),
        ),
        "dingtalk-too-fast" => (
            200,
            r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#.into(),
        ),
        "feishu-ok" => (200, r#"{"code":0,"data":{},"msg":"success"}"#.into()),
        "feishu-keyword" => (200, r#"{"code":19024,"msg":"Key Words Not Found"}"#.into()),
        "error-500" => (500, format!("internal error {}", "z".repeat(5_000))),
        "error-503" => (503, "busy".into()),
        "error-429" => (429, "rate_limited".into()),
        "error-400" => (400, "invalid_payload".into()),
        "error-404" => (404, "no_service".into()),
        "redirect" => (302, String::new()),
        _ => (418, "unknown test path".into()),
    };
    (StatusCode::from_u16(status).unwrap(), text)
}

fn notice() -> AlertNotice {
    AlertNotice {
        alert_id: 42,
        host_id: HostId("h-00000000000000aa".into()),
        hostname: "web-1".into(),
        kind: AlertKind::SuspiciousAccount,
        level: Level::Urgent,
        name: "New account with uid 0: toor".into(),
        evidence: vec![("user".into(), "toor".into())],
        first_seen: 1_714_528_800,
        last_seen: 1_714_528_800,
        count: 1,
        first_occurrence: true,
    }
}

#[tokio::test]
async fn each_shape_arrives_as_rendered() {
    let (base, log) = receiver().await;
    let client = webhook_client().unwrap();
    let opts = RenderOptions::default();
    let cases = [
        (WebhookShape::Generic, "ok"),
        (WebhookShape::Generic, "no-content"),
        (WebhookShape::DingTalk, "dingtalk-ok"),
        (WebhookShape::Slack, "ok"),
        (WebhookShape::Feishu, "feishu-ok"),
    ];
    for (shape, path) in cases {
        let body = render::webhook(shape, &notice(), &opts);
        send_webhook(&client, &format!("{base}/{path}"), shape, &body)
            .await
            .unwrap_or_else(|e| panic!("{shape:?} {path}: {e}"));
        let last = log.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last.path, path);
        assert_eq!(last.content_type, "application/json");
        assert_eq!(last.body, body, "{shape:?}");
    }
    let got = log.lock().unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(got[0].body["alert"]["id"], 42);
    assert_eq!(got[2].body["msgtype"], "markdown");
    assert_eq!(got[3].body["blocks"][0]["text"]["type"], "mrkdwn");
    assert_eq!(got[4].body["msg_type"], "text");
}

#[tokio::test]
async fn failures_are_classified() {
    let (base, log) = receiver().await;
    let client = webhook_client().unwrap();
    let body = json!({"text": "hello"});
    // (path, shape, retryable?, text the error must contain)
    let cases = [
        (
            "error-500",
            WebhookShape::Generic,
            true,
            "HTTP 500: internal error zzz",
        ),
        ("error-503", WebhookShape::Slack, true, "HTTP 503: busy"),
        (
            "error-429",
            WebhookShape::Slack,
            true,
            "HTTP 429: rate_limited",
        ),
        (
            "error-400",
            WebhookShape::Slack,
            false,
            "HTTP 400: invalid_payload",
        ),
        (
            "error-404",
            WebhookShape::Generic,
            false,
            "HTTP 404: no_service",
        ),
        ("redirect", WebhookShape::Generic, false, "HTTP 302"),
        (
            "dingtalk-keyword",
            WebhookShape::DingTalk,
            false,
            "error 310000: keywords not in content",
        ),
        (
            "dingtalk-too-fast",
            WebhookShape::DingTalk,
            true,
            "error 130101",
        ),
        (
            "feishu-keyword",
            WebhookShape::Feishu,
            false,
            "error 19024: Key Words Not Found",
        ),
    ];
    for (path, shape, retryable, text) in cases {
        let err = send_webhook(&client, &format!("{base}/{path}"), shape, &body)
            .await
            .unwrap_err();
        let kind_ok = if retryable {
            matches!(err, SendError::Unavailable(_))
        } else {
            matches!(err, SendError::Refused(_))
        };
        assert!(kind_ok, "{path}: {err:?}");
        assert!(err.to_string().contains(text), "{path}: {err}");
    }
    assert_eq!(log.lock().unwrap().len(), cases.len());

    // Only the first 200 bytes of a reply are kept.
    let err = send_webhook(
        &client,
        &format!("{base}/error-500"),
        WebhookShape::Generic,
        &body,
    )
    .await
    .unwrap_err();
    let kept = format!(
        "HTTP 500: internal error {}…",
        "z".repeat(200 - "internal error ".len())
    );
    assert!(err.to_string().ends_with(&kept), "{err}");

    // DingTalk's in-band error only counts for DingTalk: a generic receiver may say anything.
    send_webhook(
        &client,
        &format!("{base}/dingtalk-keyword"),
        WebhookShape::Generic,
        &body,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn malformed_urls_are_refused_without_a_request() {
    let (base, log) = receiver().await;
    let client = webhook_client().unwrap();
    let port = base.rsplit(':').next().unwrap();
    let body = json!({"text": "hello"});
    for url in [
        format!("ftp://127.0.0.1:{port}/ok"),
        "ftp://x".to_string(),
        "http://".to_string(),
        "not a url".to_string(),
        String::new(),
        format!("127.0.0.1:{port}/ok"),
        "file:///tmp/ok".to_string(),
    ] {
        let err = send_webhook(&client, &url, WebhookShape::Generic, &body)
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::BadUrl(_)), "{url:?}: {err:?}");
        assert!(!err.is_retryable());
    }
    assert!(log.lock().unwrap().is_empty(), "no request may be made");
}

#[tokio::test]
async fn an_unreachable_receiver_is_unavailable_and_hides_the_token() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = webhook_client().unwrap();
    let url = format!("http://127.0.0.1:{port}/robot/send?access_token=SECRET");
    let err = send_webhook(&client, &url, WebhookShape::DingTalk, &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable(_)), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/…")),
        "{text}"
    );
}

#[tokio::test]
async fn deliver_routes_payloads_to_their_channel() {
    let (base, log) = receiver().await;
    let transports = Transports {
        smtp: None,
        http: webhook_client().unwrap(),
    };
    let channel = ChannelKind::Webhook {
        url: format!("{base}/dingtalk-ok"),
        shape: WebhookShape::DingTalk,
    };
    let payload = render::payload(&channel, &notice(), &RenderOptions::default());
    deliver(&transports, &channel, &payload).await.unwrap();
    let Payload::Webhook { body } = &payload else {
        panic!("{payload:?}")
    };
    assert_eq!(&log.lock().unwrap()[0].body, body);

    // An email channel without SMTP settings, and a payload on the wrong channel: clear errors.
    let email = ChannelKind::Email {
        to: vec!["ops@example.com".into()],
    };
    let mail = render::payload(&email, &notice(), &RenderOptions::default());
    let err = deliver(&transports, &email, &mail).await.unwrap_err();
    assert!(matches!(err, SendError::Config(_)), "{err:?}");
    let err = deliver(&transports, &channel, &mail).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "notification settings: an email payload cannot be delivered on a webhook channel"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
}
