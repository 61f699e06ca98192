//! Counting each try once, across the lines that mention it.
//!
//! One password try on an OpenSSH host with PAM can be written three times (`pam_unix(sshd:auth):
//! authentication failure`, `Failed password for root …`, and at the end `Connection closed by
//! authenticating user root … [preauth]`), and some lines carry no source (`User bob not allowed
//! because account is locked`, old `Disconnecting: Too many authentication failures for root`).
//! The lines of one connection share the logging process's id (sshd's per-connection child;
//! `sshd-session` from OpenSSH 9.8), so [`Tries`] keeps, per program and pid:
//!
//! * the source the connection's first line named, which fills in a line that names none;
//! * how many tries it counted;
//! * one *held* line: an echo or an announcement (`pam failure`, `Invalid user X from …`, `User X
//!   … not allowed`, `ROOT LOGIN REFUSED`, PAM's `N more`, `maximum authentication attempts`).
//!
//! The rule: a line that is a try of its own ([`super::is_attempt`]: `Failed …`, a refusal, a
//! success) counts, and takes the held line's place. A held line counts (once) only when its
//! connection ends — a disconnect line naming the account, a success, or
//! [`Tries::flush`] after [`HOLD_SECS`] of quiet — without a try of its own having been counted;
//! a disconnect naming the account counts as the try when nothing else of the connection did.
//! So a PAM failure followed by a success in the same session is one failed try and a success.
//! Lines without a pid (FTP and database logs) are counted by [`super::is_attempt`] alone.
//!
//! Other programs (FTP servers, dovecot, generic daemons) log a try twice in another way: PAM's
//! `pam_unix(vsftpd:auth): authentication failure` in the auth log, and the program's own line
//! (`FAIL LOGIN`, `Authentication failed for user [bob]`) in its own log or under another tag,
//! often without the same pid. Such a PAM line naming a remote host is *pending*: it counts after [`HOLD_SECS`] unless
//! an own try of the same service, account and source within [`HOLD_SECS`] of it (before or
//! after) was counted, each own try standing for one PAM line. Feed every log file of a host to
//! one [`Tries`] so that the two meet.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use vigil_model::{LoginEvent, LoginMethod, LoginOutcome, Timestamp};

use super::{is_attempt, reason, LineMeta};

/// A held line of a quiet connection counts after this long (sshd's lines of one try are
/// written within milliseconds of each other).
pub const HOLD_SECS: i64 = 10;
/// Connections tracked at most; the oldest is let go (its held line counted) beyond it.
pub const MAX_CONNECTIONS: usize = 20_000;

#[derive(Debug)]
struct Conn<T> {
    source: Option<String>,
    port: Option<u16>,
    counted: u32,
    held: Option<(LoginEvent, T)>,
    last: Timestamp,
}

impl<T> Default for Conn<T> {
    fn default() -> Self {
        Conn {
            source: None,
            port: None,
            counted: 0,
            held: None,
            last: 0,
        }
    }
}

/// A multiplicative hasher for the small integer keys of [`Tries`] (SipHash costs more than the
/// rest of the work on a line; the keys are pids, which a log's writer does not choose).
#[derive(Default)]
struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type PidMap<V> = HashMap<(u8, u32), V, BuildHasherDefault<PidHasher>>;

/// The tries of a log, counted once each (see the module documentation). `T` tags each event
/// with where it came from (a line number), handed back with the tries.
#[derive(Debug)]
pub struct Tries<T = ()> {
    /// By (program, pid): sshd is 0, dropbear 1.
    conns: PidMap<Conn<T>>,
    /// Other programs' PAM failures not yet matched by an own try, oldest first.
    pending: VecDeque<(LoginEvent, T)>,
    /// Other programs' own tries not yet matched by a PAM failure, oldest first.
    recent: VecDeque<LoginEvent>,
}

impl<T> Default for Tries<T> {
    fn default() -> Self {
        Tries {
            conns: PidMap::default(),
            pending: VecDeque::new(),
            recent: VecDeque::new(),
        }
    }
}

/// Own tries kept for matching a later PAM failure (a burst of tries is matched within seconds).
const MAX_RECENT: usize = 1_024;

/// The index of the newest of `items` (oldest first) that `is` accepts, looking back only as far
/// as events within [`HOLD_SECS`] of `time` (and at most [`MAX_LOOK_BACK`] of them).
fn newest_match<'a>(
    items: impl DoubleEndedIterator<Item = &'a LoginEvent> + ExactSizeIterator,
    time: Timestamp,
    is: impl Fn(&LoginEvent) -> bool,
) -> Option<usize> {
    let n = items.len();
    items
        .rev()
        .take(MAX_LOOK_BACK)
        .take_while(|e| e.time >= time - HOLD_SECS)
        .position(is)
        .map(|back| n - 1 - back)
}

/// How many pending or recent events a line is compared with at most.
const MAX_LOOK_BACK: usize = 64;

/// An own try and a PAM failure that stand for the same try: the same service and source, the
/// same account (PAM may leave it out), within [`HOLD_SECS`].
fn same_try(own: &LoginEvent, pam: &LoginEvent) -> bool {
    own.service == pam.service
        && own.source == pam.source
        && (pam.user.is_empty() || own.user == pam.user)
        && (own.time - pam.time).abs() <= HOLD_SECS
}

impl Tries<()> {
    pub fn new() -> Tries<()> {
        Tries::default()
    }

    /// One event, from a line written by process `pid`: the events that count as tries now.
    pub fn feed(&mut self, ev: LoginEvent, pid: Option<u32>) -> Vec<LoginEvent> {
        self.feed_tagged(ev, pid, ())
            .into_iter()
            .map(|(e, ())| e)
            .collect()
    }

    /// The event of one parsed line, as many times as the line says it happened.
    pub fn feed_line(&mut self, ev: LoginEvent, meta: LineMeta) -> Vec<LoginEvent> {
        let mut out = Vec::new();
        self.feed_line_into(ev, meta, (), &mut out);
        out.into_iter().map(|(e, ())| e).collect()
    }

    /// Held lines of connections quiet since before `now - HOLD_SECS` (all of them with `None`,
    /// at the end of a log), counted now; those connections are forgotten.
    pub fn flush(&mut self, now: Option<Timestamp>) -> Vec<LoginEvent> {
        self.flush_tagged(now)
            .into_iter()
            .map(|(e, ())| e)
            .collect()
    }
}

impl<T> Tries<T> {
    /// [`Tries::feed`] with a tag that comes back with the event when it counts.
    pub fn feed_tagged(
        &mut self,
        ev: LoginEvent,
        pid: Option<u32>,
        tag: T,
    ) -> Vec<(LoginEvent, T)> {
        let mut out = Vec::new();
        self.feed_into(ev, pid, tag, &mut out);
        out
    }

    /// [`Tries::feed_line`] with a tag, appending to `out` (a buffer reused from line to line):
    /// a line that says it happened N times (`message repeated N times`) is N tries.
    pub fn feed_line_into(
        &mut self,
        ev: LoginEvent,
        meta: LineMeta,
        tag: T,
        out: &mut Vec<(LoginEvent, T)>,
    ) where
        T: Clone,
    {
        for _ in 1..meta.times {
            self.feed_into(ev.clone(), meta.pid, tag.clone(), out);
        }
        self.feed_into(ev, meta.pid, tag, out);
    }

    /// [`Tries::feed_tagged`], appending to `out` (a buffer reused from line to line).
    pub fn feed_into(
        &mut self,
        ev: LoginEvent,
        pid: Option<u32>,
        tag: T,
        out: &mut Vec<(LoginEvent, T)>,
    ) {
        let mut ev = ev;
        let program = match ev.service.as_str() {
            "sshd" => 0u8,
            "dropbear" => 1,
            _ => return self.feed_other(ev, tag, out),
        };
        let Some(pid) = pid else {
            if is_attempt(&ev) {
                out.push((ev, tag));
            }
            return;
        };
        if self.conns.len() >= MAX_CONNECTIONS && !self.conns.contains_key(&(program, pid)) {
            out.extend(self.evict_oldest());
            return self.feed_into(ev, Some(pid), tag, out);
        }
        let conn = self.conns.entry((program, pid)).or_default();
        conn.last = conn.last.max(ev.time);
        match &ev.source {
            // A connection has one source; the first line naming it says which.
            Some(s) => {
                if conn.source.is_none() {
                    conn.source = Some(s.clone());
                    conn.port = ev.port;
                }
            }
            None => {
                ev.source = conn.source.clone();
                ev.port = ev.port.or(conn.port);
            }
        }
        if let Some((held, _)) = conn.held.as_mut() {
            if held.source.is_none() {
                held.source = conn.source.clone();
                held.port = conn.port;
            }
        }
        if ev.outcome == LoginOutcome::Success {
            if conn.counted == 0 {
                out.extend(conn.held.take());
            }
            conn.held = None;
            conn.counted += 1;
            out.push((ev, tag));
            return;
        }
        if ev.reason.as_deref() == Some(reason::PREAUTH_DISCONNECT) {
            // The connection ends: its only try is this one if none was counted.
            let conn = self.conns.remove(&(program, pid)).unwrap_or_default();
            if conn.counted == 0 {
                out.push(conn.held.unwrap_or((ev, tag)));
            }
            return;
        }
        if held_kind(&ev) {
            if conn.counted == 0 && conn.held.is_none() {
                conn.held = Some((ev, tag));
            }
            return;
        }
        conn.held = None;
        conn.counted += 1;
        out.push((ev, tag));
    }

    /// A line of a program other than sshd and dropbear: its own tries count at once (and match
    /// a pending PAM failure), its PAM failures wait for an own try (module documentation).
    fn feed_other(&mut self, ev: LoginEvent, tag: T, out: &mut Vec<(LoginEvent, T)>) {
        // A local one (no `rhost`: su, sudo, login) echoes the program's own line, which counts.
        let pam = ev.outcome == LoginOutcome::Failure
            && ev.source.is_some()
            && matches!(
                ev.reason.as_deref(),
                Some(reason::PAM_FAILURE | reason::PAM_REPEATED)
            );
        if pam {
            if let Some(i) = newest_match(self.recent.iter(), ev.time, |own| same_try(own, &ev)) {
                self.recent.remove(i);
                return;
            }
            if self.pending.len() >= MAX_CONNECTIONS {
                out.extend(self.pending.pop_front());
            }
            self.pending.push_back((ev, tag));
            return;
        }
        if !is_attempt(&ev) {
            return;
        }
        if ev.outcome == LoginOutcome::Failure {
            match newest_match(self.pending.iter().map(|(p, _)| p), ev.time, |p| {
                same_try(&ev, p)
            }) {
                Some(i) => {
                    self.pending.remove(i);
                }
                None => {
                    if self.recent.len() >= MAX_RECENT {
                        self.recent.pop_front();
                    }
                    self.recent.push_back(ev.clone());
                }
            }
        }
        out.push((ev, tag));
    }

    /// [`Tries::flush`] with the tags.
    pub fn flush_tagged(&mut self, now: Option<Timestamp>) -> Vec<(LoginEvent, T)> {
        let quiet: Vec<(u8, u32)> = self
            .conns
            .iter()
            .filter(|(_, c)| now.is_none_or(|n| c.last < n - HOLD_SECS))
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for k in quiet {
            if let Some(c) = self.conns.remove(&k) {
                if c.counted == 0 {
                    out.extend(c.held);
                }
            }
        }
        // Pending PAM failures no own try matched in time, and own tries too old to match one.
        let due = |t: Timestamp| now.is_none_or(|n| t < n - HOLD_SECS);
        while self.pending.front().is_some_and(|(e, _)| due(e.time)) {
            out.extend(self.pending.pop_front());
        }
        while self.recent.front().is_some_and(|e| due(e.time)) {
            self.recent.pop_front();
        }
        out.sort_by_key(|(e, _)| e.time);
        out
    }

    /// Lets the older half of the connections go at once (their held lines counted), so that a
    /// log of many connections costs one sort per half-table, not a search per line.
    fn evict_oldest(&mut self) -> Vec<(LoginEvent, T)> {
        let mut by_age: Vec<((u8, u32), Timestamp)> =
            self.conns.iter().map(|(k, c)| (*k, c.last)).collect();
        by_age.sort_unstable_by_key(|(_, last)| *last);
        let mut out = Vec::new();
        for (k, _) in by_age.iter().take(by_age.len() / 2 + 1) {
            if let Some(c) = self.conns.remove(k) {
                if c.counted == 0 {
                    out.extend(c.held);
                }
            }
        }
        out.sort_by_key(|(e, _)| e.time);
        out
    }
}

/// Lines held until the connection shows whether the try was logged on its own line.
fn held_kind(ev: &LoginEvent) -> bool {
    let sshd_announcement = ev.service == "sshd"
        && (ev.method == Some(LoginMethod::None)
            || ev.reason.as_deref() == Some(reason::NOT_ALLOWED) && !ev.user.is_empty());
    sshd_announcement
        || matches!(
            ev.reason.as_deref(),
            Some(reason::PAM_FAILURE | reason::PAM_REPEATED | reason::MAX_ATTEMPTS)
        )
}

#[cfg(test)]
mod tests {
    use super::super::{parse_line_pid, LineContext, LineResult};
    use super::*;

    /// Feeds a log through the parser and the counter: the counted tries as `user@source`
    /// (with `+` for a success), in order.
    fn count(log: &str) -> Vec<String> {
        let mut ctx = LineContext::new(1_795_442_400, 0);
        let mut tries = Tries::new();
        let mut out = Vec::new();
        let show = |e: &LoginEvent| {
            format!(
                "{}{}@{}",
                if e.outcome == LoginOutcome::Success {
                    "+"
                } else {
                    ""
                },
                e.user,
                e.source.as_deref().unwrap_or("?")
            )
        };
        for line in log.lines() {
            if let (LineResult::Login(ev), meta) = parse_line_pid(line.as_bytes(), &mut ctx) {
                out.extend(tries.feed_line(ev, meta).iter().map(show));
            }
        }
        out.extend(tries.flush(None).iter().map(show));
        out
    }

    #[test]
    fn one_try_written_three_times_counts_once() {
        let log = "\
Nov 23 10:00:01 web1 sshd[101]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root
Nov 23 10:00:03 web1 sshd[101]: Failed password for root from 203.0.113.5 port 40022 ssh2
Nov 23 10:00:04 web1 sshd[101]: Connection closed by authenticating user root 203.0.113.5 port 40022 [preauth]";
        assert_eq!(count(log), ["root@203.0.113.5"]);
    }

    #[test]
    fn interleaved_connections_keep_their_own_sources() {
        let log = "\
Nov 23 10:00:01 web1 sshd[101]: Invalid user admin from 203.0.113.5 port 40022
Nov 23 10:00:01 web1 sshd[202]: User bob from 198.51.100.9 not allowed because not listed in AllowUsers
Nov 23 10:00:02 web1 sshd[101]: Failed password for invalid user admin from 203.0.113.5 port 40022 ssh2
Nov 23 10:00:02 web1 sshd[303]: User carol not allowed because account is locked
Nov 23 10:00:02 web1 sshd[303]: Connection closed by authenticating user carol 192.0.2.44 port 5000 [preauth]
Nov 23 10:00:03 web1 sshd[202]: Failed password for invalid user bob from 198.51.100.9 port 1234 ssh2
Nov 23 10:00:03 web1 sshd[202]: Failed password for invalid user bob from 198.51.100.9 port 1234 ssh2
Nov 23 10:00:04 web1 sshd[101]: Failed password for invalid user admin from 203.0.113.5 port 40022 ssh2
Nov 23 10:00:05 web1 sshd[404]: Disconnecting: Too many authentication failures for root [preauth]";
        assert_eq!(
            count(log),
            [
                "admin@203.0.113.5",
                "carol@192.0.2.44",
                "bob@198.51.100.9",
                "bob@198.51.100.9",
                "admin@203.0.113.5",
                // A connection whose only line names no source: counted, unattributed.
                "root@?",
            ]
        );
    }

    #[test]
    fn repeated_lines_are_that_many_tries() {
        let log = "\
Nov 23 10:00:01 web1 sshd[101]: Failed password for root from 203.0.113.5 port 40022 ssh2
Nov 23 10:00:09 web1 last message repeated 2 times
Nov 23 10:00:09 web1 last message repeated 1 times
Nov 23 10:00:10 web1 sshd[102]: message repeated 3 times: [ Failed password for admin from 203.0.113.6 port 1 ssh2]
Nov 23 10:00:11 web1 sshd[103]: Connection closed by 203.0.113.7 port 2 [preauth]
Nov 23 10:00:12 web1 last message repeated 5 times";
        let tries = count(log);
        assert_eq!(tries.iter().filter(|t| *t == "root@203.0.113.5").count(), 4);
        assert_eq!(
            tries.iter().filter(|t| *t == "admin@203.0.113.6").count(),
            3
        );
        assert_eq!(
            tries.len(),
            7,
            "a repeat of a line that is no login is nothing: {tries:?}"
        );
    }

    #[test]
    fn a_pam_failure_then_a_success_is_one_failure_and_a_success() {
        let log = "\
Nov 23 10:00:01 web1 sshd[101]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=alice
Nov 23 10:00:05 web1 sshd[101]: Accepted keyboard-interactive/pam for alice from 198.51.100.7 port 50500 ssh2";
        assert_eq!(count(log), ["alice@198.51.100.7", "+alice@198.51.100.7"]);
    }

    #[test]
    fn a_disconnect_counts_only_when_nothing_else_did() {
        let log = "\
Nov 23 10:00:01 web1 sshd[101]: Connection closed by invalid user oracle 203.0.113.5 port 40022 [preauth]
Nov 23 10:00:01 web1 sshd[102]: Failed password for root from 203.0.113.6 port 1 ssh2
Nov 23 10:00:01 web1 sshd[102]: Failed password for root from 203.0.113.6 port 1 ssh2
Nov 23 10:00:02 web1 sshd[102]: error: maximum authentication attempts exceeded for root from 203.0.113.6 port 1 ssh2 [preauth]
Nov 23 10:00:02 web1 sshd[102]: Disconnecting authenticating user root 203.0.113.6 port 1: Too many authentication failures [preauth]
Nov 23 10:00:03 web1 sshd[103]: Received disconnect from 203.0.113.7: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]";
        assert_eq!(
            count(log),
            [
                "oracle@203.0.113.5",
                "root@203.0.113.6",
                "root@203.0.113.6",
                "@203.0.113.7"
            ]
        );
    }

    #[test]
    fn held_lines_of_quiet_connections_count_after_the_hold_and_pidless_lines_at_once() {
        let mut ctx = LineContext::new(1_795_442_400, 0);
        let mut tries = Tries::new();
        let line = "Nov 23 10:00:01 web1 sshd[101]: ROOT LOGIN REFUSED FROM 203.0.113.5";
        let (LineResult::Login(ev), meta) = parse_line_pid(line.as_bytes(), &mut ctx) else {
            panic!()
        };
        let t = ev.time;
        assert!(tries.feed(ev, meta.pid).is_empty());
        assert!(tries.flush(Some(t + 5)).is_empty());
        assert_eq!(tries.flush(Some(t + HOLD_SECS + 1)).len(), 1);
        let ftp = "Mon Nov 23 10:00:01 2026 [pid 12] [bob] FAIL LOGIN: Client \"203.0.113.5\"";
        let (LineResult::Login(ev), meta) = parse_line_pid(ftp.as_bytes(), &mut ctx) else {
            panic!()
        };
        assert_eq!(tries.feed(ev, meta.pid).len(), 1);
    }

    #[test]
    fn other_programs_pam_failures_count_unless_their_own_line_does() {
        // vsftpd: PAM in the auth log, FAIL LOGIN in vsftpd.log, either order; pure-ftpd's own
        // line under a pid-less tag; dovecot logs nothing Vigil reads, so PAM's line counts.
        let log = "\
Nov 23 10:00:01 ftp1 vsftpd[88]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=203.0.113.5  user=bob
Mon Nov 23 10:00:03 2026 [pid 88] [bob] FAIL LOGIN: Client \"203.0.113.5\"
Mon Nov 23 10:00:05 2026 [pid 88] [bob] FAIL LOGIN: Client \"203.0.113.5\"
Nov 23 10:00:06 ftp1 vsftpd[88]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=203.0.113.5  user=bob
Nov 23 10:00:07 ftp1 pure-ftpd[89]: pam_unix(pure-ftpd:auth): authentication failure; logname= uid=0 euid=0 tty=pure-ftpd ruser=amy rhost=198.51.100.9
Nov 23 10:00:07 ftp1 pure-ftpd: (?@198.51.100.9) [WARNING] Authentication failed for user [amy]
Nov 23 10:00:08 ftp1 pure-ftpd[89]: pam_unix(pure-ftpd:auth): authentication failure; logname= uid=0 euid=0 tty=pure-ftpd ruser=amy rhost=198.51.100.9
Nov 23 10:00:09 mail1 dovecot[77]: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=alice rhost=192.0.2.8  user=alice
Nov 23 10:00:30 web1 su[300]: pam_unix(su:auth): authentication failure; logname=bob uid=1000 euid=0 tty=pts/0 ruser=bob rhost=  user=root";
        assert_eq!(
            count(log),
            [
                "bob@203.0.113.5",
                "bob@203.0.113.5",
                "amy@198.51.100.9",
                // The second PAM line of pure-ftpd had no own line: it counts after the hold.
                "amy@198.51.100.9",
                "alice@192.0.2.8",
            ]
        );
    }

    #[test]
    fn connections_are_bounded() {
        let mut tries = Tries::new();
        let ev = |pid: u32| LoginEvent {
            time: i64::from(pid),
            service: "sshd".into(),
            user: "x".into(),
            source: None,
            port: None,
            method: Some(LoginMethod::None),
            outcome: LoginOutcome::Failure,
            reason: Some(reason::INVALID_USER.into()),
        };
        let mut released = 0;
        for pid in 0..(MAX_CONNECTIONS as u32 + 10) {
            released += tries.feed(ev(pid), Some(pid)).len();
        }
        // The older half let go at once, their held lines counted.
        assert_eq!(released, MAX_CONNECTIONS / 2 + 1);
        assert_eq!(tries.conns.len(), MAX_CONNECTIONS + 10 - released);
        assert!(tries.conns.len() <= MAX_CONNECTIONS);
    }
}
