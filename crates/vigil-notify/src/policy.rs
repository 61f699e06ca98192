//! Who is notified of what, and when: channel settings and the pure send / hold / suppress decision.
//!
//! Nothing here reads the clock: `now` and the operator's UTC offset are arguments. Days and time
//! windows are counted in that local time, so "5 a day" resets at local midnight.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;
use vigil_model::{AlertKind, HostId, Level, Timestamp};

/// At most this many alert notifications a day per channel, as the reference product does.
pub const DEFAULT_MAX_PER_DAY: u32 = 5;
/// At most this many alert notifications a day per channel and host, as the reference product does.
pub const DEFAULT_MAX_PER_HOST_PER_DAY: u32 = 1;

const DAY: i64 = 86_400;
const MINUTES_PER_DAY: u16 = 1_440;

/// The JSON a webhook expects: a generic document or a chat tool's message shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookShape {
    /// `{"alert": {...}, "text": "..."}`, for SMS gateways and home-made receivers.
    Generic,
    DingTalk,
    Slack,
    Feishu,
}

impl WebhookShape {
    pub const ALL: [WebhookShape; 4] = [
        WebhookShape::Generic,
        WebhookShape::DingTalk,
        WebhookShape::Slack,
        WebhookShape::Feishu,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookShape::Generic => "generic",
            WebhookShape::DingTalk => "dingtalk",
            WebhookShape::Slack => "slack",
            WebhookShape::Feishu => "feishu",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookShape> {
        WebhookShape::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// Where a channel delivers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelKind {
    /// Messages in the console's inbox (written by the store, never sent over the network).
    Inbox,
    /// Email through the server's SMTP settings.
    Email { to: Vec<String> },
    /// An HTTP POST of JSON. The URL often carries a secret token (DingTalk, Slack, Feishu).
    Webhook { url: String, shape: WebhookShape },
}

// Hand-written so a webhook's secret token never reaches a log line.
impl fmt::Debug for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelKind::Inbox => f.write_str("Inbox"),
            ChannelKind::Email { to } => f.debug_struct("Email").field("to", to).finish(),
            ChannelKind::Webhook { url, shape } => f
                .debug_struct("Webhook")
                .field("url", &redact_url(url))
                .field("shape", shape)
                .finish(),
        }
    }
}

impl ChannelKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::Inbox => "inbox",
            ChannelKind::Email { .. } => "email",
            ChannelKind::Webhook { .. } => "webhook",
        }
    }
}

/// A daily time window in local time, in minutes after midnight; `start` is inclusive, `end`
/// exclusive. `start > end` wraps midnight (22:00–06:00). No window means "any time".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl TimeWindow {
    /// A window from `start_minute` to `end_minute`; both below 1440 and different.
    pub fn new(start_minute: u16, end_minute: u16) -> Result<TimeWindow, ConfigError> {
        let w = TimeWindow {
            start_minute,
            end_minute,
        };
        w.validate()?;
        Ok(w)
    }

    /// Parses `HH:MM-HH:MM` (e.g. `08:00-22:00`; `24:00` is accepted as an end).
    pub fn parse(s: &str) -> Result<TimeWindow, ConfigError> {
        let bad = || ConfigError::WindowSyntax(s.to_string());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let minute = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= MINUTES_PER_DAY).then_some(h * 60 + m)
        };
        let start = minute(a).filter(|&m| m < MINUTES_PER_DAY).ok_or_else(bad)?;
        let end = minute(b).ok_or_else(bad)? % MINUTES_PER_DAY;
        TimeWindow::new(start, end)
    }

    fn validate(self) -> Result<(), ConfigError> {
        if self.start_minute >= MINUTES_PER_DAY
            || self.end_minute >= MINUTES_PER_DAY
            || self.start_minute == self.end_minute
        {
            return Err(ConfigError::BadWindow {
                start_minute: self.start_minute,
                end_minute: self.end_minute,
            });
        }
        Ok(())
    }

    /// Whether the window is open at `second_of_day` (local).
    fn contains(self, second_of_day: i64) -> bool {
        let start = i64::from(self.start_minute) * 60;
        let end = i64::from(self.end_minute) * 60;
        if start < end {
            start <= second_of_day && second_of_day < end
        } else {
            second_of_day >= start || second_of_day < end
        }
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start_minute / 60,
            self.start_minute % 60,
            self.end_minute / 60,
            self.end_minute % 60
        )
    }
}

fn default_max_per_day() -> u32 {
    DEFAULT_MAX_PER_DAY
}
fn default_max_per_host_per_day() -> u32 {
    DEFAULT_MAX_PER_HOST_PER_DAY
}
fn yes() -> bool {
    true
}

/// One notification channel and what it wants to hear about (SPEC R-NT1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelConfig {
    pub id: i64,
    pub kind: ChannelKind,
    /// Alert levels that notify; at least one.
    pub levels: Vec<Level>,
    /// Alert types that notify; `None` means all.
    #[serde(default)]
    pub kinds: Option<Vec<AlertKind>>,
    /// Local time of day when notifications go out; outside it they wait for the next opening.
    #[serde(default)]
    pub window: Option<TimeWindow>,
    /// Alert notifications per local day on this channel; 0 means no limit.
    #[serde(default = "default_max_per_day")]
    pub max_per_day: u32,
    /// Alert notifications per local day and host on this channel; 0 means no limit.
    #[serde(default = "default_max_per_host_per_day")]
    pub max_per_host_per_day: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl ChannelConfig {
    /// A channel with the reference defaults: every level and type, any time, 5 a day, 1 per host.
    pub fn new(id: i64, kind: ChannelKind) -> ChannelConfig {
        ChannelConfig {
            id,
            kind,
            levels: Level::ALL.to_vec(),
            kinds: None,
            window: None,
            max_per_day: DEFAULT_MAX_PER_DAY,
            max_per_host_per_day: DEFAULT_MAX_PER_HOST_PER_DAY,
            enabled: true,
        }
    }

    /// Checks what an operator typed, so a bad setting is refused when saved instead of
    /// silently never delivering.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.levels.is_empty() {
            return Err(ConfigError::NoLevels);
        }
        if self.kinds.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::NoKinds);
        }
        if let Some(w) = self.window {
            w.validate()?;
        }
        match &self.kind {
            ChannelKind::Inbox => Ok(()),
            ChannelKind::Email { to } => {
                if to.is_empty() {
                    return Err(ConfigError::NoRecipients);
                }
                for address in to {
                    if let Err(e) = address.parse::<lettre::message::Mailbox>() {
                        return Err(ConfigError::BadRecipient {
                            address: address.clone(),
                            reason: e.to_string(),
                        });
                    }
                }
                Ok(())
            }
            ChannelKind::Webhook { url, .. } => parse_webhook_url(url)
                .map(drop)
                .map_err(ConfigError::BadUrl),
        }
    }
}

/// A channel setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("select at least one alert level")]
    NoLevels,
    #[error("select at least one alert type, or all of them")]
    NoKinds,
    #[error(
        "time window {start_minute}-{end_minute} (minutes after midnight) is invalid: both must be below 1440 and differ"
    )]
    BadWindow { start_minute: u16, end_minute: u16 },
    #[error("time window {0:?} is not HH:MM-HH:MM")]
    WindowSyntax(String),
    #[error("an email channel needs at least one recipient")]
    NoRecipients,
    #[error("recipient {address:?} is not an email address: {reason}")]
    BadRecipient { address: String, reason: String },
    #[error("bad webhook URL: {0}")]
    BadUrl(String),
}

impl ConfigError {
    /// A stable code for the API and the console.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::NoLevels => "no_levels",
            ConfigError::NoKinds => "no_kinds",
            ConfigError::BadWindow { .. } | ConfigError::WindowSyntax(_) => "bad_window",
            ConfigError::NoRecipients => "no_recipients",
            ConfigError::BadRecipient { .. } => "bad_recipient",
            ConfigError::BadUrl(_) => "bad_url",
        }
    }
}

/// Checks a webhook URL: absolute, `http` or `https`, with a host. The error says why, without
/// repeating the URL (it may hold a token).
pub fn parse_webhook_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_string());
    }
    Ok(url)
}

/// `scheme://host[:port]/…`: enough to tell webhooks apart in logs and errors, without the
/// path and query where chat tools put their secret tokens.
pub fn redact_url(s: &str) -> String {
    match Url::parse(s.trim()) {
        Ok(url) if url.host_str().is_some() => {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if url.path() == "/" && url.query().is_none() {
                "/"
            } else {
                "/…"
            };
            format!(
                "{}://{}{port}{rest}",
                url.scheme(),
                url.host_str().unwrap_or_default()
            )
        }
        _ => "<invalid URL>".to_string(),
    }
}

/// What a channel is told about one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertNotice {
    pub alert_id: i64,
    pub host_id: HostId,
    pub hostname: String,
    pub kind: AlertKind,
    pub level: Level,
    pub name: String,
    pub evidence: Vec<(String, String)>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// How many times the alert occurred.
    pub count: u64,
    /// False when this is a recurrence of an alert (same key) that already existed: repeats are
    /// aggregated, not re-sent (SPEC R-NT2, R-LG3).
    pub first_occurrence: bool,
}

/// What the caller knows of one channel's past notifications.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendHistory {
    /// Alert notifications counted on the channel in the local day being decided (see
    /// [`local_day`]), whether already sent or still queued for that day.
    pub sent_today: u32,
    /// The same, per host.
    pub sent_today_by_host: HashMap<HostId, u32>,
    /// Alerts this channel has ever notified (or queued): never notify one twice.
    pub notified_alerts: HashSet<i64>,
}

impl SendHistory {
    pub fn sent_today_for(&self, host: &HostId) -> u32 {
        self.sent_today_by_host.get(host).copied().unwrap_or(0)
    }

    /// Counts a notification that was just queued, so a batch can be decided in one pass.
    pub fn record(&mut self, notice: &AlertNotice) {
        self.sent_today += 1;
        *self
            .sent_today_by_host
            .entry(notice.host_id.clone())
            .or_insert(0) += 1;
        self.notified_alerts.insert(notice.alert_id);
    }
}

/// Why an alert does not notify on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SuppressReason {
    Disabled,
    LevelNotSelected,
    KindNotSelected,
    /// This alert was already notified on this channel.
    AlreadyNotified,
    /// A recurrence of an existing alert.
    Repeat,
    DailyLimit {
        limit: u32,
    },
    HostDailyLimit {
        limit: u32,
    },
}

impl SuppressReason {
    /// Whether the alert belongs in a digest ("N more alerts …"): it was wanted but held back by
    /// a limit or as a repeat, not filtered out by the operator's choices.
    pub fn aggregated(self) -> bool {
        matches!(
            self,
            SuppressReason::AlreadyNotified
                | SuppressReason::Repeat
                | SuppressReason::DailyLimit { .. }
                | SuppressReason::HostDailyLimit { .. }
        )
    }

    pub fn code(self) -> &'static str {
        match self {
            SuppressReason::Disabled => "disabled",
            SuppressReason::LevelNotSelected => "level_not_selected",
            SuppressReason::KindNotSelected => "kind_not_selected",
            SuppressReason::AlreadyNotified => "already_notified",
            SuppressReason::Repeat => "repeat",
            SuppressReason::DailyLimit { .. } => "daily_limit",
            SuppressReason::HostDailyLimit { .. } => "host_daily_limit",
        }
    }
}

impl fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuppressReason::Disabled => f.write_str("the channel is disabled"),
            SuppressReason::LevelNotSelected => f.write_str("the alert level is not selected"),
            SuppressReason::KindNotSelected => f.write_str("the alert type is not selected"),
            SuppressReason::AlreadyNotified => f.write_str("the alert was already notified"),
            SuppressReason::Repeat => f.write_str("a repeat of an existing alert"),
            SuppressReason::DailyLimit { limit } => {
                write!(f, "the channel's limit of {limit} a day is reached")
            }
            SuppressReason::HostDailyLimit { limit } => {
                write!(f, "the limit of {limit} a day for this host is reached")
            }
        }
    }
}

/// What to do with one alert on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Send,
    /// Outside the time window. Decide again as of `until` (the next opening) with the history
    /// of that day; a `Send` then means "queue it for `until`".
    Hold {
        until: Timestamp,
    },
    Suppress {
        reason: SuppressReason,
    },
}

/// Decides whether `alert` notifies on `channel` at `now`.
///
/// The order matters: the operator's filters first, then repeats (aggregated, R-NT2), then the
/// time window, and the daily limits last, so an alert held overnight is counted against the
/// day it will be delivered in, not the day it occurred.
pub fn decide(
    channel: &ChannelConfig,
    alert: &AlertNotice,
    history: &SendHistory,
    now: Timestamp,
    utc_offset_minutes: i32,
) -> Decision {
    let suppress = |reason| Decision::Suppress { reason };
    if !channel.enabled {
        return suppress(SuppressReason::Disabled);
    }
    if !channel.levels.contains(&alert.level) {
        return suppress(SuppressReason::LevelNotSelected);
    }
    if channel
        .kinds
        .as_ref()
        .is_some_and(|kinds| !kinds.contains(&alert.kind))
    {
        return suppress(SuppressReason::KindNotSelected);
    }
    if history.notified_alerts.contains(&alert.alert_id) {
        return suppress(SuppressReason::AlreadyNotified);
    }
    if !alert.first_occurrence {
        return suppress(SuppressReason::Repeat);
    }
    if let Some(until) = window_opening(channel.window, now, utc_offset_minutes) {
        return Decision::Hold { until };
    }
    let limit = channel.max_per_day;
    if limit != 0 && history.sent_today >= limit {
        return suppress(SuppressReason::DailyLimit { limit });
    }
    let limit = channel.max_per_host_per_day;
    if limit != 0 && history.sent_today_for(&alert.host_id) >= limit {
        return suppress(SuppressReason::HostDailyLimit { limit });
    }
    Decision::Send
}

/// The local day containing `now`, as UTC timestamps `[start, end)`: the span a
/// [`SendHistory`] counts.
pub fn local_day(now: Timestamp, utc_offset_minutes: i32) -> (Timestamp, Timestamp) {
    let offset = i64::from(utc_offset_minutes) * 60;
    let local = now + offset;
    let start = local - local.rem_euclid(DAY) - offset;
    (start, start + DAY)
}

/// `None` when the window is open at `now` (or there is none); otherwise when it next opens.
pub fn window_opening(
    window: Option<TimeWindow>,
    now: Timestamp,
    utc_offset_minutes: i32,
) -> Option<Timestamp> {
    let window = window?;
    let (day_start, _) = local_day(now, utc_offset_minutes);
    let second_of_day = now - day_start;
    if window.contains(second_of_day) {
        return None;
    }
    let opening = i64::from(window.start_minute) * 60;
    Some(if second_of_day < opening {
        day_start + opening
    } else {
        day_start + DAY + opening
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01 00:00:00 UTC.
    const MAY_1: Timestamp = 1_714_521_600;
    const CST: i32 = 8 * 60;

    /// Local time `h:m:s` on 2024-05-01 plus `day` days, at UTC offset `off` minutes.
    fn local(day: i64, h: i64, m: i64, s: i64, off: i32) -> Timestamp {
        MAY_1 + day * DAY + h * 3600 + m * 60 + s - i64::from(off) * 60
    }

    fn w(s: &str) -> Option<TimeWindow> {
        Some(TimeWindow::parse(s).unwrap())
    }

    fn notice(alert_id: i64, host: &str) -> AlertNotice {
        AlertNotice {
            alert_id,
            host_id: HostId(host.to_string()),
            hostname: host.to_string(),
            kind: AlertKind::SuspiciousAccount,
            level: Level::Urgent,
            name: "New account with uid 0: toor".to_string(),
            evidence: vec![("user".into(), "toor".into())],
            first_seen: MAY_1,
            last_seen: MAY_1,
            count: 1,
            first_occurrence: true,
        }
    }

    fn inbox() -> ChannelConfig {
        ChannelConfig::new(1, ChannelKind::Inbox)
    }

    #[test]
    fn windows() {
        // (window, local time as (day, h, m, s), offset, expected next opening as (day, h, m))
        type Case = (
            Option<TimeWindow>,
            (i64, i64, i64, i64),
            i32,
            Option<(i64, i64, i64)>,
        );
        let cases: Vec<Case> = vec![
            (None, (0, 3, 0, 0), CST, None),
            // Plain window, edges: start inclusive, end exclusive.
            (w("08:00-22:00"), (0, 0, 0, 0), CST, Some((0, 8, 0))),
            (w("08:00-22:00"), (0, 7, 59, 59), CST, Some((0, 8, 0))),
            (w("08:00-22:00"), (0, 8, 0, 0), CST, None),
            (w("08:00-22:00"), (0, 12, 0, 0), CST, None),
            (w("08:00-22:00"), (0, 21, 59, 59), CST, None),
            (w("08:00-22:00"), (0, 22, 0, 0), CST, Some((1, 8, 0))),
            (w("08:00-22:00"), (0, 23, 59, 59), CST, Some((1, 8, 0))),
            // Wrapping midnight.
            (w("22:00-06:00"), (0, 21, 59, 59), CST, Some((0, 22, 0))),
            (w("22:00-06:00"), (0, 22, 0, 0), CST, None),
            (w("22:00-06:00"), (0, 23, 59, 59), CST, None),
            (w("22:00-06:00"), (1, 0, 0, 0), CST, None),
            (w("22:00-06:00"), (1, 5, 59, 59), CST, None),
            (w("22:00-06:00"), (1, 6, 0, 0), CST, Some((1, 22, 0))),
            (w("22:00-06:00"), (1, 12, 0, 0), CST, Some((1, 22, 0))),
            // Up to the last minute; ending at midnight.
            (w("00:00-23:59"), (0, 23, 58, 59), CST, None),
            (w("00:00-23:59"), (0, 23, 59, 0), CST, Some((1, 0, 0))),
            (w("18:00-24:00"), (0, 23, 59, 59), CST, None),
            (w("18:00-24:00"), (1, 0, 0, 0), CST, Some((1, 18, 0))),
            // A one-minute window across midnight's edge.
            (w("23:59-00:00"), (0, 23, 59, 30), CST, None),
            (w("23:59-00:00"), (1, 0, 0, 0), CST, Some((1, 23, 59))),
            // Other offsets: the window is local time.
            (w("08:00-22:00"), (0, 7, 0, 0), 0, Some((0, 8, 0))),
            (w("08:00-22:00"), (0, 7, 0, 0), -300, Some((0, 8, 0))),
            (w("08:00-22:00"), (0, 22, 30, 0), -300, Some((1, 8, 0))),
            (w("08:00-22:00"), (0, 8, 0, 0), 345, None),
            (w("08:00-22:00"), (0, 7, 59, 59), 345, Some((0, 8, 0))),
        ];
        for (i, (window, (d, h, m, s), off, expected)) in cases.into_iter().enumerate() {
            let now = local(d, h, m, s, off);
            let expected = expected.map(|(d, h, m)| local(d, h, m, 0, off));
            assert_eq!(
                window_opening(window, now, off),
                expected,
                "case {i}: {window:?} at {d}d {h:02}:{m:02}:{s:02} offset {off}"
            );
            // The same through `decide`.
            let channel = ChannelConfig { window, ..inbox() };
            let decision = decide(&channel, &notice(1, "a"), &SendHistory::default(), now, off);
            let want = expected.map_or(Decision::Send, |until| Decision::Hold { until });
            assert_eq!(decision, want, "case {i}");
        }
    }

    #[test]
    fn window_syntax() {
        let ok = [
            ("08:00-22:00", (480, 1320)),
            ("22:00-06:00", (1320, 360)),
            ("00:00-24:00", (0, 0)),
            ("8:05 - 9:10", (485, 550)),
        ];
        for (s, (a, b)) in ok {
            if a == b {
                assert!(TimeWindow::parse(s).is_err(), "{s}");
                continue;
            }
            let w = TimeWindow::parse(s).unwrap();
            assert_eq!((w.start_minute, w.end_minute), (a, b), "{s}");
        }
        for bad in [
            "",
            "08:00",
            "8-22",
            "25:00-26:00",
            "08:60-09:00",
            "24:00-06:00",
            "10:00-10:00",
        ] {
            assert!(TimeWindow::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(w("08:00-22:00").unwrap().to_string(), "08:00-22:00");
        assert!(matches!(
            TimeWindow::new(0, 1440),
            Err(ConfigError::BadWindow { .. })
        ));
    }

    #[test]
    fn local_days() {
        // (offset, local time, expected local midnight)
        let cases = [
            (CST, (0, 0, 0, 0), 0),
            (CST, (0, 23, 59, 59), 0),
            (CST, (1, 0, 0, 0), 1),
            (0, (0, 12, 0, 0), 0),
            (-300, (0, 23, 0, 0), 0),
            (-300, (1, 0, 0, 1), 1),
            (345, (0, 0, 14, 0), 0),
            (-720, (-1, 23, 59, 59), -1),
        ];
        for (off, (d, h, m, s), day) in cases {
            let now = local(d, h, m, s, off);
            let start = local(day, 0, 0, 0, off);
            assert_eq!(
                local_day(now, off),
                (start, start + DAY),
                "{off} {d} {h}:{m}:{s}"
            );
        }
        // Before the epoch too.
        assert_eq!(local_day(-1, 0), (-DAY, 0));
    }

    #[test]
    fn levels_and_kinds() {
        // (levels, kinds, alert level, alert kind, expected)
        use AlertKind::*;
        use Level::*;
        let send = Decision::Send;
        let level = Decision::Suppress {
            reason: SuppressReason::LevelNotSelected,
        };
        let kind = Decision::Suppress {
            reason: SuppressReason::KindNotSelected,
        };
        type Case = (
            Vec<Level>,
            Option<Vec<AlertKind>>,
            Level,
            AlertKind,
            Decision,
        );
        let cases: Vec<Case> = vec![
            (vec![Urgent], None, Urgent, BruteForce, send),
            (vec![Urgent], None, Suspicious, BruteForce, level),
            (vec![Urgent], None, Reminder, BruteForce, level),
            (vec![Urgent, Reminder], None, Reminder, SuspiciousPort, send),
            (
                vec![Urgent, Reminder],
                None,
                Suspicious,
                SuspiciousPort,
                level,
            ),
            (Level::ALL.to_vec(), None, Reminder, ConfigurationRisk, send),
            (
                Level::ALL.to_vec(),
                Some(vec![BruteForce]),
                Urgent,
                BruteForce,
                send,
            ),
            (
                Level::ALL.to_vec(),
                Some(vec![BruteForce]),
                Urgent,
                AbnormalLogin,
                kind,
            ),
            (
                Level::ALL.to_vec(),
                Some(vec![AbnormalLogin, Webshell]),
                Suspicious,
                Webshell,
                send,
            ),
            // Level is judged before kind.
            (
                vec![Urgent],
                Some(vec![BruteForce]),
                Reminder,
                AbnormalLogin,
                level,
            ),
        ];
        for (i, (levels, kinds, alert_level, alert_kind, expected)) in cases.into_iter().enumerate()
        {
            let channel = ChannelConfig {
                levels,
                kinds,
                ..inbox()
            };
            let alert = AlertNotice {
                level: alert_level,
                kind: alert_kind,
                ..notice(1, "a")
            };
            let got = decide(&channel, &alert, &SendHistory::default(), MAY_1, CST);
            assert_eq!(got, expected, "case {i}");
        }
    }

    #[test]
    fn limits() {
        let daily = |limit| Decision::Suppress {
            reason: SuppressReason::DailyLimit { limit },
        };
        let host = |limit| Decision::Suppress {
            reason: SuppressReason::HostDailyLimit { limit },
        };
        // (max_per_day, max_per_host_per_day, sent today, sent today on host "a", on host "b", expected for host "a")
        let cases = [
            (5, 1, 0, 0, 0, Decision::Send),
            (5, 1, 4, 0, 4, Decision::Send),
            (5, 1, 5, 0, 5, daily(5)),
            (5, 1, 9, 0, 9, daily(5)),
            (5, 1, 1, 1, 0, host(1)),
            (5, 1, 3, 0, 3, Decision::Send),
            // The daily limit is judged first.
            (5, 1, 5, 1, 4, daily(5)),
            (5, 3, 2, 2, 0, Decision::Send),
            (5, 3, 3, 3, 0, host(3)),
            // 0 means no limit.
            (0, 1, 1_000, 0, 1_000, Decision::Send),
            (0, 1, 1_000, 1, 999, host(1)),
            (5, 0, 4, 4, 0, Decision::Send),
            (0, 0, 10_000, 10_000, 0, Decision::Send),
        ];
        for (i, (max_day, max_host, today, on_a, on_b, expected)) in cases.into_iter().enumerate() {
            let channel = ChannelConfig {
                max_per_day: max_day,
                max_per_host_per_day: max_host,
                ..inbox()
            };
            let mut history = SendHistory {
                sent_today: today,
                ..SendHistory::default()
            };
            for (h, n) in [("a", on_a), ("b", on_b)] {
                if n > 0 {
                    history.sent_today_by_host.insert(HostId(h.into()), n);
                }
            }
            let got = decide(&channel, &notice(7, "a"), &history, MAY_1, CST);
            assert_eq!(got, expected, "case {i}");
        }
    }

    #[test]
    fn reference_defaults_over_a_day() {
        // Seven hosts each raise two alerts: the first five hosts notify once each.
        let channel = inbox();
        let mut history = SendHistory::default();
        let mut sent = Vec::new();
        let mut suppressed = Vec::new();
        for id in 0..14 {
            let alert = notice(id, &format!("host-{}", id / 2));
            match decide(&channel, &alert, &history, MAY_1 + id * 60, CST) {
                Decision::Send => {
                    history.record(&alert);
                    sent.push(id);
                }
                Decision::Suppress { reason } => {
                    assert!(reason.aggregated());
                    suppressed.push((id, reason.code()));
                }
                Decision::Hold { .. } => panic!("no window"),
            }
        }
        assert_eq!(sent, [0, 2, 4, 6, 8]);
        assert_eq!(
            suppressed,
            [
                (1, "host_daily_limit"),
                (3, "host_daily_limit"),
                (5, "host_daily_limit"),
                (7, "host_daily_limit"),
                (9, "daily_limit"),
                (10, "daily_limit"),
                (11, "daily_limit"),
                (12, "daily_limit"),
                (13, "daily_limit"),
            ]
        );
    }

    #[test]
    fn repeats_and_precedence() {
        let notified: SendHistory = {
            let mut h = SendHistory::default();
            h.notified_alerts.insert(1);
            h
        };
        let full = SendHistory {
            sent_today: 5,
            ..SendHistory::default()
        };
        let night = local(0, 23, 0, 0, CST);
        let business = Some(TimeWindow::new(8 * 60, 22 * 60).unwrap());
        let suppress = |reason| Decision::Suppress { reason };
        let repeat = AlertNotice {
            first_occurrence: false,
            count: 2,
            ..notice(1, "a")
        };
        // (channel, alert, history, now, expected)
        let cases = [
            (
                inbox(),
                notice(1, "a"),
                SendHistory::default(),
                MAY_1,
                Decision::Send,
            ),
            (
                inbox(),
                notice(1, "a"),
                notified.clone(),
                MAY_1,
                suppress(SuppressReason::AlreadyNotified),
            ),
            (
                inbox(),
                notice(2, "a"),
                notified.clone(),
                MAY_1,
                Decision::Send,
            ),
            (
                inbox(),
                repeat.clone(),
                SendHistory::default(),
                MAY_1,
                suppress(SuppressReason::Repeat),
            ),
            (
                inbox(),
                repeat.clone(),
                notified.clone(),
                MAY_1,
                suppress(SuppressReason::AlreadyNotified),
            ),
            // Disabled beats everything.
            (
                ChannelConfig {
                    enabled: false,
                    ..inbox()
                },
                notice(1, "a"),
                SendHistory::default(),
                MAY_1,
                suppress(SuppressReason::Disabled),
            ),
            (
                ChannelConfig {
                    enabled: false,
                    levels: vec![Level::Reminder],
                    ..inbox()
                },
                repeat.clone(),
                notified.clone(),
                MAY_1,
                suppress(SuppressReason::Disabled),
            ),
            // Filters and repeats are judged before the window: nothing waits for nothing.
            (
                ChannelConfig {
                    window: business,
                    levels: vec![Level::Reminder],
                    ..inbox()
                },
                notice(1, "a"),
                SendHistory::default(),
                night,
                suppress(SuppressReason::LevelNotSelected),
            ),
            (
                ChannelConfig {
                    window: business,
                    ..inbox()
                },
                repeat,
                SendHistory::default(),
                night,
                suppress(SuppressReason::Repeat),
            ),
            // Limits are judged at delivery: a full day at 23:00 still holds for tomorrow 08:00.
            (
                ChannelConfig {
                    window: business,
                    ..inbox()
                },
                notice(1, "a"),
                full.clone(),
                night,
                Decision::Hold {
                    until: local(1, 8, 0, 0, CST),
                },
            ),
            (
                ChannelConfig {
                    window: business,
                    ..inbox()
                },
                notice(1, "a"),
                full,
                local(1, 8, 0, 0, CST),
                suppress(SuppressReason::DailyLimit { limit: 5 }),
            ),
        ];
        for (i, (channel, alert, history, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                decide(&channel, &alert, &history, now, CST),
                expected,
                "case {i}"
            );
        }
        assert!(!SuppressReason::LevelNotSelected.aggregated());
        assert!(!SuppressReason::Disabled.aggregated());
        assert!(SuppressReason::Repeat.aggregated());
    }

    #[test]
    fn validation() {
        let webhook = |url: &str| ChannelKind::Webhook {
            url: url.to_string(),
            shape: WebhookShape::DingTalk,
        };
        let email = |to: &[&str]| ChannelKind::Email {
            to: to.iter().map(|s| s.to_string()).collect(),
        };
        let ok = [
            ChannelKind::Inbox,
            email(&["ops@example.com", "Ops Team <ops2@example.com>"]),
            webhook("https://oapi.dingtalk.com/robot/send?access_token=abc"),
            webhook("http://127.0.0.1:9000/hook"),
        ];
        for kind in ok {
            assert_eq!(
                ChannelConfig::new(1, kind.clone()).validate(),
                Ok(()),
                "{kind:?}"
            );
        }
        let bad = [
            (email(&[]), "no_recipients"),
            (
                email(&["ops@example.com", "not an address"]),
                "bad_recipient",
            ),
            (webhook("ftp://x"), "bad_url"),
            (webhook("http://"), "bad_url"),
            (webhook("not a url"), "bad_url"),
            (webhook(""), "bad_url"),
            (webhook("file:///etc/passwd"), "bad_url"),
        ];
        for (kind, code) in bad {
            let err = ChannelConfig::new(1, kind.clone()).validate().unwrap_err();
            assert_eq!(err.code(), code, "{kind:?}: {err}");
        }
        let c = ChannelConfig::new(1, ChannelKind::Inbox);
        let no_levels = ChannelConfig {
            levels: vec![],
            ..c.clone()
        };
        assert_eq!(no_levels.validate(), Err(ConfigError::NoLevels));
        let no_kinds = ChannelConfig {
            kinds: Some(vec![]),
            ..c.clone()
        };
        assert_eq!(no_kinds.validate(), Err(ConfigError::NoKinds));
        let window = ChannelConfig {
            window: Some(TimeWindow {
                start_minute: 60,
                end_minute: 60,
            }),
            ..c
        };
        assert_eq!(window.validate().unwrap_err().code(), "bad_window");
    }

    #[test]
    fn urls_are_checked_and_redacted() {
        assert_eq!(
            parse_webhook_url("ftp://x").unwrap_err(),
            "the scheme must be http or https, not \"ftp\""
        );
        assert_eq!(
            parse_webhook_url("not a url").unwrap_err(),
            "not a valid URL (relative URL without a base)"
        );
        assert!(parse_webhook_url("http://").unwrap_err().contains("host"));
        assert_eq!(
            redact_url("https://oapi.dingtalk.com/robot/send?access_token=SECRET"),
            "https://oapi.dingtalk.com/…"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(redact_url("garbage"), "<invalid URL>");
        let kind = ChannelKind::Webhook {
            url: "https://hooks.slack.com/services/T0/B0/SECRET".into(),
            shape: WebhookShape::Slack,
        };
        assert!(!format!("{kind:?}").contains("SECRET"));
    }

    #[test]
    fn config_serde_defaults() {
        let c: ChannelConfig = serde_json::from_str(
            r#"{"id": 3, "kind": {"type": "webhook", "url": "https://x.example/h", "shape": "feishu"},
                "levels": ["urgent"]}"#,
        )
        .unwrap();
        assert_eq!(
            c,
            ChannelConfig {
                levels: vec![Level::Urgent],
                ..ChannelConfig::new(
                    3,
                    ChannelKind::Webhook {
                        url: "https://x.example/h".into(),
                        shape: WebhookShape::Feishu
                    }
                )
            }
        );
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["max_per_day"], 5);
        assert_eq!(back["kind"]["shape"], "feishu");
        for s in WebhookShape::ALL {
            assert_eq!(WebhookShape::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
