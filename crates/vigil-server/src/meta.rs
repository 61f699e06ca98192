//! `GET /api/v1/meta`: the enums and choice lists of the API, taken from the crates that own
//! them, so the console fetches them once instead of copying them.

use crate::state::SharedState;
use axum::routing::get;
use axum::{Json, Router};
use vigil_detect::{bruteforce, score, whitelist};
use vigil_model::{AlertKind, AlertStatus, HostState, Level, LoginProtocol};
use vigil_notify::{ChannelKind, SmtpTls, WebhookShape};
use vigil_proto::api::HandleAction;
use vigil_proto::meta::*;

/// Merged into the API's authenticated routes.
pub fn routes() -> Router<SharedState> {
    Router::new().route("/api/v1/meta", get(|| async { Json(meta()) }))
}

/// Everything here is fixed at build time: nothing is read from the store.
pub fn meta() -> Meta {
    Meta {
        alerts: AlertMeta {
            levels: Level::ALL.to_vec(),
            statuses: AlertStatus::ALL.to_vec(),
            kinds: AlertKind::ALL
                .into_iter()
                .map(|kind| KindMeta {
                    kind,
                    key_fields: whitelist::key_fields(kind)
                        .iter()
                        .map(|f| f.to_string())
                        .collect(),
                })
                .collect(),
            actions: HandleAction::ALL
                .into_iter()
                .map(|action| ActionMeta {
                    action,
                    label: action_label(action).into(),
                    from: crate::alerts::allowed_from(action).to_vec(),
                })
                .collect(),
            block_durations: BLOCK_DURATIONS
                .iter()
                .map(|d| Choice::new(d, &validity_label(d)))
                .collect(),
            default_block_duration: DEFAULT_BLOCK_DURATION.into(),
        },
        hosts: HostMeta {
            states: HostState::ALL.to_vec(),
        },
        score: ScoreMeta {
            caps: [
                ("alerts", score::ALERTS_CAP),
                ("vulnerabilities", score::VULNS_CAP),
                ("baseline", score::BASELINE_CAP),
            ]
            .into_iter()
            .map(|(module, at)| ScoreCap {
                module: module.into(),
                at,
            })
            .collect(),
        },
        vulns: VulnMeta {
            levels: vigil_vuln::Level::ALL
                .iter()
                .map(|l| l.as_str().into())
                .collect(),
            statuses: vigil_store::VulnStatus::ALL
                .iter()
                .map(|s| s.as_str().into())
                .collect(),
        },
        brute_force: BruteForceMeta {
            span_mins: bruteforce::SPAN_CHOICES.to_vec(),
            max_failures: bruteforce::FAILURE_CHOICES.to_vec(),
            block_mins: bruteforce::BLOCK_CHOICES_MINS
                .into_iter()
                .map(|minutes| MinutesChoice {
                    minutes,
                    label: minutes_label(minutes),
                })
                // `block_mins: 0` is the permanent block of the login settings.
                .chain(std::iter::once(MinutesChoice {
                    minutes: 0,
                    label: "Permanently".into(),
                }))
                .collect(),
            protocols: bruteforce::PROTOCOL_CHOICES
                .into_iter()
                .map(|p| Choice::new(p.as_str(), protocol_label(p)))
                .collect(),
        },
        notify: NotifyMeta {
            channel_types: channel_types(),
            webhook_shapes: WebhookShape::ALL
                .into_iter()
                .map(|s| Choice::new(s.as_str(), shape_label(s)))
                .collect(),
            smtp_tls: SmtpTls::ALL
                .into_iter()
                .map(|t| Choice::new(t.as_str(), tls_label(t)))
                .collect(),
            max_attempts: vigil_notify::outbox::MAX_ATTEMPTS,
            default_max_per_day: vigil_notify::policy::DEFAULT_MAX_PER_DAY,
            default_max_per_host_per_day: vigil_notify::policy::DEFAULT_MAX_PER_HOST_PER_DAY,
        },
    }
}

fn action_label(a: HandleAction) -> &'static str {
    match a {
        HandleAction::Ignore => "Ignore",
        HandleAction::Handled => "Mark handled",
        HandleAction::Whitelist => "Whitelist",
        HandleAction::Unwhitelist => "Remove whitelist",
        HandleAction::KillProcess => "Kill process",
        HandleAction::Quarantine => "Quarantine file",
        HandleAction::KillAndQuarantine => "Kill and quarantine",
        HandleAction::BlockIp => "Block source IP",
    }
}

fn protocol_label(p: LoginProtocol) -> &'static str {
    match p {
        LoginProtocol::Ssh => "SSH",
        LoginProtocol::Ftp => "FTP",
        LoginProtocol::Mysql => "MySQL",
        LoginProtocol::Local => "Local",
    }
}

/// One channel of each kind: the match below stops compiling when a kind is added, until it is
/// offered here too.
fn channel_types() -> Vec<Choice> {
    let kinds = [
        ChannelKind::Inbox,
        ChannelKind::Email { to: Vec::new() },
        ChannelKind::Webhook {
            url: String::new(),
            shape: WebhookShape::Generic,
        },
    ];
    kinds
        .iter()
        .map(|k| {
            let label = match k {
                ChannelKind::Inbox => "Console inbox",
                ChannelKind::Email { .. } => "Email",
                ChannelKind::Webhook { .. } => "Webhook",
            };
            Choice::new(k.as_str(), label)
        })
        .collect()
}

fn shape_label(s: WebhookShape) -> &'static str {
    match s {
        WebhookShape::Generic => "Generic JSON",
        WebhookShape::DingTalk => "DingTalk",
        WebhookShape::Slack => "Slack",
        WebhookShape::Feishu => "Feishu",
    }
}

fn tls_label(t: SmtpTls) -> &'static str {
    match t {
        SmtpTls::StartTls => "STARTTLS (port 587)",
        SmtpTls::Tls => "TLS (port 465)",
        SmtpTls::None => "None: plain text",
    }
}
