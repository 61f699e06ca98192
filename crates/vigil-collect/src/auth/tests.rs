//! Data-driven tests: every fixture in `tests/fixtures/auth/` holds real log lines, true
//! positives and look-alikes, and is rendered one result per line into its `.expected` snapshot
//! (`UPDATE_EXPECT=1 cargo test -p vigil-collect` rewrites them; review the diff). Lines starting
//! with `# ` are comments, copied into the snapshot and not parsed.

use expect_test::{expect_file, ExpectFile};
use vigil_model::{LoginEvent, LoginOutcome, Timestamp};

use super::time::format_utc;
use super::*;

/// 2026-11-23T14:00:00Z: the fixtures were written that afternoon.
const NOW: Timestamp = 1_795_442_400;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/auth/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn render_event(e: &LoginEvent) -> String {
    let mut s = format!(
        "{} {} {} user={:?}",
        format_utc(e.time),
        e.service,
        e.outcome.as_str(),
        e.user
    );
    if let Some(src) = &e.source {
        s += &format!(" from={src}");
    }
    if let Some(port) = e.port {
        s += &format!(" port={port}");
    }
    if let Some(m) = e.method {
        s += &format!(" method={}", m.as_str());
    }
    if let Some(r) = &e.reason {
        s += &format!(" reason={r:?}");
    }
    s
}

fn render(result: &LineResult) -> String {
    match result {
        LineResult::Login(e) => render_event(e),
        LineResult::NotLogin => "-".to_owned(),
        LineResult::Skipped(r) => format!("skipped: {r}"),
    }
}

/// The only caller of the parser in the snapshot tests.
fn check(name: &str, utc_offset_secs: i32, expected: ExpectFile) {
    let input = fixture(name);
    let mut ctx = LineContext::new(NOW, utc_offset_secs);
    let mut out = String::new();
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() && i > 0 {
            continue;
        }
        if line.starts_with(b"# ") {
            out += &String::from_utf8_lossy(line);
        } else {
            out += &format!("{:>3} {}", i + 1, render(&parse_line(line, &mut ctx)));
        }
        out.push('\n');
    }
    expected.assert_eq(&out);
}

#[test]
fn sshd() {
    check(
        "sshd.log",
        0,
        expect_file!["../../tests/fixtures/auth/sshd.expected"],
    );
}

#[test]
fn su_sudo_login_and_pam() {
    check(
        "local.log",
        0,
        expect_file!["../../tests/fixtures/auth/local.expected"],
    );
}

#[test]
fn dropbear() {
    check(
        "dropbear.log",
        0,
        expect_file!["../../tests/fixtures/auth/dropbear.expected"],
    );
}

#[test]
fn ftp_servers_from_syslog() {
    check(
        "ftp.log",
        0,
        expect_file!["../../tests/fixtures/auth/ftp.expected"],
    );
}

#[test]
fn vsftpd_own_log_in_local_time() {
    check(
        "vsftpd.log",
        3600,
        expect_file!["../../tests/fixtures/auth/vsftpd.expected"],
    );
}

#[test]
fn proftpd_own_log_in_local_time() {
    check(
        "proftpd.log",
        3600,
        expect_file!["../../tests/fixtures/auth/proftpd.expected"],
    );
}

#[test]
fn mysql_and_mariadb_error_logs() {
    check(
        "mysql-error.log",
        0,
        expect_file!["../../tests/fixtures/auth/mysql-error.expected"],
    );
}

#[test]
fn auditd_log() {
    check(
        "audit.log",
        0,
        expect_file!["../../tests/fixtures/auth/audit.expected"],
    );
}

#[test]
fn debian12_rfc3339_syslog() {
    check(
        "debian12.log",
        3600,
        expect_file!["../../tests/fixtures/auth/debian12.expected"],
    );
}

#[test]
fn journal_json() {
    check(
        "journal.json",
        0,
        expect_file!["../../tests/fixtures/auth/journal.expected"],
    );
}

fn lines(text: &str, now: Timestamp, offset: i32) -> Vec<String> {
    let mut ctx = LineContext::new(now, offset);
    text.lines()
        .map(|l| render(&parse_line(l.as_bytes(), &mut ctx)))
        .collect()
}

#[test]
fn classic_syslog_year_follows_the_stream() {
    // Read on 2027-01-01T12:00Z: December lines are from 2026, January ones from 2027.
    let now = 1_798_804_800;
    let log = "Dec 31 23:59:58 web1 sshd[1]: Failed password for root from 203.0.113.1 port 1 ssh2\n\
               Jan  1 00:00:02 web1 sshd[2]: Failed password for root from 203.0.113.1 port 2 ssh2\n";
    assert_eq!(
        lines(log, now, 0),
        [
            "2026-12-31T23:59:58Z sshd failure user=\"root\" from=203.0.113.1 port=1 \
             method=password reason=\"bad password\"",
            "2027-01-01T00:00:02Z sshd failure user=\"root\" from=203.0.113.1 port=2 \
             method=password reason=\"bad password\"",
        ]
    );
    // A local zone: the wall clock is CET, so 00:30 on Jan 1 is 23:30 UTC on Dec 31.
    let log = "Jan  1 00:30:00 web1 su[3]: FAILED SU (to root) bob on pts/1\n";
    assert_eq!(
        lines(log, now, 3600),
        ["2026-12-31T23:30:00Z su failure user=\"root\" method=session reason=\"bad password\""]
    );
}

#[test]
fn parse_log_numbers_lines_and_counts_skips() {
    let log = b"Nov 23 10:00:01 web1 sshd[1]: Failed password for root from 203.0.113.1 port 1 ssh2\r\n\
                \n\
                garbage\n\
                Nov 23 10:00:02 web1 sshd[1]: Server listening on :: port 22.\n\
                Nov 23 10:00:03 web1 sshd[1]: Accepted password for alice from 192.0.2.1 port 2 ssh2\n";
    let p = parse_log(log, &mut LineContext::new(NOW, 0));
    let got: Vec<(usize, LoginOutcome)> = p.value.iter().map(|(n, e)| (*n, e.outcome)).collect();
    assert_eq!(
        got,
        [(1, LoginOutcome::Failure), (5, LoginOutcome::Success)]
    );
    assert_eq!(p.skipped_total, 1);
    assert_eq!(p.skipped[0].line, 3);
    assert_eq!(p.skipped[0].reason, "no known log line format");
    assert!(parse_log(b"", &mut LineContext::new(NOW, 0))
        .value
        .is_empty());
    assert_eq!(
        parse_log(b"\n", &mut LineContext::new(NOW, 0)).skipped_total,
        0
    );
}

#[test]
fn hostile_lines_never_panic() {
    let mut ctx = LineContext::new(NOW, 0);
    let huge = format!(
        "Nov 23 10:00:01 web1 sshd[1]: Failed password for {} from 203.0.113.1 port 1 ssh2",
        "a".repeat(1 << 20)
    );
    assert_eq!(
        parse_line(huge.as_bytes(), &mut ctx),
        LineResult::Skipped(SkipReason::TooLong)
    );
    // Just under the cap: parsed, with the long user name intact.
    let long_user = "u".repeat(MAX_LINE_BYTES - 200);
    let line = format!(
        "Nov 23 10:00:01 web1 sshd[1]: Failed password for invalid user {long_user} from \
         203.0.113.1 port 1 ssh2"
    );
    match parse_line(line.as_bytes(), &mut ctx) {
        LineResult::Login(e) => assert_eq!(e.user.len(), long_user.len()),
        other => panic!("{other:?}"),
    }
    for blank in [&b""[..], b"\n", b"\r\n", b"   \t "] {
        assert_eq!(parse_line(blank, &mut ctx), LineResult::NotLogin);
    }
    // Invalid UTF-8 in a user name: the attempt still counts, the byte becomes U+FFFD.
    let line = b"Nov 23 10:00:01 web1 sshd[1]: Invalid user r\xffot from 203.0.113.1 port 1";
    match parse_line(line, &mut ctx) {
        LineResult::Login(e) => assert_eq!(e.user, "r\u{fffd}ot"),
        other => panic!("{other:?}"),
    }
    // Pseudo-random bytes, and every fixture line cut short at many places.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let len = (x % 300) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let _ = parse_line(&bytes, &mut ctx);
    }
    for name in [
        "sshd.log",
        "local.log",
        "dropbear.log",
        "ftp.log",
        "vsftpd.log",
        "proftpd.log",
        "mysql-error.log",
        "audit.log",
        "debian12.log",
        "journal.json",
    ] {
        for line in fixture(name).split(|&b| b == b'\n') {
            for cut in (0..line.len()).step_by(3) {
                let _ = parse_line(&line[..cut], &mut ctx);
                let mut flipped = line.to_vec();
                flipped[cut] ^= 0x80;
                let _ = parse_line(&flipped, &mut ctx);
            }
        }
    }
}

#[test]
fn repeated_messages_yield_the_inner_message_and_its_count() {
    assert_eq!(
        unrepeat("message repeated 3 times: [ Failed x]"),
        ("Failed x", 3)
    );
    for same in [
        "message repeated x times: [ Failed x]",
        "message repeated 3 times: [ Failed x",
        "message repeated 0 times: [ Failed x]",
        "message repeated",
    ] {
        assert_eq!(unrepeat(same), (same, 1));
    }
}

#[test]
fn skip_reasons_are_short_and_stable() {
    for r in [
        SkipReason::TooLong,
        SkipReason::NoFrame,
        SkipReason::BadTime,
        SkipReason::BadJournal,
    ] {
        let s = r.to_string();
        assert!(!s.is_empty() && s.len() < 40, "{s}");
    }
}

/// One wrong SSH password on a PAM host logs two lines and an invalid user up to four; only one
/// of them counts as the try.
#[test]
fn each_try_counts_once() {
    let log = "\
Nov 23 10:00:01 web1 sshd[1]: Invalid user bob from 192.0.2.7 port 50000
Nov 23 10:00:02 web1 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7
Nov 23 10:00:03 web1 sshd[1]: Failed password for invalid user bob from 192.0.2.7 port 50000 ssh2
Nov 23 10:00:04 web1 sshd[1]: Connection closed by invalid user bob 192.0.2.7 port 50000 [preauth]
Nov 23 10:00:05 web1 sshd[2]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7  user=root
Nov 23 10:00:06 web1 sshd[2]: Failed password for root from 192.0.2.7 port 50001 ssh2
Nov 23 10:00:07 web1 sshd[2]: Failed password for root from 192.0.2.7 port 50001 ssh2
Nov 23 10:00:08 web1 sshd[2]: error: maximum authentication attempts exceeded for root from 192.0.2.7 port 50001 ssh2 [preauth]
Nov 23 10:00:09 web1 sshd[2]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7  user=root
Nov 23 10:00:10 web1 vsftpd[3]: [bob] FAIL LOGIN: Client \"192.0.2.7\"
Nov 23 10:00:11 web1 sshd[4]: Accepted password for alice from 192.0.2.9 port 50002 ssh2
";
    let mut ctx = LineContext::new(1_795_000_000, 0);
    let parsed = parse_log(log.as_bytes(), &mut ctx);
    let tries: Vec<usize> = parsed
        .value
        .iter()
        .filter(|(_, e)| is_attempt(e))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(tries, vec![3, 6, 7, 10, 11], "{:#?}", parsed.value);
}
