//! Brute-force defense (SPEC R-LG7, R-LG9): failed logins counted per source address in a
//! sliding window; a source over the rule's limit is blocked and raises an alert. A slower
//! attack (password spraying across many accounts, or a trickle of failures over a day) raises an
//! alert without a block.
//!
//! # Decisions
//!
//! * **Fast rule.** More than `max_failures` failures (the rule is "more than": 80 failures do
//!   not trigger the default rule, 81 do) from one source, over the rule's protocols, within
//!   `span_mins` minutes. The window is the half-open interval `(t - span, t]` of *log* time
//!   `t` of the newest failure, so failures exactly one span apart do not sum. On crossing, the
//!   source is blocked for the rule's duration from `now` (the engine blocks in real time even
//!   when logs arrive late) and its count starts afresh. While a block is active the source's
//!   failures are not counted and it is not blocked again; after the block expires it must cross
//!   the limit anew.
//! * **Who is never blocked.** Sources the [`AccessWhitelist`] covers, and loopback (blocking
//!   it would cut the host off from itself). They still raise the alert, with an `action` saying
//!   why nothing was blocked, so the console shows the attack; the alert whitelist silences it.
//!   **Private sources are blocked** like public ones: a brute force from inside the network is
//!   lateral movement, not an exemption. A disabled rule (`enabled = false`) turns the defense
//!   off, not the detection: it still alerts and never blocks.
//! * **Successful brute force.** A successful login from a source that crossed the limit in the
//!   last 24 hours, or that has at least `max_failures` failures in the current window (the
//!   attacker may have guessed right just before the limit), raises the source's alert again as
//!   **urgent** and makes [`BruteForce::success_after_bruteforce`] true for the abnormal-login
//!   model. Successes are judged on every protocol, failures only on the rule's.
//! * **Slow brute force / password spray** ([`SprayRule`]): one source failing for at least
//!   `distinct_users` different accounts within an hour, or at least `slow_failures` failures
//!   within 24 hours while staying under the fast limit. A *suspicious* alert, no block (spraying
//!   is slow by design and often comes from shared addresses), re-raised at most once an hour.
//!   Its evidence must outlast one fast window (oldest to newest failure longer than
//!   `span_mins`): an attack fast enough for the fast rule is left to it, so a bot running a
//!   dictionary of accounts is blocked at the limit rather than first reported as a spray. It is
//!   not raised for a source that crossed the fast limit in the last 24 hours.
//!
//! Sources that are not addresses (host names, local logins) are passed over: there is nothing
//! to block. Alert keys are stable per source (`brute_force:<ip>`, `slow_brute_force:<ip>`), so
//! a repeat updates the stored alert; every alert carries `source_ip`, the whitelist key of its
//! kind.
//!
//! # Memory
//!
//! At most `max_sources` sources are tracked (default 100,000); when full, the ones whose last
//! failure is oldest are evicted, one percent at a time. Per source at most
//! `max(max_failures + 1, slow_failures)` failure times and a few account names are kept, and
//! sources quiet for 24 hours are forgotten unless a block on them is still running. About 1 KiB
//! a source with the defaults, so about 100 MiB at the cap.

use crate::error::Error;
use crate::ip::{self, Cidr};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use vigil_model::{AlertKind, Level, LoginEvent, LoginOutcome, LoginProtocol, NewAlert, Timestamp};

/// Window lengths the fast rule offers, in minutes.
pub const SPAN_CHOICES: [u32; 5] = [1, 2, 5, 10, 15];
/// Failure limits the fast rule offers.
pub const FAILURE_CHOICES: [u32; 8] = [2, 3, 4, 5, 10, 50, 80, 100];
/// Block durations the fast rule offers, in minutes (besides permanent).
pub const BLOCK_CHOICES_MINS: [u32; 9] = [5, 15, 30, 60, 120, 360, 720, 1440, 10080];
/// Protocols the fast rule can watch: local logins have no source to block.
pub const PROTOCOL_CHOICES: [LoginProtocol; 3] =
    [LoginProtocol::Ssh, LoginProtocol::Ftp, LoginProtocol::Mysql];
/// Sources tracked at most, by default.
pub const DEFAULT_MAX_SOURCES: usize = 100_000;
/// How long after crossing the limit a successful login counts as a successful brute force.
pub const SUCCESS_AFTER_SECS: i64 = 86_400;
/// The spray detector's window for distinct accounts.
pub const SPRAY_USERS_WINDOW_SECS: i64 = 3_600;
/// The slow detector's window for failures.
pub const SLOW_WINDOW_SECS: i64 = 86_400;

const SPRAY_REALERT_SECS: i64 = 3_600;
const PRUNE_EVERY_SECS: i64 = 300;
const MAX_USER_LEN: usize = 64;
const USERS_IN_EVIDENCE: usize = 10;

fn not_allowed(field: &'static str, value: u64, allowed: &'static str) -> Error {
    Error::NotAllowed {
        rule: "brute-force rule",
        field,
        value,
        allowed,
    }
}

/// How long a triggered rule blocks the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum BlockDuration {
    /// One of [`BLOCK_CHOICES_MINS`]; [`BruteForceRule::new`] refuses others.
    Minutes(u32),
    Permanent,
}

impl BlockDuration {
    /// A block of `minutes`, which must be one of [`BLOCK_CHOICES_MINS`].
    pub fn minutes(minutes: u32) -> Result<BlockDuration, Error> {
        let d = BlockDuration::Minutes(minutes);
        d.validate()?;
        Ok(d)
    }

    fn validate(self) -> Result<(), Error> {
        match self {
            BlockDuration::Minutes(m) if !BLOCK_CHOICES_MINS.contains(&m) => Err(not_allowed(
                "block minutes",
                m.into(),
                "5, 15, 30, 60, 120, 360, 720, 1440, 10080 or permanent",
            )),
            _ => Ok(()),
        }
    }

    /// When a block starting at `now` ends; `None` for a permanent block.
    pub fn until(self, now: Timestamp) -> Option<Timestamp> {
        match self {
            BlockDuration::Minutes(m) => Some(now.saturating_add(i64::from(m) * 60)),
            BlockDuration::Permanent => None,
        }
    }
}

/// The brute-force defense rule of one server (SPEC R-LG7 and §10): its choices are the fixed
/// sets the console offers, so the fields are private and [`BruteForceRule::new`] checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "serde_impl::RawRule")
)]
pub struct BruteForceRule {
    span_mins: u32,
    max_failures: u32,
    block: BlockDuration,
    protocols: BTreeSet<LoginProtocol>,
    enabled: bool,
}

impl Default for BruteForceRule {
    /// More than 80 failures in 10 minutes blocks for 6 hours, over SSH, FTP and MySQL.
    fn default() -> Self {
        BruteForceRule {
            span_mins: 10,
            max_failures: 80,
            block: BlockDuration::Minutes(360),
            protocols: BTreeSet::from(PROTOCOL_CHOICES),
            enabled: true,
        }
    }
}

impl BruteForceRule {
    /// A rule, or the first setting outside the allowed choices. `protocols` must name at least
    /// one of SSH, FTP and MySQL; local logins have no source to block.
    pub fn new(
        span_mins: u32,
        max_failures: u32,
        block: BlockDuration,
        protocols: impl IntoIterator<Item = LoginProtocol>,
        enabled: bool,
    ) -> Result<BruteForceRule, Error> {
        if !SPAN_CHOICES.contains(&span_mins) {
            return Err(not_allowed(
                "span minutes",
                span_mins.into(),
                "1, 2, 5, 10, 15",
            ));
        }
        if !FAILURE_CHOICES.contains(&max_failures) {
            return Err(not_allowed(
                "max failures",
                max_failures.into(),
                "2, 3, 4, 5, 10, 50, 80, 100",
            ));
        }
        block.validate()?;
        let protocols: BTreeSet<LoginProtocol> = protocols.into_iter().collect();
        if let Some(p) = protocols.iter().find(|p| **p == LoginProtocol::Local) {
            return Err(Error::UnblockableProtocol {
                protocol: p.as_str(),
            });
        }
        if protocols.is_empty() {
            return Err(Error::NoProtocol);
        }
        Ok(BruteForceRule {
            span_mins,
            max_failures,
            block,
            protocols,
            enabled,
        })
    }

    pub fn span_mins(&self) -> u32 {
        self.span_mins
    }
    pub fn max_failures(&self) -> u32 {
        self.max_failures
    }
    pub fn block(&self) -> BlockDuration {
        self.block
    }
    pub fn protocols(&self) -> &BTreeSet<LoginProtocol> {
        &self.protocols
    }
    /// False when the defense is off: the engine still detects and alerts, but never blocks.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    fn span_secs(&self) -> i64 {
        i64::from(self.span_mins) * 60
    }
}

/// The slow brute-force / password-spray detector's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "serde_impl::RawSpray")
)]
pub struct SprayRule {
    distinct_users: u32,
    slow_failures: u32,
}

impl Default for SprayRule {
    /// 10 distinct accounts within an hour, or 30 failures within 24 hours.
    fn default() -> Self {
        SprayRule {
            distinct_users: 10,
            slow_failures: 30,
        }
    }
}

impl SprayRule {
    /// Limits between 2 and 1,000 accounts and between 2 and 10,000 failures (bounds that keep
    /// per-source memory small).
    pub fn new(distinct_users: u32, slow_failures: u32) -> Result<SprayRule, Error> {
        if !(2..=1_000).contains(&distinct_users) {
            return Err(Error::NotAllowed {
                rule: "password-spray rule",
                field: "distinct users",
                value: distinct_users.into(),
                allowed: "2 to 1000",
            });
        }
        if !(2..=10_000).contains(&slow_failures) {
            return Err(Error::NotAllowed {
                rule: "password-spray rule",
                field: "slow failures",
                value: slow_failures.into(),
                allowed: "2 to 10000",
            });
        }
        Ok(SprayRule {
            distinct_users,
            slow_failures,
        })
    }
    pub fn distinct_users(&self) -> u32 {
        self.distinct_users
    }
    pub fn slow_failures(&self) -> u32 {
        self.slow_failures
    }
}

/// Networks never blocked on this host (SPEC R-LG9), so an administrator who mistyped a
/// password can still get in. The server also puts the host's approved login IPs here: the
/// reference product exempts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccessWhitelist(pub Vec<Cidr>);

impl AccessWhitelist {
    pub fn covers(&self, ip: IpAddr) -> bool {
        ip::any_contains(&self.0, ip)
    }
}

/// Everything the engine is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BruteForceConfig {
    pub rule: BruteForceRule,
    pub whitelist: AccessWhitelist,
    /// `None` turns the slow / spray detector off.
    pub spray: Option<SprayRule>,
    /// Sources tracked at most; at least 1 is used.
    pub max_sources: usize,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            rule: BruteForceRule::default(),
            whitelist: AccessWhitelist::default(),
            spray: Some(SprayRule::default()),
            max_sources: DEFAULT_MAX_SOURCES,
        }
    }
}

/// A block to put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub ip: IpAddr,
    /// When the block ends; `None` for a permanent block.
    pub until: Option<Timestamp>,
    /// Failures in the window that crossed the limit.
    pub failures: u32,
    /// Accounts tried in that window, oldest first (at most the few most recent).
    pub users: Vec<String>,
    /// Log times of the first and last failure of the window.
    pub first: Timestamp,
    pub last: Timestamp,
    /// The protocol of the failure that crossed the limit.
    pub protocol: LoginProtocol,
}

/// What the engine asks its caller to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Block the source and raise (or update) its brute-force alert.
    Block { block: Block, alert: NewAlert },
    /// Raise (or update) an alert; nothing to block.
    Alert(NewAlert),
}

impl Decision {
    pub fn alert(&self) -> &NewAlert {
        match self {
            Decision::Block { alert, .. } | Decision::Alert(alert) => alert,
        }
    }
    pub fn block(&self) -> Option<&Block> {
        match self {
            Decision::Block { block, .. } => Some(block),
            Decision::Alert(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
enum BlockState {
    None,
    Until(Timestamp),
    Permanent,
}

impl BlockState {
    fn active(self, now: Timestamp) -> bool {
        match self {
            BlockState::None => false,
            BlockState::Until(t) => t > now,
            BlockState::Permanent => true,
        }
    }
}

/// What is remembered of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Source {
    /// Log times of the most recent failures, oldest first.
    failures: VecDeque<Timestamp>,
    /// Distinct accounts tried, with the log time of their latest failure.
    users: Vec<(String, Timestamp)>,
    /// Log time of the newest failure (eviction and pruning order).
    last_seen: Timestamp,
    /// Log time of the failure that last crossed the fast limit.
    crossed_at: Option<Timestamp>,
    blocked: BlockState,
    /// Log time of the last slow / spray alert.
    spray_alerted: Option<Timestamp>,
}

impl Source {
    fn new(time: Timestamp) -> Source {
        Source {
            failures: VecDeque::new(),
            users: Vec::new(),
            last_seen: time,
            crossed_at: None,
            blocked: BlockState::None,
            spray_alerted: None,
        }
    }

    fn add_failure(&mut self, time: Timestamp, keep: usize) {
        let at = self.failures.partition_point(|&t| t <= time);
        self.failures.insert(at, time);
        while self.failures.len() > keep {
            self.failures.pop_front();
        }
    }

    fn note_user(&mut self, user: &str, time: Timestamp, keep: usize) {
        if user.is_empty() {
            return;
        }
        let user = truncate(user, MAX_USER_LEN);
        match self.users.iter_mut().find(|(u, _)| u == user) {
            Some((_, t)) => *t = (*t).max(time),
            None => self.users.push((user.to_string(), time)),
        }
        if self.users.len() > keep {
            if let Some(oldest) = (0..self.users.len()).min_by_key(|&i| self.users[i].1) {
                self.users.swap_remove(oldest);
            }
        }
    }

    /// Failures with a log time after `since`.
    fn failures_after(&self, since: Timestamp) -> usize {
        self.failures.len() - self.failures.partition_point(|&t| t <= since)
    }

    /// Accounts whose latest failure is after `since`, with that time, oldest first.
    fn users_after(&self, since: Timestamp) -> Vec<(String, Timestamp)> {
        let mut users: Vec<(String, Timestamp)> = self
            .users
            .iter()
            .filter(|(_, t)| *t > since)
            .cloned()
            .collect();
        users.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        users
    }

    fn worth_keeping(&self, now: Timestamp) -> bool {
        self.blocked.active(now) || self.last_seen > now.saturating_sub(SUCCESS_AFTER_SECS)
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The brute-force engine of one server: configuration plus per-source state.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BruteForce {
    config: BruteForceConfig,
    sources: HashMap<IpAddr, Source>,
    last_prune: Option<Timestamp>,
}

impl BruteForce {
    pub fn new(config: BruteForceConfig) -> BruteForce {
        BruteForce {
            config,
            sources: HashMap::new(),
            last_prune: None,
        }
    }

    pub fn config(&self) -> &BruteForceConfig {
        &self.config
    }

    /// Replaces the configuration, keeping what was learned of each source (running blocks
    /// stay; the new limits apply from the next failure).
    pub fn set_config(&mut self, config: BruteForceConfig) {
        self.config = config;
    }

    /// Feeds one login event; returns what to block and which alerts to raise.
    pub fn observe(&mut self, ev: &LoginEvent, now: Timestamp) -> Vec<Decision> {
        if self
            .last_prune
            .is_none_or(|t| now.saturating_sub(t) >= PRUNE_EVERY_SECS)
        {
            self.prune(now);
        }
        let Some(ip) = ev.source.as_deref().and_then(ip::parse_source) else {
            return Vec::new();
        };
        if ip.is_unspecified() {
            return Vec::new();
        }
        match ev.outcome {
            LoginOutcome::Failure => self.failure(ip, ev, now).into_iter().collect(),
            LoginOutcome::Success => {
                if !self.success_after_bruteforce(ev) {
                    return Vec::new();
                }
                vec![Decision::Alert(self.success_alert(ip, ev))]
            }
        }
    }

    /// True when `ev` is a successful login from a source that crossed the limit in the 24 hours
    /// before it, or that has at least `max_failures` failures in the window ending at it.
    /// The abnormal-login model raises its urgent "login after a successful brute force" from
    /// this; the answer does not depend on whether [`BruteForce::observe`] saw `ev` yet.
    pub fn success_after_bruteforce(&self, ev: &LoginEvent) -> bool {
        if ev.outcome != LoginOutcome::Success {
            return false;
        }
        let Some(src) = ev
            .source
            .as_deref()
            .and_then(ip::parse_source)
            .and_then(|ip| self.sources.get(&ip))
        else {
            return false;
        };
        let rule = &self.config.rule;
        let crossed = src
            .crossed_at
            .is_some_and(|c| (0..=SUCCESS_AFTER_SECS).contains(&ev.time.saturating_sub(c)));
        let before = src.failures_after(ev.time.saturating_sub(rule.span_secs()))
            - src.failures_after(ev.time);
        crossed || before >= rule.max_failures as usize
    }

    /// Forgets a block (an operator disabled the policy, SPEC R-LG8) so the source can be
    /// blocked again when it next crosses the limit. Its failures start afresh.
    pub fn unblock(&mut self, ip: IpAddr) {
        if let Some(src) = self.sources.get_mut(&ip.to_canonical()) {
            src.blocked = BlockState::None;
            src.failures.clear();
        }
    }

    /// True while a block this engine decided on `ip` runs.
    pub fn is_blocked(&self, ip: IpAddr, now: Timestamp) -> bool {
        self.sources
            .get(&ip.to_canonical())
            .is_some_and(|s| s.blocked.active(now))
    }

    /// How many sources are tracked.
    pub fn tracked_sources(&self) -> usize {
        self.sources.len()
    }

    /// True when the engine remembers `ip`.
    pub fn tracks(&self, ip: IpAddr) -> bool {
        self.sources.contains_key(&ip.to_canonical())
    }

    /// Forgets sources quiet for 24 hours whose block (if any) has ended. `observe` calls this
    /// every few minutes of `now`.
    pub fn prune(&mut self, now: Timestamp) {
        self.sources.retain(|_, s| s.worth_keeping(now));
        self.last_prune = Some(now);
    }

    fn make_room(&mut self, now: Timestamp) {
        let cap = self.config.max_sources.max(1);
        if self.sources.len() < cap {
            return;
        }
        self.prune(now);
        let batch = (cap / 100).max(1);
        let target = cap - batch;
        if self.sources.len() <= target {
            return;
        }
        let excess = self.sources.len() - target;
        let mut by_age: Vec<(Timestamp, IpAddr)> = self
            .sources
            .iter()
            .map(|(ip, s)| (s.last_seen, *ip))
            .collect();
        by_age.select_nth_unstable(excess - 1);
        for (_, ip) in &by_age[..excess] {
            self.sources.remove(ip);
        }
    }

    fn failure(&mut self, ip: IpAddr, ev: &LoginEvent, now: Timestamp) -> Option<Decision> {
        let protocol = ev.protocol();
        if !self.config.rule.protocols.contains(&protocol) {
            return None;
        }
        if !self.sources.contains_key(&ip) {
            self.make_room(now);
        }
        let config = &self.config;
        let rule = &config.rule;
        let keep_failures = (rule.max_failures as usize + 1)
            .max(config.spray.map_or(0, |s| s.slow_failures as usize));
        let keep_users =
            USERS_IN_EVIDENCE.max(config.spray.map_or(0, |s| s.distinct_users as usize));

        let src = self
            .sources
            .entry(ip)
            .or_insert_with(|| Source::new(ev.time));
        src.last_seen = src.last_seen.max(ev.time);
        if src.blocked.active(now) {
            // The block answers these; after it ends the source must cross the limit anew.
            return None;
        }
        src.add_failure(ev.time, keep_failures);
        src.note_user(&ev.user, ev.time, keep_users);
        let newest = *src.failures.back()?;

        let window_start = newest.saturating_sub(rule.span_secs());
        let in_window = src.failures_after(window_start);
        if in_window > rule.max_failures as usize {
            let first = src.failures[src.failures.len() - in_window];
            let users = src
                .users_after(window_start)
                .into_iter()
                .map(|(u, _)| u)
                .collect();
            src.crossed_at = Some(src.crossed_at.map_or(newest, |c| c.max(newest)));
            src.failures.clear();
            let block = Block {
                ip,
                until: rule.block.until(now),
                failures: u32::try_from(in_window).unwrap_or(u32::MAX),
                users,
                first,
                last: newest,
                protocol,
            };
            let exempt = if config.whitelist.covers(ip) {
                Some("not blocked: access whitelist")
            } else if ip.is_loopback() {
                Some("not blocked: loopback")
            } else if !rule.enabled {
                Some("not blocked: defense rule disabled")
            } else {
                None
            };
            let alert = block_alert(&block, ev, rule, exempt);
            return Some(match exempt {
                Some(_) => Decision::Alert(alert),
                None => {
                    src.blocked = match block.until {
                        Some(t) => BlockState::Until(t),
                        None => BlockState::Permanent,
                    };
                    Decision::Block { block, alert }
                }
            });
        }

        let spray = config.spray?;
        let crossed_lately = src
            .crossed_at
            .is_some_and(|c| newest.saturating_sub(c) < SLOW_WINDOW_SECS);
        let alerted_lately = src
            .spray_alerted
            .is_some_and(|t| newest.saturating_sub(t) < SPRAY_REALERT_SECS);
        if crossed_lately || alerted_lately {
            return None;
        }
        // Evidence that fits inside one fast window is the fast rule's to judge: a bot trying a
        // dictionary of accounts is blocked at the limit, not reported as slow first.
        let spread = |oldest: Timestamp| newest.saturating_sub(oldest) > rule.span_secs();
        let users = src.users_after(newest.saturating_sub(SPRAY_USERS_WINDOW_SECS));
        let spraying = users.len() >= spray.distinct_users as usize
            && users.first().is_some_and(|(_, t)| spread(*t));
        let day = src.failures_after(newest.saturating_sub(SLOW_WINDOW_SECS));
        let slow =
            day >= spray.slow_failures as usize && spread(src.failures[src.failures.len() - day]);
        if !spraying && !slow {
            return None;
        }
        src.spray_alerted = Some(newest);
        let names: Vec<&str> = users.iter().map(|(u, _)| u.as_str()).collect();
        Some(Decision::Alert(slow_alert(ip, ev, &names, day, spraying)))
    }

    fn success_alert(&self, ip: IpAddr, ev: &LoginEvent) -> NewAlert {
        let rule = &self.config.rule;
        NewAlert {
            kind: AlertKind::BruteForce,
            level: Level::Urgent,
            name: format!(
                "Successful brute force: {} logged in from {ip} after repeated failures",
                display_user(&ev.user)
            ),
            key: format!("brute_force:{ip}"),
            evidence: vec![
                ("source_ip".into(), ip.to_string()),
                ("user".into(), ev.user.clone()),
                ("service".into(), ev.service.clone()),
                ("protocol".into(), ev.protocol().as_str().into()),
                ("method".into(), method(ev)),
                ("outcome".into(), "success".into()),
                (
                    "limit".into(),
                    format!(
                        "more than {} failures in {}",
                        rule.max_failures,
                        minutes(rule.span_mins)
                    ),
                ),
            ],
            time: ev.time,
        }
    }
}

fn display_user(user: &str) -> &str {
    if user.is_empty() {
        "an unnamed account"
    } else {
        user
    }
}

fn method(ev: &LoginEvent) -> String {
    ev.method
        .map(|m| m.as_str())
        .unwrap_or_default()
        .to_string()
}

fn minutes(m: u32) -> String {
    if m == 1 {
        "1 minute".into()
    } else {
        format!("{m} minutes")
    }
}

fn block_alert(
    block: &Block,
    ev: &LoginEvent,
    rule: &BruteForceRule,
    exempt: Option<&str>,
) -> NewAlert {
    let action = match (exempt, block.until) {
        (Some(why), _) => why.to_string(),
        (None, Some(t)) => format!("blocked until {t}"),
        (None, None) => "blocked permanently".to_string(),
    };
    NewAlert {
        kind: AlertKind::BruteForce,
        level: Level::Suspicious,
        name: format!(
            "Brute force from {}: {} failed {} logins in {}",
            block.ip,
            block.failures,
            block.protocol.as_str(),
            minutes(rule.span_mins)
        ),
        key: format!("brute_force:{}", block.ip),
        evidence: vec![
            ("source_ip".into(), block.ip.to_string()),
            ("user".into(), ev.user.clone()),
            ("users".into(), block.users.join(", ")),
            ("service".into(), ev.service.clone()),
            ("protocol".into(), block.protocol.as_str().into()),
            ("method".into(), method(ev)),
            ("failures".into(), block.failures.to_string()),
            ("window".into(), minutes(rule.span_mins)),
            ("first".into(), block.first.to_string()),
            ("last".into(), block.last.to_string()),
            ("action".into(), action),
        ],
        time: ev.time,
    }
}

fn slow_alert(ip: IpAddr, ev: &LoginEvent, users: &[&str], day: usize, spraying: bool) -> NewAlert {
    let (name, anomaly, window) = if spraying {
        (
            format!(
                "Password spraying from {ip}: {} accounts tried within an hour",
                users.len()
            ),
            "password_spray",
            "1 hour",
        )
    } else {
        (
            format!("Slow brute force from {ip}: {day} failed logins within 24 hours"),
            "slow_brute_force",
            "24 hours",
        )
    };
    let shown: Vec<&str> = users
        .iter()
        .rev()
        .take(USERS_IN_EVIDENCE)
        .copied()
        .collect();
    NewAlert {
        kind: AlertKind::BruteForce,
        level: Level::Suspicious,
        name,
        key: format!("slow_brute_force:{ip}"),
        evidence: vec![
            ("source_ip".into(), ip.to_string()),
            ("anomaly".into(), anomaly.into()),
            ("user".into(), ev.user.clone()),
            ("users".into(), shown.join(", ")),
            ("distinct_users".into(), users.len().to_string()),
            ("failures".into(), day.to_string()),
            ("service".into(), ev.service.clone()),
            ("protocol".into(), ev.protocol().as_str().into()),
            ("window".into(), window.into()),
            ("action".into(), "not blocked: slow attack".into()),
        ],
        time: ev.time,
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    //! Unchecked shapes that deserialization goes through, so a stored rule is checked exactly
    //! as a new one is.

    use super::{BlockDuration, BruteForceRule, SprayRule};
    use crate::error::Error;
    use std::collections::BTreeSet;
    use vigil_model::LoginProtocol;

    #[derive(serde::Deserialize)]
    pub(super) struct RawRule {
        span_mins: u32,
        max_failures: u32,
        block: BlockDuration,
        protocols: BTreeSet<LoginProtocol>,
        enabled: bool,
    }

    impl TryFrom<RawRule> for BruteForceRule {
        type Error = Error;
        fn try_from(r: RawRule) -> Result<Self, Error> {
            BruteForceRule::new(r.span_mins, r.max_failures, r.block, r.protocols, r.enabled)
        }
    }

    #[derive(serde::Deserialize)]
    pub(super) struct RawSpray {
        distinct_users: u32,
        slow_failures: u32,
    }

    impl TryFrom<RawSpray> for SprayRule {
        type Error = Error;
        fn try_from(r: RawSpray) -> Result<Self, Error> {
            SprayRule::new(r.distinct_users, r.slow_failures)
        }
    }
}

#[cfg(test)]
mod tests;
