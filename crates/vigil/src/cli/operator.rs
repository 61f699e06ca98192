//! The operator commands that manage notifications, the whitelist, the IP policy and the
//! baseline through the REST API, and the small parsers they share.

use super::{BaselineCommand, IpPolicyCommand, NotifyCommand, WhitelistCommand};
use crate::client::{connect, resolve_host, resolve_opt};
use crate::output;
use anyhow::{bail, Context, Result};
use vigil_notify::{ChannelConfig, ChannelKind, SmtpConfig};
use vigil_proto::agent::BaselineSchedule;
use vigil_proto::api::{
    BaselineQuery, CreateChannel, CreateIpRule, IgnoreBaseline, IpRuleFilter, NotifySettings,
    ScopeQuery, VerifyBaseline,
};

/// What `vigil notify remove --json` prints (the server answers 204 with no body).
#[derive(serde::Serialize)]
struct RemovedChannel {
    removed: i64,
}

/// A value the API names by its wire name (`kill_process`, `urgent`, `dingtalk`), parsed from
/// the command line with a message that names the option.
pub(super) fn wire_name<T: serde::de::DeserializeOwned>(option: &str, value: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.trim().to_string()))
        .map_err(|e| anyhow::anyhow!("{option} {value:?}: {e}"))
}

pub(super) fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// "08:00-22:00" as minutes of the day.
pub(super) fn parse_window(w: &str) -> Result<vigil_notify::TimeWindow> {
    let minutes = |hm: &str| -> Option<u32> {
        let (h, m) = hm.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
    };
    let (a, b) = w
        .split_once('-')
        .context("--window looks like 08:00-22:00")?;
    let (start, end) = (minutes(a), minutes(b));
    match (start, end) {
        (Some(s), Some(e)) => Ok(vigil_notify::TimeWindow {
            start_minute: s as u16,
            end_minute: e as u16,
        }),
        _ => bail!("--window {w:?} is not HH:MM-HH:MM"),
    }
}

pub(super) async fn notify(cmd: NotifyCommand) -> Result<()> {
    match cmd {
        NotifyCommand::Add {
            name,
            inbox,
            email,
            webhook,
            shape,
            levels,
            kinds,
            window,
            max_per_day,
            max_per_host_per_day,
            api,
        } => {
            let kind = if inbox {
                ChannelKind::Inbox
            } else if let Some(url) = webhook {
                ChannelKind::Webhook {
                    url,
                    shape: wire_name("--shape", &shape)?,
                }
            } else if !email.is_empty() {
                ChannelKind::Email { to: email }
            } else {
                bail!("say where to send: --inbox, --email ADDRESS or --webhook URL");
            };
            let mut config = ChannelConfig::new(0, kind);
            config.levels = comma_list(&levels)
                .iter()
                .map(|l| wire_name("--levels", l))
                .collect::<Result<_>>()?;
            config.kinds = kinds
                .as_deref()
                .map(|k| {
                    comma_list(k)
                        .iter()
                        .map(|k| wire_name("--kinds", k))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?;
            config.window = window.as_deref().map(parse_window).transpose()?;
            config.max_per_day = max_per_day;
            config.max_per_host_per_day = max_per_host_per_day;
            let v = connect(&api)?
                .create_channel(&CreateChannel { name, config })
                .await?;
            output::one(&v, api.json, &format!("channel {} added", v.id))
        }
        NotifyCommand::List { api } => {
            let v = connect(&api)?.channels().await?;
            output::channels(&v, api.json)
        }
        NotifyCommand::Remove { id, api } => {
            connect(&api)?.delete_channel(id).await?;
            output::one(
                &RemovedChannel { removed: id },
                api.json,
                &format!("channel {id} removed"),
            )
        }
        NotifyCommand::Settings {
            utc_offset_minutes,
            smtp_host,
            smtp_port,
            smtp_tls,
            smtp_user,
            smtp_password,
            smtp_from,
            api,
        } => {
            let smtp = match smtp_host {
                None => None,
                Some(host) => Some(SmtpConfig {
                    host,
                    port: smtp_port,
                    tls: wire_name("--smtp-tls", &smtp_tls)?,
                    username: smtp_user,
                    password: smtp_password,
                    from: smtp_from,
                    ca_cert_pem: None,
                }),
            };
            let req = NotifySettings {
                utc_offset_minutes,
                smtp,
            };
            let v = connect(&api)?.put_notify_settings(&req).await?;
            let smtp = match &v.smtp {
                Some(s) => format!(
                    "mail through {}:{} from {}{}",
                    s.config.host,
                    s.config.port,
                    s.config.from,
                    if s.password_set {
                        " (password set)"
                    } else {
                        ""
                    }
                ),
                None => "no SMTP server".into(),
            };
            output::one(
                &v,
                api.json,
                &format!(
                    "notification settings saved: local time UTC{:+} min, {smtp}",
                    v.utc_offset_minutes
                ),
            )
        }
        NotifyCommand::Outbox { api } => {
            let v = connect(&api)?.outbox().await?;
            output::outbox(&v, api.json)
        }
        NotifyCommand::Inbox { api } => {
            let v = connect(&api)?.inbox().await?;
            output::inbox(&v, api.json)
        }
    }
}

pub(super) async fn whitelist(cmd: WhitelistCommand) -> Result<()> {
    match cmd {
        WhitelistCommand::List { api } => {
            let v = connect(&api)?.whitelist().await?;
            output::rules(&v, api.json)
        }
        WhitelistCommand::Remove { id, api } => {
            let v = connect(&api)?.delete_whitelist_rule(id).await?;
            output::one(
                &v,
                api.json,
                &format!(
                    "whitelist rule {id} removed; {} alert(s) back in the list",
                    v.restored
                ),
            )
        }
    }
}

pub(super) async fn ip_policy(cmd: IpPolicyCommand) -> Result<()> {
    match cmd {
        IpPolicyCommand::List { status, host, api } => {
            let v = connect(&api)?
                .ip_rules(&IpRuleFilter { status, host })
                .await?;
            output::ip_rules(&v, api.json)
        }
        IpPolicyCommand::Block {
            target,
            duration,
            host,
            outbound,
            reason,
            confirm_wide,
            api,
        } => {
            let req = CreateIpRule {
                target,
                direction: Some(if outbound { "out" } else { "in" }.into()),
                hosts: host,
                duration,
                reason,
                confirm_wide,
            };
            let v = connect(&api)?.create_ip_rule(&req).await?;
            output::one(
                &v,
                api.json,
                &format!(
                    "rule {} blocks {} ({}); sent to {} host(s); see `vigil ip-policy list` for each host's outcome",
                    v.id,
                    v.target,
                    output::name(&v.direction),
                    v.sent_to_hosts,
                ),
            )
        }
        IpPolicyCommand::Disable { id, api } => {
            let v = connect(&api)?.disable_ip_rule(id).await?;
            output::one(
                &v,
                api.json,
                &format!("rule {id} disabled; its hosts unblock {} now", v.target),
            )
        }
    }
}

pub(super) async fn baseline(cmd: BaselineCommand) -> Result<()> {
    match cmd {
        BaselineCommand::List {
            host,
            status,
            check,
            api,
        } => {
            let c = connect(&api)?;
            let q = BaselineQuery {
                host: resolve_opt(&c, host).await?,
                status: (status != "all").then_some(status),
                check,
            };
            let v = c.baseline(&q).await?;
            output::baseline(&v, api.json)
        }
        BaselineCommand::Ignore {
            host,
            check,
            reason,
            api,
        } => {
            let c = connect(&api)?;
            let req = IgnoreBaseline {
                host_id: resolve_host(&c, &host).await?,
                check_id: check,
                reason,
            };
            let v = c.ignore_baseline(&req).await?;
            output::one(
                &v,
                api.json,
                &format!("{} on {} ignored", v.check_id, v.host_id),
            )
        }
        BaselineCommand::Unignore { host, check, api } => {
            let c = connect(&api)?;
            let req = IgnoreBaseline {
                host_id: resolve_host(&c, &host).await?,
                check_id: check,
                reason: String::new(),
            };
            let v = c.unignore_baseline(&req).await?;
            output::one(
                &v,
                api.json,
                &format!("{} on {} no longer ignored", v.check_id, v.host_id),
            )
        }
        BaselineCommand::Verify { host, check, api } => {
            let c = connect(&api)?;
            let req = VerifyBaseline {
                host_id: resolve_host(&c, &host).await?,
                check_id: check.unwrap_or_default(),
            };
            let v = c.verify_baseline(&req).await?;
            output::one(
                &v,
                api.json,
                &format!(
                    "verifying {} result(s) on {} (command {}): {}",
                    v.verifying, v.host_id, v.command_id, v.message
                ),
            )
        }
        BaselineCommand::Schedule {
            host,
            group,
            every_days,
            window,
            inherit,
            api,
        } => {
            let client = connect(&api)?;
            let q = ScopeQuery {
                host: resolve_opt(&client, host).await?,
                group,
            };
            let scope = match (&q.host, &q.group) {
                (Some(h), _) => format!("host {h}"),
                (_, Some(g)) => format!("group {g}"),
                _ => "the fleet".to_string(),
            };
            if inherit {
                let v = client.delete_baseline_schedule(&q).await?;
                return output::one(
                    &v,
                    api.json,
                    &format!(
                        "{} uses its group's or the fleet's schedule again",
                        v.removed
                    ),
                );
            }
            let v = if every_days.is_none() && window.is_none() {
                client.baseline_schedule(&q).await?
            } else {
                let mut s = client.baseline_schedule(&q).await.unwrap_or_default();
                if let Some(d) = every_days {
                    s.every_days = d;
                }
                if let Some(w) = window {
                    let (from, to) = w
                        .split_once('-')
                        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
                        .with_context(|| {
                            format!("--window {w:?}: write it as FROM-TO hours, e.g. 0-6")
                        })?;
                    (s.from_hour, s.to_hour) = (from, to);
                }
                client.put_baseline_schedule(&q, &s).await?
            };
            output::one(&v, api.json, &schedule_line(&scope, &v))
        }
    }
}

fn schedule_line(scope: &str, s: &BaselineSchedule) -> String {
    format!(
        "{scope}: the baseline runs every {} day(s), between {:02}:00 and {:02}:00 host time",
        s.every_days, s.from_hour, s.to_hour
    )
}
