//! Tests of the abnormal-login model: learning, approval, internal and IPv6 sources, configured
//! times and networks, policy scopes, threat factors, bounded memory, serde round trips.

use super::*;
use vigil_model::LoginMethod;

const T0: Timestamp = 1_700_000_000;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn loc(country: &str, region: Option<&str>) -> Location {
    Location {
        country: country.into(),
        region: region.map(Into::into),
        city: None,
    }
}

/// Documentation ranges placed around the world, one /24 (or /48) per place.
fn geo(ip: IpAddr) -> Option<Location> {
    let table: &[(&str, &str, Option<&str>)] = &[
        ("203.0.113.0/25", "CN", Some("Zhejiang")),
        ("203.0.113.128/25", "CN", Some("Beijing")),
        ("198.51.100.0/24", "JP", Some("Tokyo")),
        ("192.0.2.0/24", "NL", None),
        ("2001:db8:1::/48", "DE", Some("Hesse")),
        ("2001:db8:2::/48", "US", Some("Oregon")),
    ];
    table
        .iter()
        .find(|(net, _, _)| Cidr::parse(net).unwrap().contains(ip))
        .map(|(_, c, r)| loc(c, *r))
}

fn success(time: Timestamp, src: &str, user: &str) -> LoginEvent {
    LoginEvent {
        time,
        service: "sshd".into(),
        user: user.into(),
        source: Some(src.into()),
        port: Some(22),
        method: Some(LoginMethod::Publickey),
        outcome: LoginOutcome::Success,
        reason: None,
    }
}

/// One host's model, fed through a single helper so every test drives the API the same way.
struct Host {
    state: HostLoginState,
    policy: LoginPolicy,
    malicious: Vec<Cidr>,
    weak: BTreeSet<String>,
    backdoor: BTreeSet<String>,
}

impl Host {
    fn new() -> Host {
        Host {
            state: HostLoginState::new(),
            policy: LoginPolicy::default(),
            malicious: Vec::new(),
            weak: BTreeSet::new(),
            backdoor: BTreeSet::new(),
        }
    }

    fn check_with(&mut self, ev: &LoginEvent, after_bruteforce: bool) -> Vec<LoginAlert> {
        let inputs = Inputs {
            geo: &geo,
            malicious: &self.malicious,
            weak_password_users: &self.weak,
            backdoor_users: &self.backdoor,
            after_bruteforce,
        };
        LoginModel::observe(&mut self.state, &self.policy, &inputs, ev, ev.time + 30)
    }

    fn check(&mut self, ev: &LoginEvent) -> Vec<LoginAlert> {
        self.check_with(ev, false)
    }

    /// Logs in at `t` and returns the anomalies raised.
    fn login(&mut self, t: Timestamp, src: &str, user: &str) -> Vec<&'static str> {
        anomalies(&self.check(&success(t, src, user)))
    }

    /// A host past learning that knows root from Zhejiang at 203.0.113.10.
    fn learned() -> Host {
        let mut h = Host::new();
        assert!(h.login(T0, "203.0.113.10", "root").is_empty());
        h
    }
}

fn anomalies(alerts: &[LoginAlert]) -> Vec<&'static str> {
    alerts.iter().map(|a| a.anomaly.as_str()).collect()
}

fn field<'a>(a: &'a NewAlert, name: &str) -> &'a str {
    a.evidence
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v)
}

#[test]
fn nothing_alerts_while_learning_and_what_was_seen_is_approved() {
    let mut h = Host::new();
    // Private and local logins do not start learning.
    assert!(h.login(T0 - DAY, "10.0.0.5", "root").is_empty());
    assert_eq!(h.state.learning_since(), None);
    let learning = [
        (T0, "203.0.113.10", "root"),
        (T0 + HOUR, "198.51.100.20", "deploy"),
        (T0 + 20 * HOUR, "192.0.2.30", "root"),
        (T0 + DAY - 1, "2001:db8:1::30", "backup"),
    ];
    for (t, src, user) in learning {
        assert!(h.login(t, src, user).is_empty(), "{src} at +{}", t - T0);
    }
    assert_eq!(h.state.learning_since(), Some(T0));
    assert!(h.state.is_learning(T0 + DAY - 1) && !h.state.is_learning(T0 + DAY));
    let places: Vec<String> = h
        .state
        .approved_places()
        .iter()
        .map(|p| p.place.to_string())
        .collect();
    assert_eq!(places, ["CN/Zhejiang", "JP/Tokyo", "NL", "DE/Hesse"]);
    // After learning: (source, user, anomalies)
    let after: &[(&str, &str, &[&str])] = &[
        ("203.0.113.10", "root", &[]),
        ("198.51.100.20", "deploy", &[]),
        // A learned place from a new address: the address is new, the place is not.
        ("203.0.113.11", "root", &["unusual_ip"]),
        // NL was learned at country level, so any NL region is fine.
        ("192.0.2.30", "backup", &[]),
        // Beijing is another region of a learned country.
        ("203.0.113.200", "root", &["unusual_location", "unusual_ip"]),
        ("2001:db8:2::9", "root", &["unusual_location", "unusual_ip"]),
        ("198.51.100.20", "mallory", &["unusual_account"]),
    ];
    for (i, (src, user, want)) in after.iter().enumerate() {
        let t = T0 + DAY + i as i64 * 60;
        assert_eq!(h.login(t, src, user), *want, "{user}@{src}");
    }
}

#[test]
fn the_first_login_from_a_new_place_notifies_and_repeats_do_not() {
    let mut h = Host::learned();
    let t = T0 + 2 * DAY;
    let first = h.check(&success(t, "2001:db8:2::9", "root"));
    assert_eq!(anomalies(&first), ["unusual_location", "unusual_ip"]);
    assert!(first.iter().all(|a| a.notify));
    let loc = &first[0].alert;
    assert_eq!(
        (loc.kind, loc.level),
        (AlertKind::AbnormalLogin, Level::Suspicious)
    );
    assert_eq!(loc.key, "login:location:us/oregon");
    assert_eq!(field(loc, "anomaly"), "unusual_location");
    assert_eq!(field(loc, "source_ip"), "2001:db8:2::9");
    assert_eq!(field(loc, "location"), "US/Oregon");
    assert_eq!(field(loc, "user"), "root");
    assert_eq!(field(loc, "method"), "publickey");
    assert_eq!(first[1].alert.key, "login:ip:2001:db8:2::/64");
    // The same place from another address: the place alert repeats silently, the new
    // address notifies.
    let again = h.check(&success(t + 60, "2001:db8:2:1::10", "root"));
    let got: Vec<(&str, bool)> = again
        .iter()
        .map(|a| (a.anomaly.as_str(), a.notify))
        .collect();
    assert_eq!(got, [("unusual_location", false), ("unusual_ip", true)]);
    assert_eq!(again[0].alert.key, loc.key, "the store updates one alert");
    // 30 quiet days later the key notifies again.
    let later = h.check(&success(t + 31 * DAY, "2001:db8:2:2::11", "root"));
    assert!(later[0].notify);
}

#[test]
fn six_successful_logins_approve_an_ip_and_its_place() {
    let mut h = Host::learned();
    let t = T0 + 2 * DAY;
    let mut notified = Vec::new();
    for n in 1..=7 {
        let alerts = h.check(&success(t + n * HOUR, "198.51.100.20", "root"));
        let want: &[&str] = if n < 6 {
            &["unusual_location", "unusual_ip"]
        } else {
            &[]
        };
        assert_eq!(anomalies(&alerts), want, "login {n}");
        notified.extend(alerts.iter().filter(|a| a.notify).map(|_| n));
    }
    assert_eq!(notified, [1, 1], "only the first login notifies");
    let seen = h.state.ip(ip("198.51.100.20")).unwrap();
    assert_eq!((seen.successes, seen.approved), (7, Some(Approval::Auto)));
    // Its place is approved for other addresses too; the account was already known.
    assert_eq!(h.login(t + DAY, "198.51.100.99", "root"), ["unusual_ip"]);
}

#[test]
fn internal_sources_never_alert_on_location_or_ip() {
    let mut h = Host::learned();
    let internal = [
        "10.0.0.5",
        "172.16.4.4",
        "192.168.1.9",
        "100.64.0.1",
        "127.0.0.1",
        "fd00::5",
        "fe80::1%eth0",
        "::ffff:10.1.1.1",
    ];
    for src in internal {
        assert!(h.login(T0 + 2 * DAY, src, "newuser").is_empty(), "{src}");
    }
    // Nothing internal was learned either.
    assert!(h.state.ip(ip("10.0.0.5")).is_none());
    // Failures and local logins are not the model's business.
    let mut failed = success(T0 + 2 * DAY, "2001:db8:2::9", "root");
    failed.outcome = LoginOutcome::Failure;
    assert!(h.check(&failed).is_empty());
    let mut local = success(T0 + 2 * DAY, "", "root");
    local.source = None;
    assert!(h.check(&local).is_empty());
    assert!(h
        .login(T0 + 2 * DAY, "bastion.example.net", "root")
        .is_empty());
}

#[test]
fn mapped_and_bracketed_sources_are_the_same_ip() {
    let mut h = Host::learned();
    for src in [
        "::ffff:203.0.113.10",
        "[::ffff:203.0.113.10]:22",
        "203.0.113.10:2222",
    ] {
        assert!(h.login(T0 + 2 * DAY, src, "root").is_empty(), "{src}");
    }
    let a = h.check(&success(T0 + 2 * DAY, "::ffff:198.51.100.5", "root"));
    assert_eq!(a[1].alert.key, "login:ip:198.51.100.5");
    assert_eq!(field(&a[1].alert, "source_ip"), "198.51.100.5");
}

#[test]
fn ipv6_addresses_are_known_by_their_64() {
    let mut h = Host::learned();
    let t = T0 + 2 * DAY;
    // A daily new privacy address in one /64 counts towards one approval.
    for day in 1..=6 {
        let src = format!("2001:db8:1:7:{day:x}::1");
        let want: &[&str] = if day < 6 {
            &["unusual_location", "unusual_ip"]
        } else {
            &[]
        };
        assert_eq!(h.login(t + day * DAY, &src, "root"), want, "day {day}");
    }
    assert!(h
        .login(t + 7 * DAY, "2001:db8:1:7:abcd::99", "root")
        .is_empty());
    // The neighbouring /64 is another network.
    assert_eq!(
        h.login(t + 7 * DAY, "2001:db8:1:8::1", "root"),
        ["unusual_ip"]
    );
    let seen = h.state.ip(ip("2001:db8:1:7::5")).unwrap();
    assert_eq!(seen.approved, Some(Approval::Auto));
}

#[test]
fn an_ip_without_a_location_alerts_on_ip_only() {
    let mut h = Host::learned();
    // 2001:db8:ff::/48 is not in the test geolocation table.
    assert_eq!(
        h.login(T0 + 2 * DAY, "2001:db8:ff::1", "root"),
        ["unusual_ip"]
    );
    let mut state = HostLoginState::new();
    let inputs = Inputs::new(&NoGeo);
    let ev = success(T0, "198.51.100.1", "root");
    let policy = LoginPolicy::default();
    assert!(LoginModel::observe(&mut state, &policy, &inputs, &ev, T0).is_empty());
    assert!(state.approved_places().is_empty());
}

#[test]
fn configured_time_ranges_wrap_past_midnight() {
    // Approved 22:00-06:00 at UTC+08:00 (a night shift), and 12:00-13:00.
    let windows = TimeWindows {
        utc_offset_mins: 480,
        ranges: vec![
            TimeRange::parse("22:00-06:00").unwrap(),
            TimeRange::parse("12:00-13:00").unwrap(),
        ],
    };
    let midnight_utc = 1_700_092_800; // 2023-11-16 00:00:00 UTC, after learning
    assert_eq!(midnight_utc % DAY, 0);
    assert!(midnight_utc > T0 + DAY);
    // (UTC hour:minute, allowed)
    let cases = [
        ((14, 0), true),   // 22:00 local
        ((13, 59), false), // 21:59 local
        ((16, 0), true),   // 00:00 local
        ((21, 59), true),  // 05:59 local
        ((22, 0), false),  // 06:00 local
        ((4, 0), true),    // 12:00 local
        ((5, 0), false),   // 13:00 local
        ((2, 0), false),   // 10:00 local
    ];
    for ((h, m), want) in cases {
        let t = midnight_utc + h * HOUR + m * 60;
        let mut host = Host::learned();
        host.policy.times = Some(windows.clone());
        let got = host.check(&success(t, "203.0.113.10", "root"));
        if want {
            assert!(got.is_empty(), "{h:02}:{m:02} UTC");
        } else {
            assert_eq!(anomalies(&got), ["outside_time"], "{h:02}:{m:02} UTC");
            assert_eq!(got[0].alert.key, "login:time:root@203.0.113.10");
            assert_eq!(
                field(&got[0].alert, "approved_times"),
                "22:00-06:00, 12:00-13:00 UTC+08:00"
            );
        }
    }
    // Negative offsets, and internal sources are held to the hours too.
    let west = TimeWindows {
        utc_offset_mins: -300,
        ranges: vec![TimeRange::parse("08:00-18:00").unwrap()],
    };
    assert!(west.allows(midnight_utc + 13 * HOUR)); // 08:00 UTC-05:00
    assert!(!west.allows(midnight_utc + 12 * HOUR + 59 * 60));
    assert_eq!(west.to_string(), "08:00-18:00 UTC-05:00");
    let mut host = Host::learned();
    host.policy.times = Some(west);
    assert_eq!(
        host.login(midnight_utc + 2 * HOUR, "10.0.0.5", "root"),
        ["outside_time"]
    );
    // Configured hours alert during learning as well: they do not depend on a baseline.
    let mut host = Host::new();
    host.policy.times = Some(TimeWindows {
        utc_offset_mins: 0,
        ranges: vec![TimeRange::parse("08:00-09:00").unwrap()],
    });
    assert_eq!(
        host.login(midnight_utc + 3 * HOUR, "203.0.113.10", "root"),
        ["outside_time"]
    );
}

#[test]
fn time_ranges_parse() {
    let ok = [
        ("08:00-22:00", "08:00-22:00"),
        ("8:00 - 22:00", "08:00-22:00"),
        ("22:00-06:00", "22:00-06:00"),
        ("00:00-24:00", "00:00-24:00"),
        ("23:59-00:00", "23:59-00:00"),
    ];
    for (input, want) in ok {
        assert_eq!(
            TimeRange::parse(input).unwrap().to_string(),
            want,
            "{input}"
        );
    }
    let bad = [
        "",
        "08:00",
        "08:00-",
        "8-22",
        "08:0-22:00",
        "24:00-06:00",
        "08:00-24:01",
        "08:60-09:00",
        "25:00-26:00",
        "08:00-08:00",
        "-1:00-02:00",
        "a:bc-22:00",
    ];
    for input in bad {
        assert!(
            matches!(TimeRange::parse(input), Err(Error::TimeRange { .. })),
            "{input:?}"
        );
    }
    let r = TimeRange::parse("00:00-24:00").unwrap();
    assert!(r.contains(0) && r.contains(1439));
    let wrap = TimeRange::parse("22:00-06:00").unwrap();
    assert!(wrap.contains(22 * 60) && wrap.contains(0) && !wrap.contains(6 * 60));
    assert!(TimeRange::new(0, 1440).is_ok() && TimeRange::new(1440, 0).is_err());
}

#[test]
fn configured_networks_replace_learned_ips() {
    let mut h = Host::learned();
    h.policy.ips = Some(vec![
        Cidr::parse("198.51.100.0/24").unwrap(),
        Cidr::parse("2001:db8:1::/48").unwrap(),
    ]);
    // (source, anomalies): the learned 203.0.113.10 no longer counts for the IP factor,
    // its place still does.
    let cases: &[(&str, &[&str])] = &[
        ("198.51.100.77", &["unusual_location"]),
        ("2001:db8:1::9", &["unusual_location"]),
        ("203.0.113.10", &["unusual_ip"]),
    ];
    for (src, want) in cases {
        assert_eq!(h.login(T0 + 2 * DAY, src, "root"), *want, "{src}");
    }
    // Configured places likewise: a country covers its regions, a region only itself.
    h.policy.locations = Some(vec![Place::country("jp"), Place::region("DE", "Bavaria")]);
    let cases: &[(&str, &[&str])] = &[
        ("198.51.100.77", &[]),
        ("2001:db8:1::9", &["unusual_location"]),
        ("203.0.113.10", &["unusual_location", "unusual_ip"]),
    ];
    for (src, want) in cases {
        assert_eq!(h.login(T0 + 2 * DAY, src, "root"), *want, "{src}");
    }
    // And accounts: only the configured ones count, from internal sources too.
    h.policy.accounts = Some(BTreeSet::from(["ops".to_string()]));
    assert_eq!(
        h.login(T0 + 2 * DAY, "198.51.100.77", "ops"),
        Vec::<&str>::new()
    );
    assert_eq!(
        h.login(T0 + 2 * DAY, "198.51.100.77", "root"),
        ["unusual_account"]
    );
    assert_eq!(
        h.login(T0 + 2 * DAY, "10.0.0.5", "root"),
        ["unusual_account"]
    );
    // Location alerts can be turned off for a host.
    h.policy.location_alerts = Some(false);
    assert_eq!(
        h.login(T0 + 2 * DAY, "2001:db8:1::9", "ops"),
        Vec::<&str>::new()
    );
}

#[test]
fn host_policy_wins_over_group_over_global() {
    let net = |s: &str| Some(vec![Cidr::parse(s).unwrap()]);
    let global = LoginPolicy {
        ips: net("192.0.2.0/24"),
        accounts: Some(BTreeSet::from(["root".to_string()])),
        ..LoginPolicy::default()
    };
    let group = LoginPolicy {
        ips: net("198.51.100.0/24"),
        ..LoginPolicy::default()
    };
    let host = LoginPolicy {
        ips: net("203.0.113.0/24"),
        ..LoginPolicy::default()
    };
    let empty_host = LoginPolicy {
        ips: Some(Vec::new()),
        ..LoginPolicy::default()
    };
    let none = LoginPolicy::default();
    // (host, group, want approved network; None = learning)
    let cases = [
        (&host, &group, Some("203.0.113.0/24")),
        (&none, &group, Some("198.51.100.0/24")),
        (&none, &none, Some("192.0.2.0/24")),
        (&empty_host, &group, None),
    ];
    for (h, g, want) in cases {
        let merged = LoginPolicy::merged(h, g, &global);
        let got = LoginPolicy::configured(&merged.ips).map(|n| n[0].to_string());
        assert_eq!(got.as_deref(), want);
        // Factors not set at host or group come from the global scope.
        assert_eq!(merged.accounts, global.accounts);
    }
    // The same through the model: a group's network approves, a host's replaces it.
    let mut h = Host::learned();
    h.policy = LoginPolicy::merged(&none, &group, &global);
    assert_eq!(
        h.login(T0 + 2 * DAY, "198.51.100.5", "root"),
        ["unusual_location"]
    );
    h.policy = LoginPolicy::merged(&host, &group, &global);
    assert_eq!(
        h.login(T0 + 2 * DAY, "198.51.100.5", "root"),
        ["unusual_location", "unusual_ip"]
    );
    // A host that clears the setting goes back to learned IPs.
    h.policy = LoginPolicy::merged(&empty_host, &group, &global);
    assert_eq!(
        h.login(T0 + 2 * DAY, "203.0.113.10", "root"),
        Vec::<&str>::new()
    );
}

#[test]
fn threat_factors_alert_even_while_learning_and_are_never_learned() {
    // (what, setup, after brute force, want (anomaly, level))
    type Case = (
        &'static str,
        fn(&mut Host),
        bool,
        &'static [(&'static str, Level)],
    );
    let cases: &[Case] = &[
        (
            "malicious IP",
            |h| h.malicious = vec![Cidr::parse("198.51.100.0/28").unwrap()],
            false,
            &[("malicious_ip", Level::Urgent)],
        ),
        (
            "weak password",
            |h| h.weak = BTreeSet::from(["root".to_string()]),
            false,
            &[("weak_password", Level::Suspicious)],
        ),
        (
            "backdoor account",
            |h| h.backdoor = BTreeSet::from(["root".to_string()]),
            false,
            &[("backdoor_account", Level::Urgent)],
        ),
        (
            "after brute force",
            |_| {},
            true,
            &[("after_bruteforce", Level::Urgent)],
        ),
        ("clean", |_| {}, false, &[]),
        (
            "malicious list without this IP",
            |h| h.malicious = vec![Cidr::parse("198.51.100.16/28").unwrap()],
            false,
            &[],
        ),
        (
            "weak password of another account",
            |h| h.weak = BTreeSet::from(["guest".to_string()]),
            false,
            &[],
        ),
    ];
    for (what, setup, after_bf, want) in cases {
        let mut h = Host::new();
        setup(&mut h);
        // The very first login of the host: learning would start with it.
        let alerts = h.check_with(&success(T0, "198.51.100.3", "root"), *after_bf);
        let got: Vec<(&str, Level)> = alerts
            .iter()
            .map(|a| (a.anomaly.as_str(), a.alert.level))
            .collect();
        assert_eq!(got, *want, "{what}");
        assert!(alerts
            .iter()
            .all(|a| a.notify && a.alert.kind == AlertKind::AbnormalLogin));
        let threat = want
            .iter()
            .any(|(a, _)| *a == "malicious_ip" || *a == "after_bruteforce");
        assert_eq!(
            h.state.learning_since().is_none(),
            threat,
            "{what}: a threat is not learned as usual"
        );
    }
    // From an internal address too.
    let mut h = Host::learned();
    h.malicious = vec![Cidr::parse("10.9.0.0/16").unwrap()];
    let a = h.check_with(&success(T0 + 2 * DAY, "10.9.8.7", "root"), true);
    assert_eq!(anomalies(&a), ["malicious_ip", "after_bruteforce"]);
    assert_eq!(a[0].alert.key, "login:malicious:10.9.8.7");
    assert_eq!(a[1].alert.key, "login:after_bruteforce:10.9.8.7");
}

#[test]
fn manual_approval_and_revocation() {
    let mut h = Host::learned();
    let t = T0 + 2 * DAY;
    h.state.approve_place(Place::region("US", "Oregon"), t);
    h.state.approve_ip(ip("2001:db8:2::9"), t);
    h.state.approve_account("deploy", t);
    assert!(h.login(t, "2001:db8:2::9", "deploy").is_empty());
    h.state.revoke_ip(ip("2001:db8:2::9"));
    h.state.revoke_place(&Place::region("US", "Oregon"));
    h.state.revoke_account("deploy");
    assert_eq!(
        h.login(t, "2001:db8:2::9", "deploy"),
        ["unusual_location", "unusual_ip", "unusual_account"]
    );
}

#[test]
fn absurd_log_times_do_not_overflow() {
    let mut h = Host::new();
    h.policy.times = Some(TimeWindows {
        utc_offset_mins: -720,
        ranges: vec![TimeRange::parse("08:00-18:00").unwrap()],
    });
    for t in [i64::MIN, i64::MAX, 0, i64::MIN + 1, i64::MAX - 1] {
        let ev = success(t, "198.51.100.1", "root");
        let inputs = Inputs::new(&geo);
        for now in [i64::MIN, 0, i64::MAX] {
            LoginModel::observe(&mut h.state, &h.policy, &inputs, &ev, now);
        }
    }
}

#[test]
fn memory_is_bounded() {
    let mut h = Host::learned();
    let t = T0 + 2 * DAY;
    for i in 0..=MAX_TRACKED as u32 {
        // Walk 2001:db8:3::/48 (no location), one new /64 per login.
        let src = format!("2001:db8:3:{i:x}::1");
        h.check(&success(t + i64::from(i), &src, "root"));
    }
    assert!(h.state.ips.len() <= MAX_TRACKED);
    assert!(h.state.notified.len() <= MAX_NOTIFIED);
    // The approved, learned IP survived the churn.
    assert!(h.state.ip(ip("203.0.113.10")).is_some());
    // Unapproved IPs are forgotten after 30 quiet days, approved ones kept.
    h.state.prune(t + 40 * DAY);
    assert_eq!(h.state.ips.len(), 1);
    assert!(h.state.notified.is_empty());
}

#[cfg(feature = "serde")]
#[test]
fn state_and_policy_round_trip_through_serde() {
    let mut h = Host::learned();
    h.login(T0 + 2 * DAY, "2001:db8:2::9", "root");
    let json = serde_json::to_string(&h.state).unwrap();
    let back: HostLoginState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h.state);
    let policy = LoginPolicy {
        locations: Some(vec![Place::region("JP", "Tokyo")]),
        ips: Some(vec![Cidr::parse("203.0.113.0/24").unwrap()]),
        times: Some(TimeWindows {
            utc_offset_mins: 480,
            ranges: vec![TimeRange::parse("22:00-06:00").unwrap()],
        }),
        accounts: None,
        location_alerts: Some(true),
    };
    let json = serde_json::to_string(&policy).unwrap();
    assert!(
        json.contains("\"22:00-06:00\"") && json.contains("\"203.0.113.0/24\""),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<LoginPolicy>(&json).unwrap(), policy);
    assert_eq!(
        serde_json::from_str::<LoginPolicy>("{}").unwrap(),
        LoginPolicy::default()
    );
    let bad = r#"{"times":{"utc_offset_mins":0,"ranges":["08:00-08:00"]}}"#;
    assert!(serde_json::from_str::<LoginPolicy>(bad).is_err());
}
