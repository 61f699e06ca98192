//! Guards on console sign-in: password hashing is bounded (a crowd of wrong passwords queues
//! instead of eating memory), a source with repeated failures is refused for a while, a user
//! name under attack is slowed down (never locked, so an attacker cannot lock the operator
//! out), and an unknown user costs the same hash as a known one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Failures are counted over this many seconds.
pub const SPAN_SECS: i64 = 15 * 60;
/// A source with this many failures within the span is refused for [`SOURCE_LOCK_SECS`].
pub const SOURCE_MAX_FAILURES: u32 = 10;
pub const SOURCE_LOCK_SECS: i64 = 15 * 60;
/// After this many failures for one user name within the span (from anywhere), each further
/// try waits 1, 2, 4 … seconds, at most [`USER_MAX_DELAY`].
pub const USER_FREE_FAILURES: u32 = 5;
pub const USER_MAX_DELAY: Duration = Duration::from_secs(30);
/// Entries kept at most per table; the oldest go first.
const MAX_ENTRIES: usize = 50_000;
/// How long a sign-in waits for a hashing slot before it is told the server is busy.
const HASH_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    count: u32,
    first: i64,
    locked_until: i64,
}

impl Window {
    fn current(&self, now: i64) -> u32 {
        if now - self.first > SPAN_SECS {
            0
        } else {
            self.count
        }
    }
}

#[derive(Default)]
struct Tables {
    sources: HashMap<IpAddr, Window>,
    users: HashMap<String, Window>,
}

/// What a sign-in must do before its password is checked.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    /// Go on, after waiting this long.
    Proceed(Duration),
    /// Refused: the source is locked for this many more seconds.
    Locked(i64),
}

type Job = Box<dyn FnOnce() + Send>;

pub struct SignIns {
    slots: usize,
    /// Sign-ins waiting for or holding a hashing thread.
    hashing: Semaphore,
    /// The hashing threads, started at the first sign-in. Always the same few threads: an
    /// argon2 run takes 19 MiB, and the allocator keeps that per thread that ever ran one.
    workers: OnceLock<Mutex<mpsc::Sender<Job>>>,
    tables: Mutex<Tables>,
    dummy: OnceLock<String>,
}

impl Default for SignIns {
    fn default() -> SignIns {
        let slots = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
        SignIns {
            slots,
            hashing: Semaphore::new(slots),
            workers: OnceLock::new(),
            tables: Mutex::new(Tables::default()),
            dummy: OnceLock::new(),
        }
    }
}

impl SignIns {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn gate(&self, source: Option<IpAddr>, user: &str, now: i64) -> Gate {
        let t = self.tables();
        if let Some(w) = source.and_then(|ip| t.sources.get(&ip)) {
            if w.locked_until > now {
                return Gate::Locked(w.locked_until - now);
            }
        }
        let n = t.users.get(user).map_or(0, |w| w.current(now));
        if n < USER_FREE_FAILURES {
            return Gate::Proceed(Duration::ZERO);
        }
        let secs = 1u64 << (n - USER_FREE_FAILURES).min(5);
        Gate::Proceed(Duration::from_secs(secs).min(USER_MAX_DELAY))
    }

    pub fn failed(&self, source: Option<IpAddr>, user: &str, now: i64) {
        let mut t = self.tables();
        if let Some(ip) = source {
            let w = bump(&mut t.sources, ip, now);
            if w.count >= SOURCE_MAX_FAILURES {
                w.locked_until = now + SOURCE_LOCK_SECS;
                tracing::warn!(source = %ip, failures = w.count, "sign-ins from this source refused for 15 minutes");
            }
        }
        // Only names of a sane size are remembered; the rest share one entry.
        let key = if user.len() <= 64 { user } else { "" };
        bump(&mut t.users, key.to_string(), now);
    }

    pub fn succeeded(&self, source: Option<IpAddr>, user: &str) {
        let mut t = self.tables();
        if let Some(ip) = source {
            t.sources.remove(&ip);
        }
        t.users.remove(user);
    }

    fn workers(&self) -> &Mutex<mpsc::Sender<Job>> {
        self.workers.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for i in 0..self.slots {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("vigil-hash-{i}"))
                    .spawn(move || loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start a password hashing thread");
                }
            }
            Mutex::new(tx)
        })
    }

    /// Runs `check` (a password hash) on one of the hashing threads once one is free; `None`
    /// when none freed up in time.
    pub async fn hash<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let _slot = tokio::time::timeout(HASH_WAIT, self.hashing.acquire())
            .await
            .ok()?
            .ok()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(check());
        });
        self.workers()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .ok()?;
        rx.await.ok()
    }

    /// The hash an unknown user's password is checked against, so it costs the same time.
    pub fn dummy_hash(&self) -> &str {
        self.dummy
            .get_or_init(|| crate::admin::hash_password(&crate::admin::random_secret(24)))
    }
}

fn bump<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Window>,
    key: K,
    now: i64,
) -> &mut Window {
    if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
        map.retain(|_, w| now - w.first <= SPAN_SECS || w.locked_until > now);
        if map.len() >= MAX_ENTRIES {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, w)| w.first)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
    }
    let w = map.entry(key).or_default();
    if now - w.first > SPAN_SECS {
        *w = Window {
            count: 0,
            first: now,
            locked_until: w.locked_until,
        };
    }
    w.count += 1;
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_locked_after_ten_failures_and_a_user_only_slowed() {
        let s = SignIns::default();
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        for i in 0..9 {
            s.failed(Some(a), "admin", 100 + i);
        }
        assert_eq!(s.gate(Some(a), "other", 110), Gate::Proceed(Duration::ZERO));
        s.failed(Some(a), "admin", 110);
        assert_eq!(
            s.gate(Some(a), "other", 111),
            Gate::Locked(SOURCE_LOCK_SECS - 1)
        );
        assert!(matches!(
            s.gate(Some(a), "other", 110 + SOURCE_LOCK_SECS),
            Gate::Proceed(_)
        ));
        // Ten failures for "admin": another source waits 32 s capped to 30, but is not locked.
        assert_eq!(s.gate(Some(b), "admin", 111), Gate::Proceed(USER_MAX_DELAY));
        assert_eq!(
            s.gate(Some(b), "admin", 111 + SPAN_SECS),
            Gate::Proceed(Duration::ZERO)
        );
        s.succeeded(Some(b), "admin");
        assert_eq!(s.gate(Some(b), "admin", 112), Gate::Proceed(Duration::ZERO));
    }

    #[test]
    fn the_delay_grows_from_the_sixth_failure() {
        let s = SignIns::default();
        for i in 0..5 {
            assert_eq!(s.gate(None, "u", i), Gate::Proceed(Duration::ZERO));
            s.failed(None, "u", i);
        }
        assert_eq!(s.gate(None, "u", 6), Gate::Proceed(Duration::from_secs(1)));
        s.failed(None, "u", 6);
        assert_eq!(s.gate(None, "u", 7), Gate::Proceed(Duration::from_secs(2)));
    }

    #[test]
    fn tables_stay_bounded() {
        let s = SignIns::default();
        for i in 0..(MAX_ENTRIES as u32 + 10) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            s.failed(Some(ip), "x", 1);
        }
        assert!(s.tables().sources.len() <= MAX_ENTRIES);
    }
}
