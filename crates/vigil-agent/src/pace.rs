//! Keeping background work (the weak-password scan, the file scan) to a share of one core: the
//! work reports how long it was busy, and the pacer sleeps in proportion once a stretch is long
//! enough to be worth a sleep.

use std::time::Duration;

/// Busy time gathered before a sleep (shorter sleeps cost more than they save).
const STRETCH: Duration = Duration::from_millis(20);

#[derive(Debug)]
pub struct Pacer {
    share: f64,
    busy: Duration,
}

impl Pacer {
    /// At most `share` (0–1] of one core; 1 never sleeps.
    pub fn new(share: f64) -> Pacer {
        Pacer {
            share: share.clamp(0.001, 1.0),
            busy: Duration::ZERO,
        }
    }

    /// Records `spent` busy; after a stretch, sleeps `busy × (1 − share) / share`, but never
    /// longer than `at_most` (the time left to the work's own limit).
    pub fn spent(&mut self, spent: Duration, at_most: Duration) {
        self.busy += spent;
        if self.busy >= STRETCH && self.share < 1.0 {
            let rest = self.busy.mul_f64((1.0 - self.share) / self.share);
            std::thread::sleep(rest.min(at_most));
            self.busy = Duration::ZERO;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn sleeps_in_proportion_and_never_past_the_limit() {
        let mut p = Pacer::new(0.5);
        let t = Instant::now();
        p.spent(Duration::from_millis(10), Duration::MAX);
        assert!(
            t.elapsed() < Duration::from_millis(10),
            "no sleep before a stretch"
        );
        p.spent(Duration::from_millis(30), Duration::MAX);
        assert!(
            t.elapsed() >= Duration::from_millis(40),
            "slept the busy time at 50 %"
        );
        let t = Instant::now();
        let mut p = Pacer::new(0.01);
        p.spent(Duration::from_millis(50), Duration::from_millis(5));
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "capped by the limit"
        );
        let t = Instant::now();
        Pacer::new(1.0).spent(Duration::from_secs(5), Duration::MAX);
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "a whole core never sleeps"
        );
    }
}
