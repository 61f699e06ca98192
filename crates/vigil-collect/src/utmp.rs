//! `wtmp` and `btmp` login records: glibc's 384-byte `struct utmp` on x86-64 (and every other
//! 64-bit glibc target with the 32-bit `ut_tv` compatibility layout), little-endian.
//!
//! wtmp holds every login and logout (`last`), btmp every failed login (`lastb`). Strings are
//! NUL-padded fixed fields, not NUL-terminated when full; they are decoded lossily, as `last`
//! prints whatever bytes are there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vigil_model::{LoginEvent, LoginMethod, LoginOutcome, Timestamp};

use crate::Parsed;

/// Size of one `struct utmp` record.
pub const RECORD_SIZE: usize = 384;

// Field offsets in `struct utmp` (glibc, `bits/utmp.h`, `__WORDSIZE_TIME64_COMPAT32`).
const TYPE: usize = 0; // short ut_type + 2 bytes padding
const PID: usize = 4;
const LINE: (usize, usize) = (8, 32);
const ID: (usize, usize) = (40, 4);
const USER: (usize, usize) = (44, 32);
const HOST: (usize, usize) = (76, 256);
const EXIT: usize = 332; // short e_termination, short e_exit
const SESSION: usize = 336;
const TV_SEC: usize = 340;
const TV_USEC: usize = 344;
const ADDR_V6: usize = 348; // int32_t[4], network byte order as stored

/// `ut_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtmpType {
    Empty,
    RunLevel,
    BootTime,
    NewTime,
    OldTime,
    InitProcess,
    LoginProcess,
    UserProcess,
    DeadProcess,
    Accounting,
    Other(i16),
}

impl UtmpType {
    fn from_raw(raw: i16) -> UtmpType {
        match raw {
            0 => UtmpType::Empty,
            1 => UtmpType::RunLevel,
            2 => UtmpType::BootTime,
            3 => UtmpType::NewTime,
            4 => UtmpType::OldTime,
            5 => UtmpType::InitProcess,
            6 => UtmpType::LoginProcess,
            7 => UtmpType::UserProcess,
            8 => UtmpType::DeadProcess,
            9 => UtmpType::Accounting,
            n => UtmpType::Other(n),
        }
    }
}

/// One `struct utmp` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtmpRecord {
    pub kind: UtmpType,
    pub pid: i32,
    /// Terminal: `pts/0`, `tty1`, `ssh:notty`, or `~` for reboot and run-level records.
    pub line: String,
    /// Terminal suffix or inittab id (`ts/0`, `tty1`, `~~`).
    pub id: String,
    pub user: String,
    /// Remote host name or address as the login program wrote it; `:0` for X displays.
    pub host: String,
    /// `ut_exit.e_termination`, `ut_exit.e_exit`.
    pub exit: (i16, i16),
    pub session: i32,
    pub time: Timestamp,
    pub usec: i32,
    /// `ut_addr_v6`: an IPv4 address when only its first word is set, else IPv6; `None` if zero.
    pub addr: Option<IpAddr>,
}

/// Which file the records came from; it decides what a record means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtmpFile {
    /// Logins: `USER_PROCESS` records are successful logins.
    Wtmp,
    /// Failed logins: every record naming a login or user process is a failure.
    Btmp,
}

/// Parses a wtmp/btmp/utmp file. A trailing partial record is counted as skipped (the file was
/// read while being written, or is not a utmp file at all).
pub fn records(bytes: &[u8]) -> Parsed<Vec<UtmpRecord>> {
    let mut out = Parsed::new(Vec::with_capacity(bytes.len() / RECORD_SIZE));
    let mut chunks = bytes.chunks_exact(RECORD_SIZE);
    for rec in &mut chunks {
        out.value.push(record(rec));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        out.skip(
            0,
            format_args!(
                "partial record of {} bytes at the end (offset {})",
                rest.len(),
                bytes.len() - rest.len()
            ),
        );
    }
    out
}

/// The login events of a wtmp or btmp file, with the skipped trailing bytes of [`records`].
pub fn login_events(bytes: &[u8], file: UtmpFile) -> Parsed<Vec<LoginEvent>> {
    let parsed = records(bytes);
    Parsed {
        value: parsed
            .value
            .iter()
            .filter_map(|r| r.login_event(file))
            .collect(),
        skipped: parsed.skipped,
        skipped_total: parsed.skipped_total,
    }
}

impl UtmpRecord {
    /// The login this record tells, if any: a wtmp `USER_PROCESS` record is a successful login
    /// (service `wtmp`), a btmp `LOGIN_PROCESS` or `USER_PROCESS` record a failed one (service
    /// `btmp`; sshd writes the former, login the latter). Logouts, boots and run levels are not
    /// logins.
    ///
    /// The source is the host field (an X display such as `:0` is local), else the address.
    pub fn login_event(&self, file: UtmpFile) -> Option<LoginEvent> {
        let (service, outcome) = match (file, self.kind) {
            (UtmpFile::Wtmp, UtmpType::UserProcess) => ("wtmp", LoginOutcome::Success),
            (UtmpFile::Btmp, UtmpType::UserProcess | UtmpType::LoginProcess) => {
                ("btmp", LoginOutcome::Failure)
            }
            _ => return None,
        };
        if self.user.is_empty() && outcome == LoginOutcome::Success {
            return None;
        }
        let host = self
            .host
            .strip_prefix("::ffff:")
            .filter(|h| h.contains('.'))
            .unwrap_or(&self.host);
        let source = if !host.is_empty() && !host.starts_with(':') {
            Some(host.to_owned())
        } else if host.is_empty() {
            self.addr.map(|a| a.to_string())
        } else {
            None
        };
        Some(LoginEvent {
            time: self.time,
            service: service.to_owned(),
            user: self.user.clone(),
            source,
            port: None,
            method: Some(LoginMethod::Session),
            outcome,
            reason: None,
        })
    }
}

fn record(rec: &[u8]) -> UtmpRecord {
    UtmpRecord {
        kind: UtmpType::from_raw(i16_at(rec, TYPE)),
        pid: i32_at(rec, PID),
        line: text(rec, LINE),
        id: text(rec, ID),
        user: text(rec, USER),
        host: text(rec, HOST),
        exit: (i16_at(rec, EXIT), i16_at(rec, EXIT + 2)),
        session: i32_at(rec, SESSION),
        time: i64::from(i32_at(rec, TV_SEC)),
        usec: i32_at(rec, TV_USEC),
        addr: addr(&rec[ADDR_V6..ADDR_V6 + 16]),
    }
}

fn i16_at(rec: &[u8], at: usize) -> i16 {
    i16::from_le_bytes([rec[at], rec[at + 1]])
}

fn i32_at(rec: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([rec[at], rec[at + 1], rec[at + 2], rec[at + 3]])
}

/// A fixed-size string field up to its first NUL.
fn text(rec: &[u8], (at, len): (usize, usize)) -> String {
    let field = &rec[at..at + len];
    let end = field.iter().position(|&b| b == 0).unwrap_or(len);
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn addr(raw: &[u8]) -> Option<IpAddr> {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(raw);
    if bytes == [0; 16] {
        None
    } else if bytes[4..] == [0; 12] {
        Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        )))
    } else {
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    //! The binary fixtures were made with `utmpdump -r` from the `.txt` files beside them; the
    //! oracles are util-linux's own readers of the binary files, run at test time: `utmpdump`
    //! for every field, `last` and `lastb` for what counts as a login. A missing tool fails the
    //! test: without its oracle the test proves nothing.

    use std::process::Command;

    use super::*;

    fn fixture(name: &str) -> (String, Vec<u8>) {
        let path = format!("{}/tests/fixtures/utmp/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        (path, bytes)
    }

    /// Runs a util-linux tool in UTC and returns its standard output.
    fn tool(name: &str, args: &[&str]) -> String {
        let out = Command::new(name)
            .args(args)
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| {
                panic!("`{name}` (util-linux) is needed as this test's oracle: {e}")
            });
        assert!(out.status.success(), "{name} {args:?}: {:?}", out.status);
        String::from_utf8(out.stdout).expect("tool output is UTF-8")
    }

    /// `[7] [20311] [ts/1] [alice   ] [pts/1  ] [host  ] [192.0.2.10  ] [2026-…,412345+00:00]`
    /// → the eight fields, padding trimmed.
    fn utmpdump_fields(line: &str) -> Vec<String> {
        line.split("] [")
            .map(|f| f.trim_matches(['[', ']']).trim_end().to_owned())
            .collect()
    }

    fn render_record(r: &UtmpRecord) -> Vec<String> {
        let kind = match r.kind {
            UtmpType::Empty => 0,
            UtmpType::RunLevel => 1,
            UtmpType::BootTime => 2,
            UtmpType::NewTime => 3,
            UtmpType::OldTime => 4,
            UtmpType::InitProcess => 5,
            UtmpType::LoginProcess => 6,
            UtmpType::UserProcess => 7,
            UtmpType::DeadProcess => 8,
            UtmpType::Accounting => 9,
            UtmpType::Other(n) => n,
        };
        let time = crate::auth::format_utc(r.time);
        vec![
            kind.to_string(),
            format!("{:05}", r.pid),
            // utmpdump pads fields with spaces and so cannot show trailing ones.
            r.id.trim_end().to_owned(),
            r.user.trim_end().to_owned(),
            r.line.trim_end().to_owned(),
            r.host.trim_end().to_owned(),
            r.addr.map_or("0.0.0.0".to_owned(), |a| a.to_string()),
            format!("{},{:06}+00:00", time.trim_end_matches('Z'), r.usec),
        ]
    }

    #[test]
    fn every_field_matches_utmpdump() {
        for name in ["wtmp", "btmp"] {
            let (path, bytes) = fixture(name);
            let p = records(&bytes);
            assert_eq!(p.skipped_total, 0);
            let ours: Vec<Vec<String>> = p.value.iter().map(render_record).collect();
            let theirs: Vec<Vec<String>> = tool("utmpdump", &[&path])
                .lines()
                .map(utmpdump_fields)
                .collect();
            assert_eq!(ours, theirs, "{name}");
        }
    }

    /// `last -w --time-format iso -a` rows as (user, login time, host), oldest first, without
    /// the `reboot` pseudo-user and the trailer.
    fn last_rows(tool_name: &str, path: &str) -> Vec<(String, String, String)> {
        let out = tool(tool_name, &["-f", path, "-w", "--time-format", "iso", "-a"]);
        let mut rows: Vec<(String, String, String)> = out
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains(" begins "))
            .map(|l| {
                let user = if l.starts_with(' ') {
                    ""
                } else {
                    l.split_whitespace().next().unwrap_or("")
                };
                let rest: Vec<&str> = l
                    .split_whitespace()
                    .skip(usize::from(!user.is_empty()))
                    .collect();
                let time = rest[1].to_owned();
                let last = *rest.last().unwrap_or(&"");
                let ended = last.ends_with(')')
                    || matches!(last, "logout" | "running" | "in" | "crash" | "down");
                let host = if ended { "" } else { last };
                (user.to_owned(), time, host.to_owned())
            })
            .filter(|(user, _, _)| user != "reboot")
            .collect();
        rows.reverse();
        rows
    }

    /// What an event must show for a `last` row: `last` prints the host field as written.
    fn expected_event(
        row: &(String, String, String),
        service: &str,
        outcome: LoginOutcome,
    ) -> String {
        let (user, time, host) = row;
        let host = host.strip_prefix("::ffff:").unwrap_or(host);
        let source = if host.is_empty() || host.starts_with(':') {
            "-".to_owned()
        } else {
            host.to_owned()
        };
        format!(
            "{service} {} {user} {} {source}",
            outcome.as_str(),
            time.trim_end_matches("+00:00")
        )
    }

    fn render_event(e: &LoginEvent) -> String {
        let time = crate::auth::format_utc(e.time);
        format!(
            "{} {} {} {} {}",
            e.service,
            e.outcome.as_str(),
            e.user,
            time.trim_end_matches('Z'),
            e.source.as_deref().unwrap_or("-")
        )
    }

    #[test]
    fn wtmp_logins_match_last() {
        let (path, bytes) = fixture("wtmp");
        let events = login_events(&bytes, UtmpFile::Wtmp);
        let ours: Vec<String> = events.value.iter().map(render_event).collect();
        let theirs: Vec<String> = last_rows("last", &path)
            .iter()
            .map(|r| expected_event(r, "wtmp", LoginOutcome::Success))
            .collect();
        assert_eq!(theirs.len(), 6, "{theirs:#?}");
        assert_eq!(ours, theirs);
        assert!(events
            .value
            .iter()
            .all(|e| e.method == Some(LoginMethod::Session) && e.port.is_none()));
    }

    #[test]
    fn btmp_failures_match_lastb() {
        let (path, bytes) = fixture("btmp");
        let events = login_events(&bytes, UtmpFile::Btmp);
        let ours: Vec<String> = events.value.iter().map(render_event).collect();
        let theirs: Vec<String> = last_rows("lastb", &path)
            .iter()
            .map(|r| expected_event(r, "btmp", LoginOutcome::Failure))
            .collect();
        assert_eq!(theirs.len(), 6, "{theirs:#?}");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn addresses_and_full_width_fields() {
        let (_, bytes) = fixture("wtmp");
        let p = records(&bytes);
        let by_user = |u: &str| p.value.iter().find(|r| r.user == u).expect(u);
        assert_eq!(by_user("alice").addr, Some(IpAddr::from([192, 0, 2, 10])));
        assert_eq!(by_user("alice").usec, 412_345);
        assert_eq!(
            by_user("bob").addr,
            Some("2001:db8:10::25".parse().expect("address"))
        );
        // 32 bytes with no NUL: the whole field, nothing from the next one.
        let long = by_user("abcdefghijklmnopqrstuvwxyz012345");
        assert_eq!(long.line, "pts/4");
        assert_eq!(long.host, "::ffff:192.0.2.11");
        assert_eq!(p.value[0].kind, UtmpType::BootTime);
        assert_eq!(p.value[0].line, "~");
    }

    #[test]
    fn partial_and_garbage_input() {
        let (_, mut bytes) = fixture("btmp");
        let whole = records(&bytes).value.len();
        bytes.extend_from_slice(&[0x41; 100]);
        let p = records(&bytes);
        assert_eq!(p.value.len(), whole);
        assert_eq!(p.skipped_total, 1);
        assert!(p.skipped[0].reason.contains("100 bytes"), "{:?}", p.skipped);
        assert_eq!(login_events(&bytes, UtmpFile::Btmp).skipped_total, 1);
        assert!(records(&[]).value.is_empty());
        // Random bytes: any 384 bytes are a record; strings come out lossy, never a panic.
        let noise: Vec<u8> = (0..RECORD_SIZE * 3 + 7)
            .map(|i| (i as u8).wrapping_mul(151).wrapping_add(7))
            .collect();
        let p = records(&noise);
        assert_eq!((p.value.len(), p.skipped_total), (3, 1));
        for r in &p.value {
            let _ = r.login_event(UtmpFile::Wtmp);
            let _ = r.login_event(UtmpFile::Btmp);
        }
    }
}
