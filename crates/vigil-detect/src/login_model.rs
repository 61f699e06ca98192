//! The abnormal-login model (SPEC R-LG2–R-LG6): what a host's usual logins look like, learned
//! or configured, and the alerts a successful login outside it raises.
//!
//! # Factors
//!
//! A successful login is judged on independent factors; each one outside its approved set raises
//! its own [`AlertKind::AbnormalLogin`] alert (the factors have no priority among themselves, and
//! the login itself is never stopped, SPEC R-LG6):
//!
//! | anomaly | approved set | level |
//! |---|---|---|
//! | `unusual_location` | configured places, else learned places | suspicious |
//! | `unusual_ip` | configured networks, else learned IPs | suspicious |
//! | `outside_time` | configured daily time ranges (never learned) | suspicious |
//! | `unusual_account` | configured accounts, else learned accounts | suspicious |
//! | `malicious_ip` | not in the threat-intelligence networks passed in | urgent |
//! | `weak_password` | not flagged by the baseline engine | suspicious |
//! | `backdoor_account` | not a backdoor (uid-0) account | urgent |
//! | `after_bruteforce` | the brute-force engine's flag is false | urgent |
//!
//! A **configured** set takes priority over learning for its factor: when a policy names
//! approved IPs, only those count and the learned ones are ignored (they keep being learned, so
//! removing the configuration goes back to them). A configured but *empty* set means "not
//! configured here", which lets a host clear a group's setting and go back to learning.
//!
//! # Which logins are judged
//!
//! Only successful logins with an address as source; failures are the brute-force engine's.
//! Location, IP and learned-account factors are judged for **public** sources only
//! ([`crate::ip::is_public`]): an internal address has no meaningful location and internal
//! hosts come and go. Configured accounts and time ranges, and the four threat factors, apply to
//! every source, internal ones included (lateral movement).
//!
//! # Learning
//!
//! Learning starts at the host's first successful login from a public IP and lasts 24 hours of
//! log time. During it every public login's place, IP and account is approved and the learned
//! factors raise nothing. The configured factors and the threat factors do raise during learning:
//! they do not depend on a baseline, and a login from a malicious IP or after a brute force is
//! never learned as usual. After learning, an IP with [`AUTO_APPROVE_AFTER`] successful logins is
//! approved together with its place, on the login that reaches the count (so logins 1–5 from a
//! new IP alert, the 6th does not); accounts are approved the same way.
//!
//! # IP identity
//!
//! Learned IPs (and the unusual-IP alert key) are IPv4 addresses, and IPv6 **/64 networks**:
//! privacy extensions give an IPv6 client a new address in its /64 every day. Configured
//! networks compare the exact address; evidence always carries the exact address.
//!
//! # Places
//!
//! Places are compared at **region** level when the geolocation gives a region, else at country
//! level; cities are ignored (city-level geolocation is unreliable and a user moving across a
//! metro area is not an anomaly). An approved country-level place (configured `JP`, or learned
//! where the database had no region) covers every region of that country. Names compare
//! case-insensitively. A login whose IP cannot be located raises no location alert, and with
//! learned places a login from an approved IP raises none either (the geolocation database may
//! have moved the address since it was approved).
//!
//! # Notification
//!
//! Each alert has a key stable for what it is about (the place, the IP, the account), so the
//! store updates one alert per key. Only the first raise of a key sets `notify` (SPEC R-LG3);
//! later identical logins show in the console only. A key notifies again once it has been quiet
//! for as long as the store takes to expire an alert (30 days).

use crate::error::Error;
use crate::ip::{self, Cidr};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use vigil_model::{
    AlertKind, Level, LoginEvent, LoginOutcome, NewAlert, Timestamp, ALERT_EXPIRES_AFTER_SECS,
};

/// How long learning lasts after the first successful public login.
pub const LEARNING_SECS: i64 = 86_400;
/// Successful logins after which an IP (with its place) or an account is approved.
pub const AUTO_APPROVE_AFTER: u32 = 6;
/// IPs, and accounts, remembered per host at most; unapproved and oldest are forgotten first.
pub const MAX_TRACKED: usize = 10_000;
/// Unapproved IPs and accounts not seen for this long are forgotten, with their counts.
pub const FORGET_UNAPPROVED_AFTER_SECS: i64 = 30 * 86_400;

const MAX_NOTIFIED: usize = 2 * MAX_TRACKED;
const PRUNE_EVERY_SECS: i64 = 3_600;

/// Where an IP is, as a geolocation database says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Location {
    pub country: String,
    pub region: Option<String>,
    pub city: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.country)?;
        for part in [&self.region, &self.city].into_iter().flatten() {
            write!(f, "/{part}")?;
        }
        Ok(())
    }
}

/// IP geolocation; the MMDB lookup lives with the server, tests use a table.
pub trait Geo {
    fn locate(&self, ip: IpAddr) -> Option<Location>;
}

impl<F: Fn(IpAddr) -> Option<Location>> Geo for F {
    fn locate(&self, ip: IpAddr) -> Option<Location> {
        self(ip)
    }
}

/// No geolocation database: no location is known, so no location alert is raised.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGeo;

impl Geo for NoGeo {
    fn locate(&self, _: IpAddr) -> Option<Location> {
        None
    }
}

/// An approved place: a country, or a region of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Place {
    pub country: String,
    pub region: Option<String>,
}

impl Place {
    /// A whole country.
    pub fn country(country: &str) -> Place {
        Place {
            country: country.to_string(),
            region: None,
        }
    }

    /// One region of a country.
    pub fn region(country: &str, region: &str) -> Place {
        Place {
            country: country.to_string(),
            region: Some(region.to_string()),
        }
    }

    /// The place a location is judged at: its region when known, else its country.
    pub fn of(loc: &Location) -> Place {
        Place {
            country: loc.country.clone(),
            region: loc.region.clone().filter(|r| !r.is_empty()),
        }
    }

    /// True when `loc` is in this place (a country covers all its regions).
    pub fn covers(&self, loc: &Location) -> bool {
        self.country.eq_ignore_ascii_case(&loc.country)
            && match (&self.region, &loc.region) {
                (None, _) => true,
                (Some(want), Some(got)) => want.eq_ignore_ascii_case(got),
                (Some(_), None) => false,
            }
    }

    /// The alert-key form: lower case, `country` or `country/region`.
    fn key(&self) -> String {
        self.to_string().to_lowercase()
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.region {
            Some(r) => write!(f, "{}/{r}", self.country),
            None => f.write_str(&self.country),
        }
    }
}

/// A daily range of local time, `[start, end)` in minutes after midnight; `start > end` wraps
/// past midnight (`22:00-06:00`). Written `HH:MM-HH:MM`; `00:00-24:00` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct TimeRange {
    start: u16,
    end: u16,
}

impl TimeRange {
    /// From minutes after midnight: `start` below 1440, `end` up to 1440, not equal.
    pub fn new(start: u16, end: u16) -> Result<TimeRange, Error> {
        let bad = |why| Error::TimeRange {
            input: format!("{}-{}", hhmm(start), hhmm(end)),
            why,
        };
        if start >= 1440 || end > 1440 {
            return Err(bad("a time is past 24:00"));
        }
        if start == end {
            return Err(bad("the range is empty; use 00:00-24:00 for the whole day"));
        }
        Ok(TimeRange { start, end })
    }

    pub fn parse(s: &str) -> Result<TimeRange, Error> {
        let input = s.trim();
        let bad = |why| Error::TimeRange {
            input: input.to_string(),
            why,
        };
        let (a, b) = input
            .split_once('-')
            .ok_or_else(|| bad("no '-' between the times"))?;
        let minute = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let digits = |x: &str, n: std::ops::RangeInclusive<usize>| {
                n.contains(&x.len()) && x.bytes().all(|c| c.is_ascii_digit())
            };
            if !digits(h, 1..=2) || !digits(m, 2..=2) {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h, m) == (24, 0))).then_some(h * 60 + m)
        };
        let start = minute(a).ok_or_else(|| bad("the start is not a time of day"))?;
        let end = minute(b).ok_or_else(|| bad("the end is not a time of day"))?;
        TimeRange::new(start, end).map_err(|e| match e {
            Error::TimeRange { why, .. } => bad(why),
            other => other,
        })
    }

    /// True when `minute` (after local midnight) is in the range.
    pub fn contains(&self, minute: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

impl std::str::FromStr for TimeRange {
    type Err = Error;
    fn from_str(s: &str) -> Result<TimeRange, Error> {
        TimeRange::parse(s)
    }
}

impl TryFrom<String> for TimeRange {
    type Error = Error;
    fn try_from(s: String) -> Result<TimeRange, Error> {
        TimeRange::parse(&s)
    }
}

impl From<TimeRange> for String {
    fn from(r: TimeRange) -> String {
        r.to_string()
    }
}

/// Approved login hours: ranges of local time at a fixed offset from UTC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TimeWindows {
    /// Local time minus UTC, in minutes (UTC+08:00 is 480).
    pub utc_offset_mins: i32,
    pub ranges: Vec<TimeRange>,
}

impl TimeWindows {
    /// Minutes after local midnight at `t`.
    pub fn local_minute(&self, t: Timestamp) -> u16 {
        let local = t.saturating_add(i64::from(self.utc_offset_mins) * 60);
        // In 0..1440, so the cast is exact.
        (local.rem_euclid(86_400) / 60) as u16
    }

    /// True when `t` falls in one of the ranges (or there are none).
    pub fn allows(&self, t: Timestamp) -> bool {
        let m = self.local_minute(t);
        self.ranges.is_empty() || self.ranges.iter().any(|r| r.contains(m))
    }
}

impl fmt::Display for TimeWindows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        let off = self.utc_offset_mins;
        let sign = if off < 0 { '-' } else { '+' };
        write!(f, " UTC{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)
    }
}

/// Approved-login configuration of one scope (global, group or host, SPEC R-LG4). `None` means
/// "not set here"; see [`LoginPolicy::over`] for how scopes combine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct LoginPolicy {
    pub locations: Option<Vec<Place>>,
    pub ips: Option<Vec<Cidr>>,
    pub times: Option<TimeWindows>,
    pub accounts: Option<BTreeSet<String>>,
    /// `Some(false)` turns unusual-location alerts off for the hosts this scope covers.
    pub location_alerts: Option<bool>,
}

impl LoginPolicy {
    /// This policy over a less specific one, factor by factor: each factor set here wins, the
    /// others come from `base`. Host over group over global is
    /// `host.over(&group.over(&global))`, or [`LoginPolicy::merged`].
    pub fn over(&self, base: &LoginPolicy) -> LoginPolicy {
        LoginPolicy {
            locations: self.locations.clone().or_else(|| base.locations.clone()),
            ips: self.ips.clone().or_else(|| base.ips.clone()),
            times: self.times.clone().or_else(|| base.times.clone()),
            accounts: self.accounts.clone().or_else(|| base.accounts.clone()),
            location_alerts: self.location_alerts.or(base.location_alerts),
        }
    }

    /// Host over group over global.
    pub fn merged(host: &LoginPolicy, group: &LoginPolicy, global: &LoginPolicy) -> LoginPolicy {
        host.over(&group.over(global))
    }

    fn configured<T>(set: &Option<Vec<T>>) -> Option<&[T]> {
        set.as_deref().filter(|s| !s.is_empty())
    }
}

/// What the model is told besides the event: geolocation and the other engines' findings.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub geo: &'a dyn Geo,
    /// Threat-intelligence networks: a login from one is urgent.
    pub malicious: &'a [Cidr],
    /// Accounts the baseline engine found with a weak password.
    pub weak_password_users: &'a BTreeSet<String>,
    /// Backdoor accounts (a uid-0 account other than root) on the host.
    pub backdoor_users: &'a BTreeSet<String>,
    /// [`crate::bruteforce::BruteForce::success_after_bruteforce`] for this event.
    pub after_bruteforce: bool,
}

static NO_USERS: BTreeSet<String> = BTreeSet::new();

impl<'a> Inputs<'a> {
    /// Geolocation only; no threat findings.
    pub fn new(geo: &'a dyn Geo) -> Inputs<'a> {
        Inputs {
            geo,
            malicious: &[],
            weak_password_users: &NO_USERS,
            backdoor_users: &NO_USERS,
            after_bruteforce: false,
        }
    }
}

/// Why a login is abnormal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Anomaly {
    UnusualLocation,
    UnusualIp,
    OutsideTime,
    UnusualAccount,
    MaliciousIp,
    WeakPassword,
    BackdoorAccount,
    AfterBruteForce,
}

impl Anomaly {
    /// The value of the alert's `anomaly` evidence field.
    pub fn as_str(self) -> &'static str {
        match self {
            Anomaly::UnusualLocation => "unusual_location",
            Anomaly::UnusualIp => "unusual_ip",
            Anomaly::OutsideTime => "outside_time",
            Anomaly::UnusualAccount => "unusual_account",
            Anomaly::MaliciousIp => "malicious_ip",
            Anomaly::WeakPassword => "weak_password",
            Anomaly::BackdoorAccount => "backdoor_account",
            Anomaly::AfterBruteForce => "after_bruteforce",
        }
    }

    pub fn level(self) -> Level {
        match self {
            Anomaly::MaliciousIp | Anomaly::BackdoorAccount | Anomaly::AfterBruteForce => {
                Level::Urgent
            }
            _ => Level::Suspicious,
        }
    }
}

/// An alert and whether to notify about it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginAlert {
    pub anomaly: Anomaly,
    pub alert: NewAlert,
    /// True the first time this alert's key is raised (again after 30 quiet days).
    pub notify: bool,
}

/// How something came to be approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Approval {
    /// Seen during the learning window.
    Learning,
    /// Reached [`AUTO_APPROVE_AFTER`] successful logins.
    Auto,
    /// Approved by an operator.
    Manual,
}

/// What the host has seen of one IP or account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Seen {
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Successful public logins counted (saturating).
    pub successes: u32,
    pub approved: Option<Approval>,
}

impl Seen {
    fn new(t: Timestamp) -> Seen {
        Seen {
            first_seen: t,
            last_seen: t,
            successes: 0,
            approved: None,
        }
    }
}

/// An approved place with when and how it was approved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ApprovedPlace {
    pub place: Place,
    pub since: Timestamp,
    pub how: Approval,
}

/// What the model has learned of one host; the server stores it between batches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct HostLoginState {
    learning_since: Option<Timestamp>,
    places: Vec<ApprovedPlace>,
    ips: BTreeMap<IpAddr, Seen>,
    accounts: BTreeMap<String, Seen>,
    /// Alert key → when it last notified.
    notified: BTreeMap<String, Timestamp>,
    last_prune: Option<Timestamp>,
}

impl HostLoginState {
    pub fn new() -> HostLoginState {
        HostLoginState::default()
    }

    /// Log time of the first successful public login; `None` while none was seen.
    pub fn learning_since(&self) -> Option<Timestamp> {
        self.learning_since
    }

    /// True when a login at `t` falls in the learning window (which starts with the first
    /// successful public login: before it, nothing is learning).
    pub fn is_learning(&self, t: Timestamp) -> bool {
        self.learning_since
            .is_some_and(|s| t < s.saturating_add(LEARNING_SECS))
    }

    pub fn approved_places(&self) -> &[ApprovedPlace] {
        &self.places
    }

    pub fn ip(&self, ip: IpAddr) -> Option<&Seen> {
        self.ips.get(&ip_key(ip))
    }

    pub fn account(&self, name: &str) -> Option<&Seen> {
        self.accounts.get(name)
    }

    /// True when a learned or manually approved place covers `loc`.
    pub fn place_approved(&self, loc: &Location) -> bool {
        self.places.iter().any(|p| p.place.covers(loc))
    }

    /// Approves a place by hand (SPEC R-LG4: approved locations can be maintained by hand).
    pub fn approve_place(&mut self, place: Place, at: Timestamp) {
        self.add_place(place, at, Approval::Manual);
    }

    pub fn revoke_place(&mut self, place: &Place) {
        self.places.retain(|p| &p.place != place);
    }

    pub fn approve_ip(&mut self, ip: IpAddr, at: Timestamp) {
        let seen = self.ips.entry(ip_key(ip)).or_insert_with(|| Seen::new(at));
        seen.approved = Some(Approval::Manual);
    }

    /// Withdraws an IP's approval and its count, so it has to earn approval anew.
    pub fn revoke_ip(&mut self, ip: IpAddr) {
        self.ips.remove(&ip_key(ip));
    }

    pub fn approve_account(&mut self, name: &str, at: Timestamp) {
        let seen = self
            .accounts
            .entry(name.to_string())
            .or_insert_with(|| Seen::new(at));
        seen.approved = Some(Approval::Manual);
    }

    pub fn revoke_account(&mut self, name: &str) {
        self.accounts.remove(name);
    }

    fn add_place(&mut self, place: Place, at: Timestamp, how: Approval) {
        if !self.places.iter().any(|p| p.place == place) {
            self.places.push(ApprovedPlace {
                place,
                since: at,
                how,
            });
        }
    }

    /// Counts one successful login of `key`; approves it during learning or at the threshold.
    /// Returns true when this login approved it.
    fn count<K: Ord + Clone>(
        map: &mut BTreeMap<K, Seen>,
        key: &K,
        t: Timestamp,
        learning: bool,
    ) -> bool {
        if !map.contains_key(key) && map.len() >= MAX_TRACKED {
            evict_one(map);
        }
        let seen = map.entry(key.clone()).or_insert_with(|| Seen::new(t));
        seen.first_seen = seen.first_seen.min(t);
        seen.last_seen = seen.last_seen.max(t);
        seen.successes = seen.successes.saturating_add(1);
        if seen.approved.is_some() {
            return false;
        }
        seen.approved = if learning {
            Some(Approval::Learning)
        } else if seen.successes >= AUTO_APPROVE_AFTER {
            Some(Approval::Auto)
        } else {
            None
        };
        seen.approved.is_some()
    }

    fn notify(&mut self, key: &str, now: Timestamp) -> bool {
        let fresh = self
            .notified
            .get(key)
            .is_none_or(|t| now.saturating_sub(*t) >= ALERT_EXPIRES_AFTER_SECS);
        if fresh {
            if !self.notified.contains_key(key) && self.notified.len() >= MAX_NOTIFIED {
                if let Some(oldest) = self
                    .notified
                    .iter()
                    .min_by_key(|(_, t)| **t)
                    .map(|(k, _)| k.clone())
                {
                    self.notified.remove(&oldest);
                }
            }
            self.notified.insert(key.to_string(), now);
        }
        fresh
    }

    /// Forgets notifications older than 30 days and unapproved IPs and accounts not seen for
    /// 30 days. [`LoginModel::observe`] calls it every hour of `now`.
    pub fn prune(&mut self, now: Timestamp) {
        self.notified
            .retain(|_, t| now.saturating_sub(*t) < ALERT_EXPIRES_AFTER_SECS);
        let keep = |s: &Seen| {
            s.approved.is_some() || now.saturating_sub(s.last_seen) < FORGET_UNAPPROVED_AFTER_SECS
        };
        self.ips.retain(|_, s| keep(s));
        self.accounts.retain(|_, s| keep(s));
        self.last_prune = Some(now);
    }
}

/// What the model knows an address by: an IPv4 address itself, an IPv6 address by its /64.
/// IPv6 privacy extensions (RFC 8981) give a client a new address in its /64 every day, so an
/// IPv6 user would otherwise be "new" daily and never reach the approval count.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !0u128 << 64).into()),
        v4 => v4,
    }
}

/// Drops the unapproved entry seen longest ago, or failing that the oldest approved one.
fn evict_one<K: Ord + Clone>(map: &mut BTreeMap<K, Seen>) {
    let victim = map
        .iter()
        .min_by_key(|(_, s)| (s.approved.is_some(), s.last_seen))
        .map(|(k, _)| k.clone());
    if let Some(k) = victim {
        map.remove(&k);
    }
}

/// The abnormal-login model; all of its state is the [`HostLoginState`] passed in.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginModel;

impl LoginModel {
    /// Judges one login event for a host and learns from it. `policy` is the host's merged
    /// policy ([`LoginPolicy::merged`]); `now` only dates notifications and pruning, the log
    /// time of `ev` decides learning.
    pub fn observe(
        state: &mut HostLoginState,
        policy: &LoginPolicy,
        inputs: &Inputs<'_>,
        ev: &LoginEvent,
        now: Timestamp,
    ) -> Vec<LoginAlert> {
        if state
            .last_prune
            .is_none_or(|t| now.saturating_sub(t) >= PRUNE_EVERY_SECS)
        {
            state.prune(now);
        }
        if ev.outcome != LoginOutcome::Success {
            return Vec::new();
        }
        let Some(ip) = ev.source.as_deref().and_then(ip::parse_source) else {
            return Vec::new();
        };
        let public = ip::is_public(ip);
        let user = ev.user.as_str();

        let malicious = ip::any_contains(inputs.malicious, ip);
        let threat = malicious || inputs.after_bruteforce;
        let location = if public { inputs.geo.locate(ip) } else { None };

        // Learn first, so the login that reaches the approval count is judged approved.
        if public && !threat {
            state.learning_since.get_or_insert(ev.time);
        }
        // Before the first public login there is no baseline either: nothing learned to judge by.
        let learning = state
            .learning_since
            .is_none_or(|since| ev.time < since.saturating_add(LEARNING_SECS));
        if public && !threat {
            let how = if learning {
                Approval::Learning
            } else {
                Approval::Auto
            };
            let newly = HostLoginState::count(&mut state.ips, &ip_key(ip), ev.time, learning);
            if let Some(loc) = location.as_ref().filter(|_| learning || newly) {
                state.add_place(Place::of(loc), ev.time, how);
            }
            if !user.is_empty() {
                HostLoginState::count(&mut state.accounts, &user.to_string(), ev.time, learning);
            }
        }

        let mut found: Vec<(Anomaly, Vec<(String, String)>)> = Vec::new();
        let ip_approved = state.ip(ip).is_some_and(|s| s.approved.is_some());
        if public && policy.location_alerts != Some(false) {
            if let Some(loc) = &location {
                let approved = match LoginPolicy::configured(&policy.locations) {
                    Some(places) => places.iter().any(|p| p.covers(loc)),
                    None => learning || ip_approved || state.place_approved(loc),
                };
                if !approved {
                    found.push((Anomaly::UnusualLocation, Vec::new()));
                }
            }
        }
        if public {
            let approved = match LoginPolicy::configured(&policy.ips) {
                Some(nets) => ip::any_contains(nets, ip),
                None => learning || ip_approved,
            };
            if !approved {
                found.push((Anomaly::UnusualIp, Vec::new()));
            }
        }
        if let Some(times) = policy.times.as_ref().filter(|t| !t.ranges.is_empty()) {
            if !times.allows(ev.time) {
                found.push((
                    Anomaly::OutsideTime,
                    vec![
                        ("local_time".into(), hhmm(times.local_minute(ev.time))),
                        ("approved_times".into(), times.to_string()),
                    ],
                ));
            }
        }
        if !user.is_empty() {
            let approved = match policy.accounts.as_ref().filter(|a| !a.is_empty()) {
                Some(accounts) => Some(accounts.contains(user)),
                None if public => {
                    Some(learning || state.account(user).is_some_and(|s| s.approved.is_some()))
                }
                None => None,
            };
            if approved == Some(false) {
                found.push((Anomaly::UnusualAccount, Vec::new()));
            }
        }
        if malicious {
            found.push((Anomaly::MaliciousIp, Vec::new()));
        }
        if !user.is_empty() && inputs.weak_password_users.contains(user) {
            found.push((Anomaly::WeakPassword, Vec::new()));
        }
        if !user.is_empty() && inputs.backdoor_users.contains(user) {
            found.push((Anomaly::BackdoorAccount, Vec::new()));
        }
        if inputs.after_bruteforce {
            found.push((Anomaly::AfterBruteForce, Vec::new()));
        }

        found
            .into_iter()
            .map(|(anomaly, extra)| {
                let alert = login_alert(anomaly, ip, location.as_ref(), ev, extra);
                let notify = state.notify(&alert.key, now);
                LoginAlert {
                    anomaly,
                    alert,
                    notify,
                }
            })
            .collect()
    }
}

fn login_alert(
    anomaly: Anomaly,
    ip: IpAddr,
    location: Option<&Location>,
    ev: &LoginEvent,
    extra: Vec<(String, String)>,
) -> NewAlert {
    let user = ev.user.as_str();
    let place = location.map(Place::of);
    let at = match location {
        Some(loc) => format!("{user}@{ip}, {loc}"),
        None => format!("{user}@{ip}"),
    };
    let (name, key) = match anomaly {
        Anomaly::UnusualLocation => {
            let place = place.unwrap_or_else(|| Place::country("unknown"));
            (
                format!("Login from an unusual location {place} ({user}@{ip})"),
                format!("login:location:{}", place.key()),
            )
        }
        Anomaly::UnusualIp => (
            format!("Login from an unapproved IP {ip} ({at})"),
            match ip_key(ip) {
                IpAddr::V6(net) => format!("login:ip:{net}/64"),
                v4 => format!("login:ip:{v4}"),
            },
        ),
        Anomaly::OutsideTime => (
            format!("Login outside approved hours ({at})"),
            format!("login:time:{user}@{ip}"),
        ),
        Anomaly::UnusualAccount => (
            format!("Login with an unusual account {user} ({at})"),
            format!("login:account:{user}"),
        ),
        Anomaly::MaliciousIp => (
            format!("Login from a malicious IP {ip} ({at})"),
            format!("login:malicious:{ip}"),
        ),
        Anomaly::WeakPassword => (
            format!("Login with a weak-password account {user} ({at})"),
            format!("login:weak_password:{user}"),
        ),
        Anomaly::BackdoorAccount => (
            format!("Login with a backdoor account {user} ({at})"),
            format!("login:backdoor:{user}"),
        ),
        Anomaly::AfterBruteForce => (
            format!("Login after a successful brute force from {ip} ({at})"),
            format!("login:after_bruteforce:{ip}"),
        ),
    };
    let mut evidence: Vec<(String, String)> = vec![
        ("anomaly".into(), anomaly.as_str().into()),
        ("source_ip".into(), ip.to_string()),
        ("user".into(), user.to_string()),
        ("service".into(), ev.service.clone()),
        (
            "method".into(),
            ev.method.map(|m| m.as_str()).unwrap_or_default().into(),
        ),
        (
            "location".into(),
            location.map(ToString::to_string).unwrap_or_default(),
        ),
    ];
    evidence.extend(extra);
    NewAlert {
        kind: AlertKind::AbnormalLogin,
        level: anomaly.level(),
        name,
        key,
        evidence,
        time: ev.time,
    }
}

#[cfg(test)]
mod tests;
