//! The outbox's rows and retry policy: what is queued, when it is tried again, when it gives up.
//!
//! Pure. The store persists [`OutboxItem`]s and [`Attempt`]s and claims due rows; a sender calls
//! [`crate::send::deliver`] and records the outcome here, so a restart or an unreachable mail
//! server loses nothing and every attempt stays visible.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vigil_model::Timestamp;

use crate::render::Payload;
use crate::send::SendError;

/// Attempts before a retryable failure becomes final.
pub const MAX_ATTEMPTS: u32 = 12;
/// Wait after the first failed attempt; it doubles after each further one.
pub const FIRST_BACKOFF_SECS: i64 = 30;
/// Longest wait between two attempts.
pub const MAX_BACKOFF_SECS: i64 = 3_600;

/// The wait after `attempts` failed attempts: 30 s, 1 min, 2 min, … at most 1 h.
pub fn backoff(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_BACKOFF_SECS << doublings).min(MAX_BACKOFF_SECS)
}

/// When to try again after the `attempts`-th attempt failed with `last_error` at `now`; `None`
/// to give up (a permanent error, or [`MAX_ATTEMPTS`] reached).
pub fn next_attempt(attempts: u32, last_error: &SendError, now: Timestamp) -> Option<Timestamp> {
    if !last_error.is_retryable() || attempts >= MAX_ATTEMPTS {
        return None;
    }
    Some(now + backoff(attempts))
}

/// Where a queued notification stands (stored by its name).
pub use vigil_model::OutboxState;

/// One queued notification: a row of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Assigned by the store; 0 before the row is written.
    pub id: i64,
    pub channel_id: i64,
    /// The alert notified; `None` for a digest.
    pub alert_id: Option<i64>,
    /// A [`Payload`] as JSON.
    pub payload: Value,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (the window's opening for a held notification).
    pub next_at: Timestamp,
    pub last_error: Option<String>,
    pub state: OutboxState,
    /// When it was queued.
    pub created_at: Timestamp,
}

impl OutboxItem {
    /// A new row, due at `due_at`.
    pub fn new(
        channel_id: i64,
        alert_id: Option<i64>,
        payload: &Payload,
        due_at: Timestamp,
        now: Timestamp,
    ) -> OutboxItem {
        OutboxItem {
            id: 0,
            channel_id,
            alert_id,
            payload: payload.to_value(),
            attempts: 0,
            next_at: due_at,
            last_error: None,
            state: OutboxState::Pending,
            created_at: now,
        }
    }

    pub fn payload(&self) -> Result<Payload, serde_json::Error> {
        Payload::from_value(&self.payload)
    }

    /// Whether a sender should try it at `now`.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.state == OutboxState::Pending && self.next_at <= now
    }

    /// Records a delivery.
    pub fn record_success(&mut self, now: Timestamp) -> Attempt {
        self.attempts += 1;
        self.state = OutboxState::Sent;
        self.last_error = None;
        Attempt {
            outbox_id: self.id,
            number: self.attempts,
            at: now,
            outcome: AttemptOutcome::Sent,
        }
    }

    /// Records a failure: schedules the next attempt or gives up.
    pub fn record_failure(&mut self, error: &SendError, now: Timestamp) -> Attempt {
        self.attempts += 1;
        let retry_at = next_attempt(self.attempts, error, now);
        match retry_at {
            Some(at) => self.next_at = at,
            None => self.state = OutboxState::Failed,
        }
        self.last_error = Some(error.to_string());
        Attempt {
            outbox_id: self.id,
            number: self.attempts,
            at: now,
            outcome: AttemptOutcome::Failed {
                code: error.code().to_string(),
                message: error.to_string(),
                retry_at,
            },
        }
    }
}

/// One delivery attempt, kept so the console can show every try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub outbox_id: i64,
    /// 1 for the first attempt.
    pub number: u32,
    pub at: Timestamp,
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptOutcome {
    Sent,
    Failed {
        /// [`SendError::code`].
        code: String,
        message: String,
        /// `None` when this was the last attempt.
        retry_at: Option<Timestamp>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = 1_714_521_600;

    fn unavailable() -> SendError {
        SendError::Unavailable("connection refused".into())
    }

    #[test]
    fn backoff_schedule() {
        let waits: Vec<i64> = (1..=MAX_ATTEMPTS).map(backoff).collect();
        assert_eq!(
            waits,
            [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600, 3600]
        );
        assert_eq!(backoff(0), 30);
        assert_eq!(backoff(u32::MAX), 3600);
    }

    #[test]
    fn next_attempts() {
        // (attempts made, error, expected wait or None)
        let cases = [
            (1, unavailable(), Some(30)),
            (2, unavailable(), Some(60)),
            (3, unavailable(), Some(120)),
            (7, unavailable(), Some(1920)),
            (8, unavailable(), Some(3600)),
            (11, unavailable(), Some(3600)),
            (12, unavailable(), None),
            (40, unavailable(), None),
            (1, SendError::Auth("535".into()), None),
            (1, SendError::Refused("HTTP 400".into()), None),
            (1, SendError::BadUrl("no host".into()), None),
            (1, SendError::Config("no SMTP".into()), None),
        ];
        for (attempts, error, wait) in cases {
            assert_eq!(
                next_attempt(attempts, &error, NOW),
                wait.map(|w| NOW + w),
                "{attempts} {error}"
            );
        }
    }

    #[test]
    fn an_item_through_its_life() {
        let payload = Payload::Email {
            subject: "s".into(),
            body: "b".into(),
        };
        let mut item = OutboxItem::new(3, Some(42), &payload, NOW + 100, NOW);
        assert_eq!(item.payload().unwrap(), payload);
        assert!(!item.is_due(NOW));
        assert!(item.is_due(NOW + 100));

        let a = item.record_failure(&unavailable(), NOW + 100);
        assert_eq!(a.number, 1);
        assert_eq!(
            a.outcome,
            AttemptOutcome::Failed {
                code: "unavailable".into(),
                message: "unavailable: connection refused".into(),
                retry_at: Some(NOW + 130),
            }
        );
        assert_eq!(
            (item.state, item.next_at, item.attempts),
            (OutboxState::Pending, NOW + 130, 1)
        );
        assert_eq!(
            item.last_error.as_deref(),
            Some("unavailable: connection refused")
        );

        let a = item.record_success(NOW + 130);
        assert_eq!((a.number, a.outcome), (2, AttemptOutcome::Sent));
        assert_eq!(item.state, OutboxState::Sent);
        assert_eq!(item.last_error, None);
        assert!(!item.is_due(NOW + 10_000));
    }

    #[test]
    fn gives_up_after_twelve_or_on_a_permanent_error() {
        let payload = Payload::Webhook {
            body: serde_json::json!({}),
        };
        let mut item = OutboxItem::new(1, None, &payload, NOW, NOW);
        let mut now = NOW;
        let mut attempts = Vec::new();
        while item.is_due(now) {
            attempts.push(item.record_failure(&unavailable(), now));
            now = item.next_at;
        }
        assert_eq!(attempts.len(), 12);
        assert_eq!(item.state, OutboxState::Failed);
        assert!(matches!(
            attempts.last().unwrap().outcome,
            AttemptOutcome::Failed { retry_at: None, .. }
        ));
        // The last attempt comes about five hours after the first.
        assert_eq!(attempts.last().unwrap().at - NOW, 18_210);

        let mut item = OutboxItem::new(1, None, &payload, NOW, NOW);
        item.record_failure(&SendError::Auth("535 5.7.8".into()), NOW);
        assert_eq!((item.state, item.attempts), (OutboxState::Failed, 1));
    }

    #[test]
    fn rows_serialize() {
        let item = OutboxItem::new(
            1,
            Some(2),
            &Payload::Inbox {
                title: "t".into(),
                body: "b".into(),
            },
            NOW,
            NOW,
        );
        let v = serde_json::to_value(&item).unwrap();
        assert_eq!(v["state"], "pending");
        assert_eq!(v["payload"]["type"], "inbox");
        assert_eq!(serde_json::from_value::<OutboxItem>(v).unwrap(), item);
        for s in [OutboxState::Pending, OutboxState::Sent, OutboxState::Failed] {
            assert_eq!(OutboxState::parse(s.as_str()), Some(s));
        }
    }
}
