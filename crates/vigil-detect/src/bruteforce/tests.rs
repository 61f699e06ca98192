//! Tests of the brute-force rule: limits and windows, blocks and their expiry, whitelists, slow and
//! spray attacks, bounded memory, serde round trips.

use super::*;
use vigil_model::LoginMethod;

const T0: Timestamp = 1_700_000_000;
const ATTACKER: &str = "203.0.113.9";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn login(time: Timestamp, src: &str, user: &str, outcome: LoginOutcome) -> LoginEvent {
    LoginEvent {
        time,
        service: "sshd".into(),
        user: user.into(),
        source: Some(src.into()),
        port: Some(22),
        method: Some(LoginMethod::Password),
        outcome,
        reason: None,
    }
}

fn fail(time: Timestamp, src: &str) -> LoginEvent {
    login(time, src, "root", LoginOutcome::Failure)
}

fn rule(span: u32, max: u32, block: BlockDuration) -> BruteForceRule {
    BruteForceRule::new(
        span,
        max,
        block,
        [LoginProtocol::Ssh, LoginProtocol::Ftp, LoginProtocol::Mysql],
        true,
    )
    .unwrap()
}

fn engine(rule: BruteForceRule) -> BruteForce {
    BruteForce::new(BruteForceConfig {
        rule,
        ..BruteForceConfig::default()
    })
}

/// Feeds `n` failures from `src`, `gap` seconds apart from `start`; returns every decision.
fn burst(
    bf: &mut BruteForce,
    src: &str,
    start: Timestamp,
    n: i64,
    gap: i64,
    now: Timestamp,
) -> Vec<Decision> {
    (0..n)
        .flat_map(|i| bf.observe(&fail(start + i * gap, src), now))
        .collect()
}

fn blocks(ds: &[Decision]) -> Vec<&Block> {
    ds.iter().filter_map(Decision::block).collect()
}

fn field<'a>(a: &'a NewAlert, name: &str) -> &'a str {
    a.evidence
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v)
}

#[test]
fn default_rule_is_more_than_80_in_10_minutes_for_6_hours() {
    let r = BruteForceRule::default();
    assert_eq!(
        (r.span_mins(), r.max_failures(), r.block(), r.enabled()),
        (10, 80, BlockDuration::Minutes(360), true)
    );
    assert_eq!(
        r.protocols().iter().copied().collect::<Vec<_>>(),
        [LoginProtocol::Ssh, LoginProtocol::Ftp, LoginProtocol::Mysql]
    );
    assert_eq!(r, rule(10, 80, BlockDuration::minutes(360).unwrap()));
}

#[test]
fn rule_settings_outside_the_choices_are_refused() {
    let ssh = [LoginProtocol::Ssh];
    let six_h = BlockDuration::Minutes(360);
    let cases: Vec<(Result<BruteForceRule, Error>, &str)> = vec![
        (
            BruteForceRule::new(3, 80, six_h, ssh, true),
            "span minutes 3",
        ),
        (
            BruteForceRule::new(0, 80, six_h, ssh, true),
            "span minutes 0",
        ),
        (
            BruteForceRule::new(10, 81, six_h, ssh, true),
            "max failures 81",
        ),
        (
            BruteForceRule::new(10, 1, six_h, ssh, true),
            "max failures 1",
        ),
        (
            BruteForceRule::new(10, 80, BlockDuration::Minutes(7), ssh, true),
            "block minutes 7",
        ),
        (
            BruteForceRule::new(10, 80, six_h, [LoginProtocol::Local], true),
            "local logins",
        ),
        (BruteForceRule::new(10, 80, six_h, [], true), "no protocol"),
    ];
    for (result, want) in cases {
        let msg = result.unwrap_err().to_string();
        assert!(msg.contains(want), "{msg:?} lacks {want:?}");
    }
    assert!(BlockDuration::minutes(45).is_err());
    let msg = BlockDuration::minutes(45).unwrap_err().to_string();
    assert!(msg.contains("10080 or permanent"), "{msg}");
    for span in SPAN_CHOICES {
        for max in FAILURE_CHOICES {
            for m in BLOCK_CHOICES_MINS {
                assert!(
                    BruteForceRule::new(span, max, BlockDuration::Minutes(m), ssh, false).is_ok()
                );
            }
            assert!(BruteForceRule::new(span, max, BlockDuration::Permanent, ssh, true).is_ok());
        }
    }
    assert!(SprayRule::new(1, 30).is_err());
    assert!(SprayRule::new(10, 10_001).is_err());
    assert_eq!(SprayRule::new(10, 30), Ok(SprayRule::default()));
}

#[test]
fn more_than_the_limit_blocks_and_the_limit_itself_does_not() {
    // (failures within the window, blocked?)
    let cases = [(79, false), (80, false), (81, true), (120, true)];
    for (n, want) in cases {
        let mut bf = engine(BruteForceRule::default());
        let now = T0 + 3_600;
        let ds = burst(&mut bf, ATTACKER, T0, n, 5, now);
        let b = blocks(&ds);
        assert_eq!(b.len(), usize::from(want), "{n} failures");
        if want {
            let b = b[0];
            assert_eq!(
                (b.ip, b.until, b.failures, b.first, b.last, b.protocol),
                (
                    ip(ATTACKER),
                    Some(now + 6 * 3_600),
                    81,
                    T0,
                    T0 + 80 * 5,
                    LoginProtocol::Ssh
                )
            );
            assert_eq!(b.users, ["root"]);
            let a = ds[0].alert();
            assert_eq!(
                (a.kind, a.level),
                (AlertKind::BruteForce, Level::Suspicious)
            );
            assert_eq!(a.key, "brute_force:203.0.113.9");
            assert_eq!(field(a, "source_ip"), ATTACKER);
            assert_eq!(field(a, "failures"), "81");
            assert_eq!(field(a, "window"), "10 minutes");
            assert_eq!(
                field(a, "action"),
                format!("blocked until {}", now + 21_600)
            );
            assert!(bf.is_blocked(ip(ATTACKER), now));
        }
    }
}

#[test]
fn the_window_slides() {
    // 41 failures, then 41 more `gap` seconds later: 82 is more than 80 only when both
    // bursts fit in one 10-minute window, which is half-open: (newest - 600 s, newest].
    let cases = [(660, false), (600, false), (599, true), (540, true)];
    for (gap, want) in cases {
        let mut bf = engine(BruteForceRule::default());
        let mut ds = burst(&mut bf, ATTACKER, T0, 41, 0, T0);
        ds.extend(burst(&mut bf, ATTACKER, T0 + gap, 41, 0, T0 + gap));
        assert_eq!(blocks(&ds).len(), usize::from(want), "bursts {gap} s apart");
    }
    // 80 failures, then 1 more 11 minutes after the first: the old ones have slid out.
    let mut bf = engine(BruteForceRule::default());
    let ds = burst(&mut bf, ATTACKER, T0, 80, 1, T0);
    assert!(ds.is_empty());
    let ds = bf.observe(&fail(T0 + 11 * 60, ATTACKER), T0);
    assert!(blocks(&ds).is_empty());
    // (81 failures spread over 11 minutes under the limit are a slow brute force.)
    assert_eq!(field(ds[0].alert(), "anomaly"), "slow_brute_force");
    // A failure logged out of order still lands in its place in the window.
    let mut bf = engine(rule(1, 2, BlockDuration::Minutes(5)));
    assert!(bf.observe(&fail(T0 + 50, ATTACKER), T0).is_empty());
    assert!(bf.observe(&fail(T0 + 200, ATTACKER), T0).is_empty());
    let ds = bf.observe(&fail(T0 + 20, ATTACKER), T0);
    assert!(ds.is_empty(), "T0+20 and T0+50 are 2, not more than 2");
    let ds = bf.observe(&fail(T0 + 30, ATTACKER), T0);
    assert!(
        ds.is_empty(),
        "the window ends at the newest failure, T0+200"
    );
    let ds = bf.observe(&fail(T0 + 201, ATTACKER), T0);
    assert!(ds.is_empty());
    let ds = bf.observe(&fail(T0 + 202, ATTACKER), T0);
    assert_eq!(blocks(&ds).len(), 1);
}

#[test]
fn counts_are_per_source_and_per_protocol_set() {
    let mut bf = engine(rule(5, 3, BlockDuration::Minutes(15)));
    for i in 0..3 {
        assert!(bf.observe(&fail(T0 + i, "203.0.113.1"), T0).is_empty());
        assert!(bf.observe(&fail(T0 + i, "203.0.113.2"), T0).is_empty());
    }
    // FTP and MySQL failures count with SSH ones: the block is per address.
    let mut ftp = fail(T0 + 5, "203.0.113.1");
    ftp.service = "vsftpd".into();
    let ds = bf.observe(&ftp, T0);
    assert_eq!(blocks(&ds)[0].protocol, LoginProtocol::Ftp);
    // A rule over SSH only does not count MySQL failures, nor local ones.
    let ssh_only =
        BruteForceRule::new(5, 2, BlockDuration::Minutes(15), [LoginProtocol::Ssh], true).unwrap();
    let mut bf = engine(ssh_only);
    for i in 0..10 {
        let mut e = fail(T0 + i, ATTACKER);
        e.service = if i % 2 == 0 { "mysqld" } else { "su" }.into();
        assert!(bf.observe(&e, T0).is_empty());
    }
    assert_eq!(bf.tracked_sources(), 0);
}

#[test]
fn an_active_block_is_not_repeated_and_expiry_allows_a_new_one() {
    let mut bf = engine(rule(10, 10, BlockDuration::Minutes(60)));
    let ds = burst(&mut bf, ATTACKER, T0, 11, 1, T0 + 11);
    assert_eq!(blocks(&ds)[0].until, Some(T0 + 11 + 3_600));
    // Late-arriving failures during the block: nothing.
    let ds = burst(&mut bf, ATTACKER, T0 + 20, 50, 1, T0 + 100);
    assert!(ds.is_empty());
    assert!(bf.is_blocked(ip(ATTACKER), T0 + 3_610));
    assert!(!bf.is_blocked(ip(ATTACKER), T0 + 3_611));
    // After expiry it has to cross the limit anew: 10 failures are not enough, 11 are.
    let later = T0 + 4_000;
    assert!(burst(&mut bf, ATTACKER, later, 10, 1, later + 10).is_empty());
    let ds = bf.observe(&fail(later + 10, ATTACKER), later + 10);
    let b = blocks(&ds);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].until, Some(later + 10 + 3_600));
    assert_eq!(
        ds[0].alert().key,
        "brute_force:203.0.113.9",
        "same alert updated"
    );
    // An operator's unblock lets it be blocked again at once on the next crossing.
    bf.unblock(ip(ATTACKER));
    assert!(!bf.is_blocked(ip(ATTACKER), later + 20));
    assert_eq!(
        blocks(&burst(&mut bf, ATTACKER, later + 20, 11, 1, later + 31)).len(),
        1
    );
}

#[test]
fn permanent_blocks_never_expire() {
    let mut bf = engine(rule(1, 2, BlockDuration::Permanent));
    let ds = burst(&mut bf, ATTACKER, T0, 3, 1, T0);
    let b = blocks(&ds);
    assert_eq!(b[0].until, None);
    assert_eq!(field(ds[0].alert(), "action"), "blocked permanently");
    let years = T0 + 10 * 365 * 86_400;
    bf.prune(years);
    assert!(bf.is_blocked(ip(ATTACKER), years));
    assert!(burst(&mut bf, ATTACKER, years, 10, 1, years).is_empty());
}

#[test]
fn whitelisted_loopback_and_disabled_never_block_but_still_alert() {
    let wl = AccessWhitelist(vec![
        Cidr::parse("198.51.100.0/24").unwrap(),
        Cidr::parse("2001:db8:aa::/48").unwrap(),
    ]);
    let cases: &[(&str, bool, Option<&str>)] = &[
        ("198.51.100.77", true, Some("not blocked: access whitelist")),
        (
            "::ffff:198.51.100.77",
            true,
            Some("not blocked: access whitelist"),
        ),
        (
            "2001:db8:aa::5",
            true,
            Some("not blocked: access whitelist"),
        ),
        ("127.0.0.1", true, Some("not blocked: loopback")),
        ("::1", true, Some("not blocked: loopback")),
        (
            "203.0.113.9",
            false,
            Some("not blocked: defense rule disabled"),
        ),
        // Private sources are blocked: lateral movement is an attack too.
        ("10.0.0.7", true, None),
        ("192.168.1.20", true, None),
        ("2001:db8:bb::5", true, None),
    ];
    for (src, enabled, exempt) in cases {
        let r = BruteForceRule::new(
            1,
            2,
            BlockDuration::Minutes(5),
            [LoginProtocol::Ssh],
            *enabled,
        )
        .unwrap();
        let mut bf = BruteForce::new(BruteForceConfig {
            rule: r,
            whitelist: wl.clone(),
            ..BruteForceConfig::default()
        });
        let ds = burst(&mut bf, src, T0, 3, 1, T0);
        assert_eq!(ds.len(), 1, "{src}");
        match exempt {
            Some(why) => {
                assert!(ds[0].block().is_none(), "{src} must not be blocked");
                assert_eq!(field(ds[0].alert(), "action"), *why, "{src}");
                assert!(!bf.is_blocked(ip(src), T0));
            }
            None => assert!(ds[0].block().is_some(), "{src} must be blocked"),
        }
    }
}

#[test]
fn ipv6_and_mapped_sources_are_one_address() {
    let mut bf = engine(rule(1, 2, BlockDuration::Minutes(5)));
    bf.observe(&fail(T0, "::ffff:192.0.2.10"), T0);
    bf.observe(&fail(T0 + 1, "192.0.2.10"), T0);
    let ds = bf.observe(&fail(T0 + 2, "[::ffff:192.0.2.10]:5022"), T0);
    assert_eq!(blocks(&ds)[0].ip, ip("192.0.2.10"));
    assert_eq!(ds[0].alert().key, "brute_force:192.0.2.10");

    let mut bf = engine(rule(1, 2, BlockDuration::Minutes(5)));
    bf.observe(&fail(T0, "2001:db8::66"), T0);
    bf.observe(&fail(T0 + 1, "2001:DB8::66"), T0);
    let ds = bf.observe(&fail(T0 + 2, "[2001:db8::66]:22"), T0);
    assert_eq!(blocks(&ds)[0].ip, ip("2001:db8::66"));
    assert_eq!(field(ds[0].alert(), "source_ip"), "2001:db8::66");
    // Host names and local logins carry nothing to block.
    let mut bf = engine(rule(1, 2, BlockDuration::Minutes(5)));
    for i in 0..5 {
        assert!(bf
            .observe(&fail(T0 + i, "scanner.example.net"), T0)
            .is_empty());
        let mut local = fail(T0 + i, "");
        local.source = None;
        assert!(bf.observe(&local, T0).is_empty());
    }
    assert_eq!(bf.tracked_sources(), 0);
}

#[test]
fn success_after_crossing_is_a_successful_brute_force() {
    let ok = |t: Timestamp, src: &str| login(t, src, "admin", LoginOutcome::Success);
    // (failures before the success, gap between them, want urgent?)
    let cases = [
        (81, 1, true),  // crossed, blocked, then got in (block applied late)
        (80, 1, true),  // reached the limit and guessed right on the next try
        (79, 1, false), // the owner mistyping a password does not look like this
        (0, 1, false),
    ];
    for (n, gap, want) in cases {
        let mut bf = engine(BruteForceRule::default());
        burst(&mut bf, ATTACKER, T0, n, gap, T0);
        let success = ok(T0 + 100, ATTACKER);
        assert_eq!(bf.success_after_bruteforce(&success), want, "{n}");
        let ds = bf.observe(&success, T0 + 100);
        assert_eq!(ds.len(), usize::from(want), "{n}");
        if want {
            let a = ds[0].alert();
            assert_eq!((a.kind, a.level), (AlertKind::BruteForce, Level::Urgent));
            assert_eq!(a.key, "brute_force:203.0.113.9");
            assert_eq!(field(a, "user"), "admin");
        }
        // Another source's success is not affected.
        assert!(!bf.success_after_bruteforce(&ok(T0 + 100, "198.51.100.1")));
    }
    // Within 24 hours of the crossing, not after.
    let mut bf = engine(BruteForceRule::default());
    burst(&mut bf, ATTACKER, T0, 81, 1, T0);
    let crossed = T0 + 80;
    assert!(bf.success_after_bruteforce(&ok(crossed + 86_400, ATTACKER)));
    assert!(!bf.success_after_bruteforce(&ok(crossed + 86_401, ATTACKER)));
    // A failure is never a success after brute force.
    assert!(!bf.success_after_bruteforce(&fail(crossed + 1, ATTACKER)));
}

#[test]
fn slow_brute_force_and_password_spray_alert_without_blocking() {
    let spray_of = |n: i64| -> Vec<LoginEvent> {
        (0..n)
            .map(|i| {
                login(
                    T0 + i * 120,
                    ATTACKER,
                    &format!("user{i}"),
                    LoginOutcome::Failure,
                )
            })
            .collect()
    };
    // (events, want alert anomaly)
    let cases: Vec<(&str, Vec<LoginEvent>, Option<&str>)> = vec![
        (
            "10 users in 18 minutes",
            spray_of(10),
            Some("password_spray"),
        ),
        ("9 users in an hour", spray_of(9), None),
        (
            "10 users over 2 hours",
            (0..10)
                .map(|i| {
                    login(
                        T0 + i * 800,
                        ATTACKER,
                        &format!("u{i}"),
                        LoginOutcome::Failure,
                    )
                })
                .collect(),
            None,
        ),
        (
            "30 failures over 20 hours",
            (0..30).map(|i| fail(T0 + i * 2_400, ATTACKER)).collect(),
            Some("slow_brute_force"),
        ),
        (
            "29 failures over 20 hours",
            (0..29).map(|i| fail(T0 + i * 2_500, ATTACKER)).collect(),
            None,
        ),
        (
            "30 failures over 30 hours",
            (0..30).map(|i| fail(T0 + i * 3_700, ATTACKER)).collect(),
            None,
        ),
    ];
    for (what, events, want) in cases {
        let mut bf = engine(BruteForceRule::default());
        let ds: Vec<Decision> = events.iter().flat_map(|e| bf.observe(e, e.time)).collect();
        let got: Vec<&str> = ds.iter().map(|d| field(d.alert(), "anomaly")).collect();
        assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{what}");
        assert!(
            blocks(&ds).is_empty(),
            "{what}: a slow attack is not blocked"
        );
        if let Some(d) = ds.first() {
            let a = d.alert();
            assert_eq!(
                (a.kind, a.level),
                (AlertKind::BruteForce, Level::Suspicious)
            );
            assert_eq!(a.key, "slow_brute_force:203.0.113.9");
            assert_eq!(field(a, "source_ip"), ATTACKER);
        }
    }
    // Re-raised at most once an hour while it goes on.
    let mut bf = engine(BruteForceRule::default());
    let ds: Vec<Decision> = spray_of(40)
        .iter()
        .flat_map(|e| bf.observe(e, e.time))
        .collect();
    // 40 failures 2 minutes apart span 78 minutes: first alert at 18 min, again at 78.
    assert_eq!(ds.len(), 2);
    // Turned off: nothing.
    let mut bf = BruteForce::new(BruteForceConfig {
        spray: None,
        ..BruteForceConfig::default()
    });
    assert!(spray_of(40)
        .iter()
        .all(|e| bf.observe(e, e.time).is_empty()));
}

#[test]
fn a_fast_attack_is_left_to_the_fast_rule() {
    // A dictionary attack over many accounts, one try a second: blocked at the limit, with
    // no slow or spray alert on the way up although it passed 30 failures and 10 accounts.
    let mut bf = engine(BruteForceRule::default());
    let ds: Vec<Decision> = (0..81)
        .flat_map(|i| {
            let e = login(T0 + i, ATTACKER, &format!("user{i}"), LoginOutcome::Failure);
            bf.observe(&e, T0 + 100)
        })
        .collect();
    assert_eq!(ds.len(), 1);
    assert!(ds[0].block().is_some());
    assert_eq!(
        ds[0].block().unwrap().users.len(),
        10,
        "the most recent few accounts"
    );
    // Just under the limit for 15 minutes (one try every 8 s, 75 a window): never
    // blocked, reported once as slow when the evidence outlasts one window.
    let mut bf = engine(BruteForceRule::default());
    let ds = burst(&mut bf, ATTACKER, T0, 113, 8, T0);
    assert!(blocks(&ds).is_empty());
    let got: Vec<(&str, &str)> = ds
        .iter()
        .map(|d| (field(d.alert(), "anomaly"), field(d.alert(), "failures")))
        .collect();
    assert_eq!(got, [("slow_brute_force", "77")]);
}

#[test]
fn absurd_log_times_do_not_overflow() {
    let mut bf = engine(rule(1, 2, BlockDuration::Minutes(10080)));
    for t in [i64::MIN, i64::MAX, 0, i64::MIN, i64::MAX] {
        for now in [i64::MIN, 0, i64::MAX] {
            bf.observe(&fail(t, ATTACKER), now);
            bf.observe(&login(t, ATTACKER, "root", LoginOutcome::Success), now);
        }
    }
    assert!(bf.is_blocked(ip(ATTACKER), i64::MIN));
}

#[test]
fn memory_is_capped_by_evicting_the_oldest_sources() {
    let mut bf = BruteForce::new(BruteForceConfig {
        max_sources: 3,
        ..BruteForceConfig::default()
    });
    let srcs = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"];
    for (i, s) in srcs.iter().enumerate() {
        bf.observe(&fail(T0 + i as i64, s), T0 + 10);
    }
    assert_eq!(bf.tracked_sources(), 3);
    assert!(!bf.tracks(ip("203.0.113.1")), "the oldest goes first");
    assert!(bf.tracks(ip("203.0.113.4")));
    // A source refreshed by a new failure is younger than one that went quiet.
    bf.observe(&fail(T0 + 20, "203.0.113.2"), T0 + 20);
    bf.observe(&fail(T0 + 21, "203.0.113.5"), T0 + 21);
    assert!(bf.tracks(ip("203.0.113.2")));
    assert!(!bf.tracks(ip("203.0.113.3")));
    // Quiet for a day: pruned.
    bf.prune(T0 + 21 + 86_400);
    assert_eq!(bf.tracked_sources(), 0);
    // Per-source memory is bounded too.
    let mut bf = engine(BruteForceRule::default());
    let users: Vec<LoginEvent> = (0..5_000)
        .map(|i| {
            login(
                T0 + i * 10_000,
                ATTACKER,
                &format!("u{i}"),
                LoginOutcome::Failure,
            )
        })
        .collect();
    for e in &users {
        bf.observe(e, e.time);
    }
    let src = &bf.sources[&ip(ATTACKER)];
    assert!(src.failures.len() <= 81 && src.users.len() <= 10);
}

#[cfg(feature = "serde")]
#[test]
fn config_and_state_round_trip_through_serde() {
    let mut bf = BruteForce::new(BruteForceConfig {
        rule: rule(5, 10, BlockDuration::Permanent),
        whitelist: AccessWhitelist(vec![Cidr::parse("192.0.2.0/24").unwrap()]),
        ..BruteForceConfig::default()
    });
    burst(&mut bf, ATTACKER, T0, 11, 1, T0);
    burst(&mut bf, "2001:db8::5", T0, 3, 1, T0);
    let json = serde_json::to_string(&bf).unwrap();
    let back: BruteForce = serde_json::from_str(&json).unwrap();
    assert_eq!(back.config(), bf.config());
    assert_eq!(back.sources, bf.sources);
    assert!(back.is_blocked(ip(ATTACKER), T0 + 86_400 * 365));
    let rule_json = serde_json::to_string(&BruteForceRule::default()).unwrap();
    assert_eq!(
        rule_json,
        r#"{"span_mins":10,"max_failures":80,"block":{"minutes":360},"protocols":["ssh","ftp","mysql"],"enabled":true}"#
    );
    // A stored rule is checked as a new one is.
    let bad = rule_json.replace("80", "81");
    let err = serde_json::from_str::<BruteForceRule>(&bad).unwrap_err();
    assert!(err.to_string().contains("max failures 81"), "{err}");
    let bad = rule_json.replace(r#"{"minutes":360}"#, r#"{"minutes":7}"#);
    assert!(serde_json::from_str::<BruteForceRule>(&bad).is_err());
    assert!(
        serde_json::from_str::<SprayRule>(r#"{"distinct_users":1,"slow_failures":30}"#).is_err()
    );
}
