//! `GET /api/v1/meta` over HTTP: authenticated like the rest of the API, and every list it
//! serves is the one the owning crate defines.

use std::sync::Arc;
use vigil_detect::{bruteforce, score, whitelist};
use vigil_model::{AlertKind, AlertStatus, HostState, Level};
use vigil_notify::{SmtpTls, WebhookShape};
use vigil_proto::api::{parse_validity, HandleAction};
use vigil_proto::meta::{Meta, BLOCK_DURATIONS, DEFAULT_BLOCK_DURATION};
use vigil_server::{Clock, ServerConfig, SystemClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_serves_the_owning_crates_lists() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let creds = vigil_server::bootstrap_admin(store.as_ref(), dir.path(), clock.now())
        .await
        .unwrap()
        .unwrap();
    let mut cfg = ServerConfig::new(dir.path().to_path_buf());
    cfg.api_listen = "127.0.0.1:0".parse().unwrap();
    cfg.agent_listen = "127.0.0.1:0".parse().unwrap();
    let running = vigil_server::start(cfg, store, clock).await.unwrap();
    let url = format!("http://{}/api/v1/meta", running.api_addr);
    let http = reqwest::Client::new();

    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401, "meta needs a token");
    let resp = http
        .get(&url)
        .bearer_auth(&creds.api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let m: Meta = resp.json().await.unwrap();
    running.stop().await;

    // Alerts.
    assert_eq!(m.alerts.levels, Level::ALL);
    assert_eq!(m.alerts.statuses, AlertStatus::ALL);
    let kinds: Vec<AlertKind> = m.alerts.kinds.iter().map(|k| k.kind).collect();
    assert_eq!(kinds, AlertKind::ALL);
    for k in &m.alerts.kinds {
        assert_eq!(k.key_fields, whitelist::key_fields(k.kind), "{:?}", k.kind);
    }
    let actions: Vec<HandleAction> = m.alerts.actions.iter().map(|a| a.action).collect();
    assert_eq!(actions, HandleAction::ALL);
    // The statuses each action starts from: what `POST /api/v1/alerts/handle` enforces.
    use AlertStatus::*;
    for a in &m.alerts.actions {
        let want: &[AlertStatus] = match a.action {
            HandleAction::Ignore => &[Unhandled, Expired],
            HandleAction::Handled => &[Unhandled, Expired, Ignored],
            HandleAction::Whitelist => &[Unhandled, Expired, Ignored, Handled],
            HandleAction::Unwhitelist => &[Whitelisted],
            HandleAction::KillProcess
            | HandleAction::Quarantine
            | HandleAction::KillAndQuarantine
            | HandleAction::BlockIp => &[Unhandled, Expired, Ignored],
        };
        assert_eq!(a.from, want, "{:?}", a.action);
        assert!(!a.label.is_empty());
    }
    let durations: Vec<&str> = m
        .alerts
        .block_durations
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(durations, BLOCK_DURATIONS);
    for d in &durations {
        assert!(parse_validity(d).is_ok(), "{d} is offered but refused");
    }
    assert_eq!(m.alerts.default_block_duration, DEFAULT_BLOCK_DURATION);
    assert_eq!(m.alerts.block_durations[2].label, "12 hours");

    // Hosts and the score.
    assert_eq!(m.hosts.states, HostState::ALL);
    let caps: Vec<(&str, u32)> = m
        .score
        .caps
        .iter()
        .map(|c| (c.module.as_str(), c.at))
        .collect();
    assert_eq!(
        caps,
        [
            ("alerts", score::ALERTS_CAP),
            ("vulnerabilities", score::VULNS_CAP),
            ("baseline", score::BASELINE_CAP)
        ]
    );
    // The module names are the ones score deductions use.
    let s = score::score(&score::Pending {
        alerts_reminder: 1,
        vulns_low: 1,
        baseline_low: 1,
        ..Default::default()
    });
    let modules: Vec<&str> = s.deductions.iter().map(|(m, _)| *m).collect();
    for c in &m.score.caps {
        assert!(modules.contains(&c.module.as_str()), "{}", c.module);
    }

    // Vulnerabilities.
    let levels: Vec<&str> = vigil_vuln::Level::ALL.iter().map(|l| l.as_str()).collect();
    assert_eq!(m.vulns.levels, levels);
    let statuses: Vec<&str> = vigil_store::VulnStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(m.vulns.statuses, statuses);

    // The brute-force rule: every choice offered is one the rule takes.
    let bf = &m.brute_force;
    assert_eq!(bf.span_mins, bruteforce::SPAN_CHOICES);
    assert_eq!(bf.max_failures, bruteforce::FAILURE_CHOICES);
    let mins: Vec<u32> = bf.block_mins.iter().map(|c| c.minutes).collect();
    let mut want: Vec<u32> = bruteforce::BLOCK_CHOICES_MINS.to_vec();
    want.push(0);
    assert_eq!(mins, want);
    let protocols: Vec<&str> = bf.protocols.iter().map(|c| c.value.as_str()).collect();
    let want: Vec<&str> = bruteforce::PROTOCOL_CHOICES
        .iter()
        .map(|p| p.as_str())
        .collect();
    assert_eq!(protocols, want);
    for &span in &bf.span_mins {
        for &max in &bf.max_failures {
            for block in &bf.block_mins {
                let settings = vigil_proto::agent::LoginSettings {
                    enabled: true,
                    span_mins: span,
                    max_failures: max,
                    block_mins: block.minutes,
                    protocols: protocols.iter().map(|p| p.to_string()).collect(),
                    access_whitelist: Vec::new(),
                };
                assert!(settings.to_config().is_ok(), "{settings:?} is refused");
            }
        }
    }

    // Notifications.
    let n = &m.notify;
    let types: Vec<&str> = n.channel_types.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(types, ["inbox", "email", "webhook"]);
    for t in &types {
        let kind = match *t {
            "inbox" => serde_json::json!({"type": t}),
            "email" => serde_json::json!({"type": t, "to": []}),
            _ => serde_json::json!({"type": t, "url": "", "shape": "generic"}),
        };
        serde_json::from_value::<vigil_notify::ChannelKind>(kind)
            .unwrap_or_else(|e| panic!("channel type {t}: {e}"));
    }
    let shapes: Vec<&str> = n.webhook_shapes.iter().map(|c| c.value.as_str()).collect();
    let want: Vec<&str> = WebhookShape::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(shapes, want);
    let tls: Vec<String> = n.smtp_tls.iter().map(|c| c.value.clone()).collect();
    let want: Vec<String> = SmtpTls::ALL
        .iter()
        .map(|t| {
            serde_json::to_value(t)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(tls, want, "the values the SMTP settings deserialize");
    assert_eq!(n.max_attempts, vigil_notify::outbox::MAX_ATTEMPTS);
    assert_eq!(
        n.default_max_per_day,
        vigil_notify::policy::DEFAULT_MAX_PER_DAY
    );
    assert_eq!(
        n.default_max_per_host_per_day,
        vigil_notify::policy::DEFAULT_MAX_PER_HOST_PER_DAY
    );
    for c in n
        .channel_types
        .iter()
        .chain(&n.webhook_shapes)
        .chain(&n.smtp_tls)
        .chain(&bf.protocols)
    {
        assert!(!c.label.is_empty(), "{} has no label", c.value);
    }
}
