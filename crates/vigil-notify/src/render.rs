//! Message bodies: email and inbox text, webhook JSON in each chat tool's shape, and digests.
//!
//! Pure. Alert fields come from hosts and may be hostile, so every one is cleaned: control and
//! bidirectional-override characters are escaped (`\u{1b}`), long values are truncated, and
//! markup that chat tools interpret (Slack `<!channel>`, Markdown links, Feishu `<at>`) is
//! neutralised.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vigil_model::{AlertKind, Level, Timestamp};

use crate::policy::{AlertNotice, ChannelKind, WebhookShape};

/// Longest alert name or host name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest evidence value kept, in characters.
pub const MAX_VALUE_CHARS: usize = 256;
/// Longest evidence field name kept, in characters.
pub const MAX_FIELD_CHARS: usize = 64;
/// Evidence fields shown; the rest are counted.
pub const MAX_FIELDS: usize = 16;
/// Slack refuses a section block text longer than 3000 characters.
const SLACK_SECTION_CHARS: usize = 3000;
/// Host names listed in a digest.
const DIGEST_HOSTS: usize = 5;

/// How to present times and where the console is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Times are shown in this offset from UTC, in minutes.
    pub utc_offset_minutes: i32,
    /// The console's public base URL (e.g. `https://vigil.example.com`); adds a link to the alert.
    pub console_url: Option<String>,
}

/// A title and a plain-text body: an email or a console inbox message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextMessage {
    pub title: String,
    pub body: String,
}

/// What the outbox keeps for one delivery: the rendered message, without the destination (the
/// channel says where, so a webhook token never sits in an outbox row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    Inbox { title: String, body: String },
    Email { subject: String, body: String },
    Webhook { body: Value },
}

impl Payload {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a payload is plain JSON")
    }

    pub fn from_value(value: &Value) -> Result<Payload, serde_json::Error> {
        Payload::deserialize(value)
    }
}

/// "N more alerts of this kind were not sent": what the limits and repeat aggregation held back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestNotice {
    pub kind: AlertKind,
    /// Alerts not notified in the period.
    pub suppressed: u64,
    /// Names of the hosts they came from (all of them; the message lists a few).
    pub hosts: Vec<String>,
    pub since: Timestamp,
    pub until: Timestamp,
}

/// The payload for `notice` on a channel of `kind`.
pub fn payload(kind: &ChannelKind, notice: &AlertNotice, opts: &RenderOptions) -> Payload {
    match kind {
        ChannelKind::Inbox => {
            let m = text(notice, opts);
            Payload::Inbox {
                title: m.title,
                body: m.body,
            }
        }
        ChannelKind::Email { .. } => {
            let m = text(notice, opts);
            Payload::Email {
                subject: m.title,
                body: m.body,
            }
        }
        ChannelKind::Webhook { shape, .. } => Payload::Webhook {
            body: webhook(*shape, notice, opts),
        },
    }
}

/// The payload for a digest on a channel of `kind`.
pub fn digest_payload(kind: &ChannelKind, digest: &DigestNotice, opts: &RenderOptions) -> Payload {
    match kind {
        ChannelKind::Inbox => {
            let m = digest_text(digest, opts);
            Payload::Inbox {
                title: m.title,
                body: m.body,
            }
        }
        ChannelKind::Email { .. } => {
            let m = digest_text(digest, opts);
            Payload::Email {
                subject: m.title,
                body: m.body,
            }
        }
        ChannelKind::Webhook { shape, .. } => Payload::Webhook {
            body: digest_webhook(*shape, digest, opts),
        },
    }
}

/// Email subject (or inbox title) and plain-text body for one alert.
pub fn text(notice: &AlertNotice, opts: &RenderOptions) -> TextMessage {
    let f = Fields::new(notice, opts);
    let mut body = format!(
        "{} alert on {}: {}\n\n",
        level_label(notice.level),
        f.hostname,
        f.name
    );
    for (label, value) in f.summary() {
        body.push_str(&format!("{:<13}{value}\n", format!("{label}:")));
    }
    if !f.evidence.is_empty() {
        body.push_str("\nEvidence:\n");
        for (name, value) in &f.evidence {
            body.push_str(&format!("  {name}: {value}\n"));
        }
        if f.more_fields > 0 {
            body.push_str(&format!("  … and {} more fields\n", f.more_fields));
        }
    }
    body.push_str(&format!("\n{}\n", f.footer()));
    TextMessage {
        title: format!(
            "[Vigil] {}: {} on {}",
            level_label(notice.level),
            f.name,
            f.hostname
        ),
        body,
    }
}

/// The JSON body a webhook of `shape` receives for one alert.
pub fn webhook(shape: WebhookShape, notice: &AlertNotice, opts: &RenderOptions) -> Value {
    let f = Fields::new(notice, opts);
    match shape {
        WebhookShape::Generic => {
            let evidence: Vec<Value> = notice
                .evidence
                .iter()
                .take(MAX_FIELDS)
                .map(|(n, v)| json!({"name": clean(n, MAX_FIELD_CHARS), "value": clean(v, MAX_VALUE_CHARS)}))
                .collect();
            let mut alert = json!({
                "id": notice.alert_id,
                "host_id": clean(&notice.host_id.0, MAX_NAME_CHARS),
                "hostname": f.hostname,
                "kind": notice.kind.as_str(),
                "level": notice.level.as_str(),
                "name": f.name,
                "evidence": evidence,
                "first_seen": notice.first_seen,
                "last_seen": notice.last_seen,
                "count": notice.count,
            });
            if let Some(url) = &f.link {
                alert["url"] = json!(url);
            }
            json!({"alert": alert, "text": text(notice, opts).body})
        }
        WebhookShape::DingTalk => {
            let md = |s: &str| escape_markdown(s);
            let mut t = format!(
                "### Vigil: {} alert on {}\n\n**{}**\n\n",
                level_label(notice.level).to_lowercase(),
                md(&f.hostname),
                md(&f.name)
            );
            for (label, value) in f.summary() {
                t.push_str(&format!("- {label}: {}\n", md(&value)));
            }
            if !f.evidence.is_empty() {
                t.push_str("\n**Evidence**\n\n");
                for (name, value) in &f.evidence {
                    t.push_str(&format!("- {}: {}\n", md(name), md(value)));
                }
                if f.more_fields > 0 {
                    t.push_str(&format!("- … and {} more fields\n", f.more_fields));
                }
            }
            match &f.link {
                Some(url) => t.push_str(&format!(
                    "\n[Alert #{} in the console]({url})",
                    notice.alert_id
                )),
                None => t.push_str(&format!(
                    "\nAlert #{} in the Vigil console",
                    notice.alert_id
                )),
            }
            json!({
                "msgtype": "markdown",
                "markdown": {
                    "title": format!("Vigil: {} on {}", f.name, f.hostname),
                    "text": t,
                },
            })
        }
        WebhookShape::Slack => {
            let s = |v: &str| escape_slack(v);
            let summary = format!(
                "Vigil: {} alert on {}: {}",
                level_label(notice.level).to_lowercase(),
                s(&f.hostname),
                s(&f.name)
            );
            let mut t = format!("*{summary}*\n");
            for (label, value) in f.summary() {
                t.push_str(&format!("• {label}: {}\n", s(&value)));
            }
            if !f.evidence.is_empty() {
                t.push_str("*Evidence*\n");
                for (name, value) in &f.evidence {
                    t.push_str(&format!("• {}: {}\n", s(name), s(value)));
                }
                if f.more_fields > 0 {
                    t.push_str(&format!("• … and {} more fields\n", f.more_fields));
                }
            }
            match &f.link {
                Some(url) => t.push_str(&format!(
                    "<{url}|Alert #{} in the console>",
                    notice.alert_id
                )),
                None => t.push_str(&format!("Alert #{} in the Vigil console", notice.alert_id)),
            }
            json!({
                "text": summary,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(&t, SLACK_SECTION_CHARS)}}],
            })
        }
        WebhookShape::Feishu => feishu(&escape_feishu(&text(notice, opts).body)),
    }
}

/// Email subject (or inbox title) and body for a digest.
pub fn digest_text(digest: &DigestNotice, opts: &RenderOptions) -> TextMessage {
    TextMessage {
        title: format!(
            "[Vigil] {} more {} alerts not sent",
            digest.suppressed,
            kind_label(digest.kind)
        ),
        body: digest_sentence(digest, opts, &|s| s.to_string()) + "\n",
    }
}

/// The JSON body a webhook of `shape` receives for a digest.
pub fn digest_webhook(shape: WebhookShape, digest: &DigestNotice, opts: &RenderOptions) -> Value {
    let title = format!(
        "Vigil: {} more {} alerts",
        digest.suppressed,
        kind_label(digest.kind)
    );
    match shape {
        WebhookShape::Generic => json!({
            "digest": {
                "kind": digest.kind.as_str(),
                "suppressed": digest.suppressed,
                "hosts": digest.hosts.iter().map(|h| clean(h, MAX_NAME_CHARS)).collect::<Vec<_>>(),
                "since": digest.since,
                "until": digest.until,
            },
            "text": digest_sentence(digest, opts, &|s| s.to_string()),
        }),
        WebhookShape::DingTalk => json!({
            "msgtype": "markdown",
            "markdown": {
                "title": title,
                "text": format!("### {title}\n\n{}", digest_sentence(digest, opts, &escape_markdown)),
            },
        }),
        WebhookShape::Slack => {
            let t = digest_sentence(digest, opts, &escape_slack);
            json!({
                "text": title,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(&format!("*{title}*\n{t}"), SLACK_SECTION_CHARS)}}],
            })
        }
        WebhookShape::Feishu => feishu(&digest_sentence(digest, opts, &escape_feishu)),
    }
}

fn feishu(text: &str) -> Value {
    json!({"msg_type": "text", "content": {"text": text}})
}

fn digest_sentence(
    digest: &DigestNotice,
    opts: &RenderOptions,
    esc: &dyn Fn(&str) -> String,
) -> String {
    let mut hosts: Vec<String> = digest
        .hosts
        .iter()
        .take(DIGEST_HOSTS)
        .map(|h| esc(&clean(h, MAX_NAME_CHARS)))
        .collect();
    if digest.hosts.len() > DIGEST_HOSTS {
        hosts.push(format!("{} more", digest.hosts.len() - DIGEST_HOSTS));
    }
    let hosts = if hosts.is_empty() {
        String::new()
    } else {
        format!(" Hosts: {}.", hosts.join(", "))
    };
    let link = match &opts.console_url {
        Some(base) => format!(" See {}/#/alerts", base.trim_end_matches('/')),
        None => " See the Vigil console".to_string(),
    };
    format!(
        "Vigil: {} more {} alerts were not sent between {} and {} (daily limits or repeats).{hosts}{link} for all of them.",
        digest.suppressed,
        kind_label(digest.kind),
        time(digest.since, opts.utc_offset_minutes),
        time(digest.until, opts.utc_offset_minutes),
    )
}

/// An alert's fields, cleaned once for every shape.
struct Fields {
    name: String,
    hostname: String,
    host_id: String,
    kind: &'static str,
    level: &'static str,
    first_seen: String,
    last_seen: String,
    count: u64,
    evidence: Vec<(String, String)>,
    more_fields: usize,
    alert_id: i64,
    link: Option<String>,
}

impl Fields {
    fn new(n: &AlertNotice, opts: &RenderOptions) -> Fields {
        Fields {
            name: clean(&n.name, MAX_NAME_CHARS),
            hostname: clean(&n.hostname, MAX_NAME_CHARS),
            host_id: clean(&n.host_id.0, MAX_NAME_CHARS),
            kind: kind_label(n.kind),
            level: level_label(n.level),
            first_seen: time(n.first_seen, opts.utc_offset_minutes),
            last_seen: time(n.last_seen, opts.utc_offset_minutes),
            count: n.count,
            evidence: n
                .evidence
                .iter()
                .take(MAX_FIELDS)
                .map(|(k, v)| (clean(k, MAX_FIELD_CHARS), clean(v, MAX_VALUE_CHARS)))
                .collect(),
            more_fields: n.evidence.len().saturating_sub(MAX_FIELDS),
            alert_id: n.alert_id,
            link: opts
                .console_url
                .as_ref()
                .map(|base| format!("{}/#/alerts/{}", base.trim_end_matches('/'), n.alert_id)),
        }
    }

    fn summary(&self) -> [(&'static str, String); 6] {
        [
            ("Type", self.kind.to_string()),
            ("Level", self.level.to_string()),
            ("Host", format!("{} ({})", self.hostname, self.host_id)),
            ("First seen", self.first_seen.clone()),
            ("Last seen", self.last_seen.clone()),
            ("Occurrences", self.count.to_string()),
        ]
    }

    fn footer(&self) -> String {
        match &self.link {
            Some(url) => format!("Alert #{}: {url}", self.alert_id),
            None => format!("Alert #{} in the Vigil console.", self.alert_id),
        }
    }
}

/// `Suspicious account` for `suspicious_account`.
pub fn kind_label(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::AbnormalLogin => "Abnormal login",
        AlertKind::BruteForce => "Brute force",
        AlertKind::MaliciousFile => "Malicious file",
        AlertKind::Webshell => "Webshell",
        AlertKind::MaliciousScript => "Malicious script",
        AlertKind::SuspiciousProcess => "Suspicious process",
        AlertKind::ReverseShell => "Reverse shell",
        AlertKind::Persistence => "Persistence",
        AlertKind::SensitiveFileTampering => "Sensitive file tampering",
        AlertKind::MaliciousNetworkAccess => "Malicious network access",
        AlertKind::SuspiciousConnection => "Suspicious connection",
        AlertKind::NetworkAttack => "Network attack",
        AlertKind::DataLeak => "Data leak",
        AlertKind::SuspiciousAccount => "Suspicious account",
        AlertKind::SuspiciousPort => "Suspicious port",
        AlertKind::ConfigurationRisk => "Configuration risk",
        AlertKind::WebThreat => "Web threat",
        AlertKind::ApplicationIntrusion => "Application intrusion",
    }
}

pub fn level_label(level: Level) -> &'static str {
    match level {
        Level::Urgent => "Urgent",
        Level::Suspicious => "Suspicious",
        Level::Reminder => "Reminder",
    }
}

/// `2024-05-01 10:00:00 +08:00`.
fn time(t: Timestamp, utc_offset_minutes: i32) -> String {
    let offset = FixedOffset::east_opt(utc_offset_minutes.saturating_mul(60))
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    match DateTime::from_timestamp(t, 0) {
        Some(utc) => utc
            .with_timezone(&offset)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        None => format!("@{t}"),
    }
}

/// Escapes control and bidirectional-override characters and truncates to `max` characters.
pub fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    truncate(&out, max)
}

/// Keeps the first `max` characters and says how many were cut.
fn truncate(s: &str, max: usize) -> String {
    let total = s.chars().count();
    if total <= max {
        return s.to_string();
    }
    let note = format!("… [{} more characters]", total - max);
    let mut kept: String = s.chars().take(max).collect();
    kept.push_str(&note);
    kept
}

/// Slack's three escapes: no `<!channel>`, `<@U…>` or `<url|text>` from alert data.
fn escape_slack(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Backslash-escapes Markdown punctuation so alert data cannot add links, images or headings.
fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '<' | '>' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Feishu's text messages turn `<at user_id="all">` into a mention of everyone: alert data gets
/// full-width angle brackets instead.
fn escape_feishu(s: &str) -> String {
    s.replace('<', "＜").replace('>', "＞")
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use vigil_model::HostId;

    /// 2024-05-01 02:00:00 UTC = 10:00 at +08:00.
    const T: Timestamp = 1_714_528_800;

    fn notice() -> AlertNotice {
        AlertNotice {
            alert_id: 42,
            host_id: HostId("h-00000000000000aa".into()),
            hostname: "web-1".into(),
            kind: AlertKind::SuspiciousAccount,
            level: Level::Urgent,
            name: "New account with uid 0: toor".into(),
            evidence: vec![
                ("user".into(), "toor".into()),
                ("uid".into(), "0".into()),
                ("shell".into(), "/bin/bash".into()),
            ],
            first_seen: T,
            last_seen: T + 300,
            count: 3,
            first_occurrence: true,
        }
    }

    fn opts() -> RenderOptions {
        RenderOptions {
            utc_offset_minutes: 480,
            console_url: Some("https://vigil.example.com/".into()),
        }
    }

    fn pretty(v: &Value) -> String {
        serde_json::to_string_pretty(v).unwrap()
    }

    #[test]
    fn email_text() {
        let m = text(&notice(), &opts());
        expect!["[Vigil] Urgent: New account with uid 0: toor on web-1"].assert_eq(&m.title);
        expect![[r####"
            Urgent alert on web-1: New account with uid 0: toor

            Type:        Suspicious account
            Level:       Urgent
            Host:        web-1 (h-00000000000000aa)
            First seen:  2024-05-01 10:00:00 +08:00
            Last seen:   2024-05-01 10:05:00 +08:00
            Occurrences: 3

            Evidence:
              user: toor
              uid: 0
              shell: /bin/bash

            Alert #42: https://vigil.example.com/#/alerts/42
        "####]]
        .assert_eq(&m.body);
        let bare = text(
            &AlertNotice {
                evidence: vec![],
                ..notice()
            },
            &RenderOptions::default(),
        );
        expect![[r####"
            Urgent alert on web-1: New account with uid 0: toor

            Type:        Suspicious account
            Level:       Urgent
            Host:        web-1 (h-00000000000000aa)
            First seen:  2024-05-01 02:00:00 +00:00
            Last seen:   2024-05-01 02:05:00 +00:00
            Occurrences: 3

            Alert #42 in the Vigil console.
        "####]]
        .assert_eq(&bare.body);
    }

    #[test]
    fn generic_json() {
        let v = webhook(WebhookShape::Generic, &notice(), &opts());
        expect![[r####"
            {
              "alert": {
                "count": 3,
                "evidence": [
                  {
                    "name": "user",
                    "value": "toor"
                  },
                  {
                    "name": "uid",
                    "value": "0"
                  },
                  {
                    "name": "shell",
                    "value": "/bin/bash"
                  }
                ],
                "first_seen": 1714528800,
                "host_id": "h-00000000000000aa",
                "hostname": "web-1",
                "id": 42,
                "kind": "suspicious_account",
                "last_seen": 1714529100,
                "level": "urgent",
                "name": "New account with uid 0: toor",
                "url": "https://vigil.example.com/#/alerts/42"
              },
              "text": "Urgent alert on web-1: New account with uid 0: toor\n\nType:        Suspicious account\nLevel:       Urgent\nHost:        web-1 (h-00000000000000aa)\nFirst seen:  2024-05-01 10:00:00 +08:00\nLast seen:   2024-05-01 10:05:00 +08:00\nOccurrences: 3\n\nEvidence:\n  user: toor\n  uid: 0\n  shell: /bin/bash\n\nAlert #42: https://vigil.example.com/#/alerts/42\n"
            }"####]]
        .assert_eq(&pretty(&v));
    }

    #[test]
    fn dingtalk_markdown() {
        let v = webhook(WebhookShape::DingTalk, &notice(), &opts());
        expect![[r####"
            {
              "markdown": {
                "text": "### Vigil: urgent alert on web-1\n\n**New account with uid 0: toor**\n\n- Type: Suspicious account\n- Level: Urgent\n- Host: web-1 \\(h-00000000000000aa\\)\n- First seen: 2024-05-01 10:00:00 +08:00\n- Last seen: 2024-05-01 10:05:00 +08:00\n- Occurrences: 3\n\n**Evidence**\n\n- user: toor\n- uid: 0\n- shell: /bin/bash\n\n[Alert #42 in the console](https://vigil.example.com/#/alerts/42)",
                "title": "Vigil: New account with uid 0: toor on web-1"
              },
              "msgtype": "markdown"
            }"####]]
        .assert_eq(&pretty(&v));
    }

    #[test]
    fn slack_blocks() {
        let v = webhook(WebhookShape::Slack, &notice(), &opts());
        expect![[r####"
            {
              "blocks": [
                {
                  "text": {
                    "text": "*Vigil: urgent alert on web-1: New account with uid 0: toor*\n• Type: Suspicious account\n• Level: Urgent\n• Host: web-1 (h-00000000000000aa)\n• First seen: 2024-05-01 10:00:00 +08:00\n• Last seen: 2024-05-01 10:05:00 +08:00\n• Occurrences: 3\n*Evidence*\n• user: toor\n• uid: 0\n• shell: /bin/bash\n<https://vigil.example.com/#/alerts/42|Alert #42 in the console>",
                    "type": "mrkdwn"
                  },
                  "type": "section"
                }
              ],
              "text": "Vigil: urgent alert on web-1: New account with uid 0: toor"
            }"####]]
        .assert_eq(&pretty(&v));
    }

    #[test]
    fn feishu_text() {
        let v = webhook(WebhookShape::Feishu, &notice(), &RenderOptions::default());
        expect![[r####"
            {
              "content": {
                "text": "Urgent alert on web-1: New account with uid 0: toor\n\nType:        Suspicious account\nLevel:       Urgent\nHost:        web-1 (h-00000000000000aa)\nFirst seen:  2024-05-01 02:00:00 +00:00\nLast seen:   2024-05-01 02:05:00 +00:00\nOccurrences: 3\n\nEvidence:\n  user: toor\n  uid: 0\n  shell: /bin/bash\n\nAlert #42 in the Vigil console.\n"
              },
              "msg_type": "text"
            }"####]]
        .assert_eq(&pretty(&v));
    }

    #[test]
    fn digests() {
        let d = DigestNotice {
            kind: AlertKind::BruteForce,
            suppressed: 9,
            hosts: (1..=7).map(|i| format!("web-{i}")).collect(),
            since: T,
            until: T + 86_400,
        };
        let m = digest_text(&d, &opts());
        expect!["[Vigil] 9 more Brute force alerts not sent"].assert_eq(&m.title);
        expect![[r####"
            Vigil: 9 more Brute force alerts were not sent between 2024-05-01 10:00:00 +08:00 and 2024-05-02 10:00:00 +08:00 (daily limits or repeats). Hosts: web-1, web-2, web-3, web-4, web-5, 2 more. See https://vigil.example.com/#/alerts for all of them.
        "####]]
        .assert_eq(&m.body);
        let generic = digest_webhook(WebhookShape::Generic, &d, &RenderOptions::default());
        assert_eq!(generic["digest"]["suppressed"], 9);
        assert_eq!(generic["digest"]["hosts"].as_array().unwrap().len(), 7);
        assert_eq!(generic["digest"]["kind"], "brute_force");
        expect!["Vigil: 9 more Brute force alerts were not sent between 2024-05-01 02:00:00 +00:00 and 2024-05-02 02:00:00 +00:00 (daily limits or repeats). Hosts: web-1, web-2, web-3, web-4, web-5, 2 more. See the Vigil console for all of them."]
            .assert_eq(generic["text"].as_str().unwrap());
        let ding = digest_webhook(WebhookShape::DingTalk, &d, &RenderOptions::default());
        assert_eq!(ding["msgtype"], "markdown");
        assert_eq!(
            ding["markdown"]["title"],
            "Vigil: 9 more Brute force alerts"
        );
        assert!(ding["markdown"]["text"]
            .as_str()
            .unwrap()
            .starts_with("### Vigil: 9 more Brute force alerts\n\nVigil: 9 more"));
        let slack = digest_webhook(WebhookShape::Slack, &d, &RenderOptions::default());
        assert_eq!(slack["text"], "Vigil: 9 more Brute force alerts");
        assert_eq!(slack["blocks"][0]["type"], "section");
        let feishu = digest_webhook(WebhookShape::Feishu, &d, &RenderOptions::default());
        assert_eq!(feishu["msg_type"], "text");
        assert_eq!(feishu["content"]["text"], generic["text"]);
    }

    #[test]
    fn payloads_per_channel() {
        let n = notice();
        let o = RenderOptions::default();
        let email = payload(
            &ChannelKind::Email {
                to: vec!["a@b.c".into()],
            },
            &n,
            &o,
        );
        let m = text(&n, &o);
        assert_eq!(
            email,
            Payload::Email {
                subject: m.title.clone(),
                body: m.body.clone()
            }
        );
        assert_eq!(
            payload(&ChannelKind::Inbox, &n, &o),
            Payload::Inbox {
                title: m.title,
                body: m.body
            }
        );
        let hook = ChannelKind::Webhook {
            url: "https://x.example/SECRET".into(),
            shape: WebhookShape::Slack,
        };
        let p = payload(&hook, &n, &o);
        let v = p.to_value();
        assert_eq!(v["type"], "webhook");
        assert!(!v.to_string().contains("SECRET"));
        assert_eq!(Payload::from_value(&v).unwrap(), p);
        assert_eq!(Payload::from_value(&email.to_value()).unwrap(), email);
        assert!(Payload::from_value(&json!({"type": "pager"})).is_err());
    }

    #[test]
    fn hostile_values_are_cleaned() {
        let n = AlertNotice {
            name: "evil\r\nBcc: victim@example.com\u{1b}[31m".into(),
            hostname: "h\u{202e}gnp.exe".into(),
            evidence: vec![
                ("cmd".into(), "x".repeat(10_000)),
                (
                    "link".into(),
                    "[click](http://evil) <!channel> <at user_id=\"all\"></at> *b*".into(),
                ),
            ],
            ..notice()
        };
        let o = RenderOptions::default();
        let m = text(&n, &o);
        expect![r#"[Vigil] Urgent: evil\r\nBcc: victim@example.com\u{1b}[31m on h\u{202e}gnp.exe"#]
            .assert_eq(&m.title);
        assert!(!m.title.chars().any(char::is_control));
        assert!(m.body.contains(&format!(
            "cmd: {}… [9744 more characters]\n",
            "x".repeat(256)
        )));
        for shape in WebhookShape::ALL {
            let s = webhook(shape, &n, &o).to_string();
            // Serialized JSON escapes control characters, so check the decoded strings.
            let v: Value = serde_json::from_str(&s).unwrap();
            let mut strings = Vec::new();
            collect_strings(&v, &mut strings);
            for st in &strings {
                assert!(
                    !st.chars().any(|c| c.is_control() && c != '\n'),
                    "{shape:?}: {st:?}"
                );
                assert!(!st.contains('\u{202e}'), "{shape:?}");
                assert!(
                    st.chars().count() < 8_000,
                    "{shape:?}: {} chars",
                    st.chars().count()
                );
            }
        }
        let slack = webhook(WebhookShape::Slack, &n, &o).to_string();
        assert!(slack.contains("&lt;!channel&gt;") && !slack.contains("<!channel>"));
        let ding = webhook(WebhookShape::DingTalk, &n, &o);
        assert!(ding["markdown"]["text"]
            .as_str()
            .unwrap()
            .contains(r"\[click\]\(http://evil\)"));
        let feishu = webhook(WebhookShape::Feishu, &n, &o).to_string();
        assert!(!feishu.contains("<at") && feishu.contains("＜at user_id"));
    }

    #[test]
    fn many_fields_and_long_slack_text() {
        let n = AlertNotice {
            evidence: (0..40)
                .map(|i| (format!("f{i}"), "v".repeat(300)))
                .collect(),
            ..notice()
        };
        let o = RenderOptions::default();
        assert!(text(&n, &o).body.contains("  … and 24 more fields\n"));
        let generic = webhook(WebhookShape::Generic, &n, &o);
        assert_eq!(
            generic["alert"]["evidence"].as_array().unwrap().len(),
            MAX_FIELDS
        );
        let slack = webhook(WebhookShape::Slack, &n, &o);
        let t = slack["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            t.chars().count() <= SLACK_SECTION_CHARS + 40,
            "{}",
            t.chars().count()
        );
        assert!(t.ends_with("more characters]"));
    }

    #[test]
    fn cleaning() {
        let cases = [
            ("plain", 10, "plain"),
            ("tab\there", 20, r"tab\there"),
            ("nul\0", 20, r"nul\u{0}"),
            ("del\u{7f}", 20, r"del\u{7f}"),
            ("c1\u{85}", 20, r"c1\u{85}"),
            ("abcdef", 3, "abc… [3 more characters]"),
            ("日本語テキスト", 3, "日本語… [4 more characters]"),
            ("ok émoji 🙂", 20, "ok émoji 🙂"),
        ];
        for (input, max, want) in cases {
            assert_eq!(clean(input, max), want, "{input:?}");
        }
    }

    fn collect_strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
            _ => {}
        }
    }
}
