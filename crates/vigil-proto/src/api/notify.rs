//! Bodies of `/api/v1/notify…` and `/api/v1/inbox…`: channels, SMTP and time settings, the
//! outbox and the console's inbox.

use serde::{Deserialize, Serialize};
use vigil_model::{OutboxState, Timestamp};
use vigil_notify::outbox::AttemptOutcome;
use vigil_notify::{ChannelConfig, SmtpConfig};

/// One notification channel; a webhook's secret path and query are hidden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    pub config: ChannelConfig,
}

/// `GET /api/v1/notify/channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
}

/// `POST /api/v1/notify/channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateChannel {
    pub name: String,
    pub config: ChannelConfig,
}

/// `PUT /api/v1/notify/settings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotifySettings {
    /// Local time of the operators, for time windows and daily limits.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// Left as it is when absent.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
}

/// The SMTP settings as the API shows them: the password never, only whether one is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmtpView {
    /// `password` is always null here.
    #[serde(flatten)]
    pub config: SmtpConfig,
    pub password_set: bool,
}

/// `GET /api/v1/notify/settings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifySettingsView {
    pub utc_offset_minutes: i32,
    pub smtp: Option<SmtpView>,
}

/// One try to deliver an outbox item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxAttemptView {
    pub number: i64,
    pub at: Timestamp,
    /// `None` when the stored outcome could not be read.
    pub outcome: Option<AttemptOutcome>,
}

/// One notification waiting, sent or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItemView {
    pub id: i64,
    pub channel_id: i64,
    pub host_id: String,
    pub alert_id: Option<i64>,
    pub state: OutboxState,
    pub next_at: Timestamp,
    pub created_at: Timestamp,
    pub attempts: Vec<OutboxAttemptView>,
}

/// `GET /api/v1/notify/outbox`: the newest 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxList {
    pub items: Vec<OutboxItemView>,
}

/// One message in the console's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxMessageView {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub host_id: String,
    pub title: String,
    pub body: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// `GET /api/v1/inbox`: the newest 200 and how many are unread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub messages: Vec<InboxMessageView>,
    pub unread: usize,
}
