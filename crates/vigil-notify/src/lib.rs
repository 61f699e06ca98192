//! Vigil's notifications (SPEC R-NT1, R-NT2): which channel hears of which alert and when, what
//! the message says, how it is sent, and how failed sends are retried.
//!
//! * [`policy`]: channel settings and the pure [`decide`] (send, hold until the time window
//!   opens, or suppress: filters, daily limits, repeats).
//! * [`render`]: pure message bodies for email, the inbox, generic JSON, DingTalk, Slack, Feishu,
//!   and digests of what was suppressed.
//! * [`send`]: the IO edge, SMTP through lettre and webhooks through reqwest, failures classified
//!   into [`SendError`].
//! * [`outbox`]: the pure retry policy and the outbox row types the store persists.

#![forbid(unsafe_code)]

pub mod outbox;
pub mod policy;
pub mod render;
pub mod send;

pub use outbox::{next_attempt, Attempt, AttemptOutcome, OutboxItem, OutboxState};
pub use policy::{
    decide, local_day, window_opening, AlertNotice, ChannelConfig, ChannelKind, ConfigError,
    Decision, SendHistory, SuppressReason, TimeWindow, WebhookShape,
};
pub use render::{DigestNotice, Payload, RenderOptions, TextMessage};
pub use send::{
    deliver, send_email, send_webhook, webhook_client, SendError, SmtpConfig, SmtpTls, Transports,
};
