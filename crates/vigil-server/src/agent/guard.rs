//! Bounds on what an enrolled agent may send: no signed request accepted twice (a cache of the
//! signatures seen within the clock-skew window), events per batch and bytes per event capped,
//! and a per-host rate of events, reported when hit.

use std::collections::HashMap;
use std::sync::Mutex;
use vigil_model::Event;
use vigil_proto::agent::MAX_BATCH_EVENTS;

/// A single event, as JSON, may not be larger than this.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Events one host may send per minute on average; bursts up to [`QUOTA_BURST`].
pub const QUOTA_PER_MINUTE: f64 = 60_000.0;
pub const QUOTA_BURST: f64 = 120_000.0;
/// Signatures are remembered this long: the window in which a signed request's time passes.
const REPLAY_WINDOW_SECS: i64 = 2 * vigil_proto::auth::MAX_SKEW_SECS;

/// Remembers the signatures seen recently.
#[derive(Default)]
pub struct Replays {
    seen: Mutex<HashMap<[u8; 16], i64>>,
}

impl Replays {
    /// True the first time `signature` is seen within the window; false for a replay.
    pub fn first_time(&self, signature: &str, now: i64) -> bool {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(signature.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= 100_000 && seen.len().is_power_of_two() {
            seen.retain(|_, t| now - *t <= REPLAY_WINDOW_SECS);
        }
        match seen.get(&key) {
            Some(t) if now - *t <= REPLAY_WINDOW_SECS => false,
            _ => {
                seen.insert(key, now);
                true
            }
        }
    }
}

/// Per-host token buckets of events.
#[derive(Default)]
pub struct Quota {
    buckets: Mutex<HashMap<String, (f64, f64, i64)>>,
}

impl Quota {
    /// Takes `n` events from `host`'s bucket at time `now` (seconds, fractional); `Err` with
    /// the seconds until they would fit when the bucket is short.
    pub fn take(&self, host: &str, n: usize, now: f64) -> Result<(), u64> {
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let entry = b.entry(host.to_string()).or_insert((QUOTA_BURST, now, 0));
        let (tokens, last, _) = entry;
        *tokens = (*tokens + (now - *last) * QUOTA_PER_MINUTE / 60.0).min(QUOTA_BURST);
        *last = now;
        let n = n as f64;
        if *tokens >= n {
            *tokens -= n;
            return Ok(());
        }
        entry.2 += 1;
        let wait = (n - entry.0) * 60.0 / QUOTA_PER_MINUTE;
        Err(wait.ceil().max(1.0) as u64)
    }

    /// How many batches of `host` were refused for the quota since the server started.
    pub fn refusals(&self, host: &str) -> i64 {
        let b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        b.get(host).map_or(0, |e| e.2)
    }
}

/// Why a batch is refused, if it is: too many events, or an event too large.
pub fn check_batch(events: &[Event]) -> Result<(), String> {
    if events.len() > MAX_BATCH_EVENTS {
        return Err(format!(
            "{} events in one batch; at most {MAX_BATCH_EVENTS}",
            events.len()
        ));
    }
    for (i, e) in events.iter().enumerate() {
        let size = serde_json::to_vec(&e.body).map_or(usize::MAX, |v| v.len());
        if size > MAX_EVENT_BYTES {
            return Err(format!(
                "event {i} ({}) is {size} bytes; at most {MAX_EVENT_BYTES}",
                e.body.kind()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_passes_once_within_the_window() {
        let r = Replays::default();
        assert!(r.first_time("sig-a", 1000));
        assert!(!r.first_time("sig-a", 1100));
        assert!(r.first_time("sig-b", 1100));
        assert!(r.first_time("sig-a", 1001 + REPLAY_WINDOW_SECS));
    }

    #[test]
    fn the_quota_refills_and_counts_refusals() {
        let q = Quota::default();
        assert!(q.take("h", QUOTA_BURST as usize, 0.0).is_ok());
        let wait = q.take("h", 1000, 0.0).unwrap_err();
        assert_eq!(wait, 1);
        assert_eq!(q.refusals("h"), 1);
        assert!(q.take("h", 1000, 1.0).is_ok());
        assert!(q.take("other", 10, 0.0).is_ok());
        assert!(q.take("h", 60_000, 2.0).is_err());
        assert!(q.take("h", 60_000, 62.0).is_ok());
    }

    #[test]
    fn batches_are_bounded_in_count_and_event_size() {
        let small = Event {
            time: 1,
            body: vigil_model::EventBody::PortClosed {
                socket: Default::default(),
            },
        };
        assert!(check_batch(&vec![small.clone(); MAX_BATCH_EVENTS]).is_ok());
        assert!(check_batch(&vec![small; MAX_BATCH_EVENTS + 1]).is_err());
        let big = Event {
            time: 1,
            body: vigil_model::EventBody::PortOpened {
                socket: vigil_model::ListeningSocket {
                    process: "p".repeat(MAX_EVENT_BYTES),
                    ..Default::default()
                },
            },
        };
        assert!(check_batch(&[big]).unwrap_err().contains("port_opened"));
    }
}
