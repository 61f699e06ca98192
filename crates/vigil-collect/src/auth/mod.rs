//! Login attempts from log lines: sshd, PAM, su, sudo, login, dropbear, FTP servers, MySQL /
//! MariaDB and auditd, framed as classic syslog, RFC 3339 syslog, `journalctl -o json` or the
//! services' own log files.
//!
//! [`parse_line`] takes one line and a [`LineContext`] (reference time, zone offset, year
//! tracking) and answers [`LineResult::Login`], [`LineResult::NotLogin`] or
//! [`LineResult::Skipped`]. It first finds the frame (time, program, message) and then hands the
//! message to the parser of that program only, so text that merely looks like a login (`Failed
//! password` inside a sudo `COMMAND=`, `Accepted` from another program) never becomes one.
//!
//! One attempt is often logged more than once, and each of those lines yields its own event;
//! [`LoginEvent::reason`] tells them apart with the fixed words of [`reason`], so a consumer can
//! count one kind. The sshd lines of dictionary-attack connections on a PAM host, for example:
//!
//! | line | reason |
//! | --- | --- |
//! | `pam_unix(sshd:auth): authentication failure; … user=root` | `pam failure` (echo) |
//! | `Failed password for root from … port … ssh2` | `bad password` (the attempt) |
//! | `Invalid user x from …` (unknown account, before any method) | `invalid user`, method `none` |
//! | `Failed password for invalid user x from …` | `invalid user`, method `password` |
//! | `error: maximum authentication attempts exceeded …`, `Disconnecting … Too many …` | `max attempts` |
//! | `Connection closed by authenticating user root …`, `Disconnected from invalid user …` | `preauth disconnect` |
//! | `PAM 5 more authentication failures; …` | `pam repeated` (one event for the 5) |
//!
//! A line that stands for several attempts yields one event: `PAM 5 more authentication
//! failures`, whose attempts sshd already logged one by one, and rsyslog's `message repeated 3
//! times: [ … ]`, whose repeats it did not log (Ubuntu turns that reduction on), so one event
//! there undercounts: [`LoginEvent`] has no count.
//!
//! Lines that carry no user (`Received disconnect from … [preauth]`, `Connection closed by ADDR
//! port N [preauth]`, `Did not receive identification string`) are [`LineResult::NotLogin`]: they
//! follow the attempts already counted, or are scans that never tried an account.
//!
//! Invalid UTF-8 is decoded lossily rather than skipped: a failed login must not disappear
//! because its user name held a stray byte.

mod audit;
mod dropbear;
mod find;
mod frame;
mod ftp;
mod login;
pub mod messages;
mod mysql;
mod pam;
mod scan;
mod sshd;
mod su;
mod sudo;
mod time;
pub mod tries;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use vigil_model::{LoginEvent, LoginMethod, LoginOutcome, Timestamp};

use crate::Parsed;

pub use time::YearGuess;

#[cfg(test)]
pub(crate) use time::format_utc;

/// Longest line parsed; longer lines are counted as skipped. Real login lines are well under
/// 2 KiB; journal JSON lines with every field reach a few KiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The fixed words [`LoginEvent::reason`] takes for failures.
pub mod reason {
    /// A wrong password (sshd, PAM-less services, su, sudo, login, FTP, MySQL).
    pub const BAD_PASSWORD: &str = "bad password";
    /// A key or host key the server did not accept.
    pub const BAD_KEY: &str = "bad key";
    /// Any other failed method (`none`, GSSAPI) or an unrecognised failure text.
    pub const AUTH_FAILED: &str = "auth failed";
    /// The account does not exist.
    pub const INVALID_USER: &str = "invalid user";
    /// The server gave up after too many attempts on one connection.
    pub const MAX_ATTEMPTS: &str = "max attempts";
    /// The client left while an account was being authenticated.
    pub const PREAUTH_DISCONNECT: &str = "preauth disconnect";
    /// The account exists but may not log in here (AllowUsers, sudoers, ftpusers, root login).
    pub const NOT_ALLOWED: &str = "not allowed";
    /// PAM's own `authentication failure` line, which echoes the service's line.
    pub const PAM_FAILURE: &str = "pam failure";
    /// PAM's `N more authentication failures` summary, one event for N attempts logged before.
    pub const PAM_REPEATED: &str = "pam repeated";
    /// MySQL's `using password: NO`.
    pub const NO_PASSWORD: &str = "no password";
}

/// True when an event stands for one authentication try, so that counting these counts each
/// try once. Successes always do. Of failures, the lines that echo or sum up tries logged on
/// their own line do not: PAM's `authentication failure` beside the service's own line, PAM's
/// `N more authentication failures`, sshd's `maximum authentication attempts`, disconnects
/// naming the account, and sshd's `Invalid user X from …` announcement (method `none`), which
/// precedes the `Failed … for invalid user X` of each try.
pub fn is_attempt(ev: &LoginEvent) -> bool {
    if ev.outcome == LoginOutcome::Success {
        return true;
    }
    let echo = matches!(
        ev.reason.as_deref(),
        Some(
            reason::PAM_FAILURE
                | reason::PAM_REPEATED
                | reason::MAX_ATTEMPTS
                | reason::PREAUTH_DISCONNECT
        )
    );
    let announcement = ev.service == "sshd" && ev.method == Some(LoginMethod::None);
    !(echo || announcement)
}

/// What one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineResult {
    Login(LoginEvent),
    /// A well-formed line that is not a login attempt (or an empty line).
    NotLogin,
    Skipped(SkipReason),
}

/// Why a line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Longer than [`MAX_LINE_BYTES`].
    TooLong,
    /// None of the known frames (syslog, RFC 3339, journal JSON, service log files).
    NoFrame,
    /// A known frame whose timestamp is out of range.
    BadTime,
    /// Looked like journal JSON but is not a journal entry with a time.
    BadJournal,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::TooLong => "line longer than 64 KiB",
            SkipReason::NoFrame => "no known log line format",
            SkipReason::BadTime => "bad timestamp",
            SkipReason::BadJournal => "not a journal entry",
        })
    }
}

/// State carried from line to line of one log: the year of year-less syslog lines, the zone
/// of lines without one, and the last login line (for syslogd's `last message repeated N
/// times`).
#[derive(Debug, Clone)]
pub struct LineContext {
    years: YearGuess,
    /// The last line when it was a login line (its buffer reused from line to line).
    last: Vec<u8>,
}

/// What [`parse_line_pid`] knows of a line besides its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineMeta {
    /// The id of the process that wrote it, when its frame names one.
    pub pid: Option<u32>,
    /// How many times the event happened: more than 1 for rsyslog's `message repeated N times:
    /// [ … ]` and syslogd's `last message repeated N times` (which repeats the last login line).
    pub times: u32,
}

impl LineContext {
    /// `now` is the reference time (the read time of the log); `utc_offset_secs` the zone of the
    /// host that wrote local times (east positive). See [`YearGuess`].
    pub fn new(now: Timestamp, utc_offset_secs: i32) -> Self {
        LineContext {
            years: YearGuess::new(now, utc_offset_secs),
            last: Vec::new(),
        }
    }
}

/// Parses one log line (with or without its line ending).
pub fn parse_line(line: &[u8], ctx: &mut LineContext) -> LineResult {
    parse_line_pid(line, ctx).0
}

/// [`parse_line`], with what else the line says (see [`LineMeta`]): the pid is the key
/// [`tries::Tries`] counts one connection's lines by (`sshd[123]`, RFC 5424's PROCID, the
/// journal's `_PID`).
pub fn parse_line_pid(line: &[u8], ctx: &mut LineContext) -> (LineResult, LineMeta) {
    let (result, pid, times, repeat_line) = parse_one(line, ctx);
    // A `last message repeated` line keeps the line it repeats; any other line replaces it.
    if !repeat_line {
        ctx.last.clear();
        if matches!(result, LineResult::Login(_)) {
            ctx.last.extend_from_slice(line);
        }
    }
    (result, LineMeta { pid, times })
}

/// The result, pid and times of a line, and whether it was a `last message repeated` line.
fn parse_one(line: &[u8], ctx: &mut LineContext) -> (LineResult, Option<u32>, u32, bool) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE_BYTES {
        return (LineResult::Skipped(SkipReason::TooLong), None, 1, false);
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return (LineResult::NotLogin, None, 1, false);
    }
    // Valid UTF-8 (nearly every line) is checked by the fast validator; the rest is repaired.
    let text = match std::str::from_utf8(line) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(line),
    };
    if text.starts_with('{') {
        return match frame::journal(&text) {
            Ok(Some(entry)) => {
                let (r, times) = dispatch(entry.time, &entry.program, &entry.message);
                (r, entry.pid, times, false)
            }
            Ok(None) => (LineResult::NotLogin, None, 1, false),
            Err(reason) => (LineResult::Skipped(reason), None, 1, false),
        };
    }
    if let Some(n) = last_repeated(&text) {
        // syslogd's summary repeats the line before it, whatever that was.
        if ctx.last.is_empty() {
            return (LineResult::NotLogin, None, 1, false);
        }
        let last = std::mem::take(&mut ctx.last);
        let (r, pid, _, _) = parse_one(&last, ctx);
        ctx.last = last;
        return (r, pid, n, true);
    }
    match frame::frame(&text, &mut ctx.years) {
        Ok(f) => {
            let (r, times) = dispatch(f.time, f.program, f.message);
            (r, f.pid, times, false)
        }
        Err(reason) => (LineResult::Skipped(reason), None, 1, false),
    }
}

/// N of syslogd's `… HOST last message repeated N times` (sysklogd, BSD syslogd).
fn last_repeated(text: &str) -> Option<u32> {
    if !text.ends_with(" times") {
        return None;
    }
    let (_, rest) = text.split_once(" last message repeated ")?;
    let n = rest.strip_suffix(" times")?.parse().ok()?;
    (1..=100_000).contains(&n).then_some(n)
}

/// Parses a whole log: the login events with their 1-based line numbers, and the skipped lines.
pub fn parse_log(bytes: &[u8], ctx: &mut LineContext) -> Parsed<Vec<(usize, LoginEvent)>> {
    let mut out = Parsed::new(Vec::new());
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return out;
    }
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        match parse_line(line, ctx) {
            LineResult::Login(event) => out.value.push((i + 1, event)),
            LineResult::NotLogin => {}
            LineResult::Skipped(reason) => out.skip(i + 1, reason),
        }
    }
    out
}

/// The login programs, by the name they log under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Sshd,
    Su,
    Sudo,
    Login,
    Dropbear,
    Vsftpd,
    Proftpd,
    PureFtpd,
    Mysqld,
    Mariadbd,
    Audit,
    Kernel,
    Other,
}

impl Program {
    fn of(name: &str) -> Program {
        match name {
            "sshd" | "sshd-session" | "sshd-auth" => Program::Sshd,
            "su" => Program::Su,
            "sudo" => Program::Sudo,
            "login" => Program::Login,
            "dropbear" => Program::Dropbear,
            "vsftpd" => Program::Vsftpd,
            "proftpd" => Program::Proftpd,
            "mysqld" | "mysqld_safe" | "mysql" => Program::Mysqld,
            "mariadbd" | "mariadb" => Program::Mariadbd,
            "audit" | "auditd" | "audispd" | "audisp-syslog" => Program::Audit,
            "kernel" => Program::Kernel,
            _ if name.starts_with("pure-ftpd") => Program::PureFtpd,
            _ => Program::Other,
        }
    }

    /// The [`LoginEvent::service`] of this program's own lines.
    fn service(self) -> Option<&'static str> {
        Some(match self {
            Program::Sshd => "sshd",
            Program::Su => "su",
            Program::Sudo => "sudo",
            Program::Login => "login",
            Program::Dropbear => "dropbear",
            Program::Vsftpd => "vsftpd",
            Program::Proftpd => "proftpd",
            Program::PureFtpd => "pure-ftpd",
            Program::Mysqld => "mysqld",
            Program::Mariadbd => "mariadbd",
            Program::Audit | Program::Kernel => "auditd",
            Program::Other => return None,
        })
    }
}

/// The line's result, and how many times it happened (rsyslog's `message repeated`).
fn dispatch(time: Timestamp, program: &str, message: &str) -> (LineResult, u32) {
    let (message, times) = unrepeat(message);
    let message = solaris_tag(message);
    let program = Program::of(program);
    let attempt = match program {
        Program::Sshd => sshd::parse(message),
        Program::Su => su::parse(message),
        Program::Sudo => sudo::parse(message),
        Program::Login => login::parse(message),
        Program::Dropbear => dropbear::parse(message),
        Program::Vsftpd => ftp::vsftpd(message),
        Program::Proftpd => ftp::proftpd(message),
        Program::PureFtpd => ftp::pure_ftpd(message),
        Program::Mysqld | Program::Mariadbd => mysql::parse(message, program.service()),
        Program::Audit => audit::parse(message),
        Program::Kernel => message.strip_prefix("audit: ").and_then(audit::parse),
        Program::Other => None,
    };
    // Every program but the database and audit ones can log PAM's lines; the `PAM N more`
    // summary names no service, so only known programs' count.
    let attempt = attempt.or_else(|| match program {
        Program::Mysqld | Program::Mariadbd | Program::Audit | Program::Kernel => None,
        _ if message.starts_with("pam_") => pam::parse(message, program.service()),
        _ if message.starts_with("(pam_unix) ") => pam::legacy(message, program.service()),
        _ if message.starts_with("PAM ") => pam::repeated(message, program.service()?),
        _ => None,
    });
    match attempt {
        Some(a) => (LineResult::Login(a.into_event(time)), times),
        None => (LineResult::NotLogin, 1),
    }
}

/// The message after illumos/Solaris syslog's `[ID 800047 auth.info] ` tag.
fn solaris_tag(message: &str) -> &str {
    let Some(rest) = message.strip_prefix("[ID ") else {
        return message;
    };
    match rest.split_once("] ") {
        Some((id, msg))
            if id.split_once(' ').is_some_and(|(n, fl)| {
                n.bytes().all(|b| b.is_ascii_digit()) && fl.contains('.')
            }) =>
        {
            msg
        }
        _ => message,
    }
}

/// The message inside rsyslog's `message repeated N times: [ MSG]`. The count is dropped: a
/// [`LoginEvent`] stands for one attempt (see the module documentation).
fn unrepeat(message: &str) -> (&str, u32) {
    let Some(rest) = message.strip_prefix("message repeated ") else {
        return (message, 1);
    };
    rest.split_once(" times: [ ")
        .and_then(|(n, inner)| {
            let n: u32 = n.parse().ok().filter(|n| (1..=100_000).contains(n))?;
            Some((inner.strip_suffix(']')?, n))
        })
        .unwrap_or((message, 1))
}

/// A login attempt as a message parser sees it, borrowing from the line.
#[derive(Debug)]
pub(crate) struct Attempt<'a> {
    service: &'static str,
    user: Cow<'a, str>,
    source: Option<&'a str>,
    port: Option<u16>,
    method: Option<LoginMethod>,
    outcome: LoginOutcome,
    reason: Option<&'static str>,
    /// A time the message itself carries, more precise than its frame's (auditd's stamp).
    time: Option<Timestamp>,
}

impl<'a> Attempt<'a> {
    fn new(service: &'static str, user: impl Into<Cow<'a, str>>, outcome: LoginOutcome) -> Self {
        Attempt {
            service,
            user: user.into(),
            source: None,
            port: None,
            method: None,
            outcome,
            reason: None,
            time: None,
        }
    }

    pub(crate) fn success(service: &'static str, user: impl Into<Cow<'a, str>>) -> Self {
        Attempt::new(service, user, LoginOutcome::Success)
    }

    pub(crate) fn failure(
        service: &'static str,
        user: impl Into<Cow<'a, str>>,
        reason: &'static str,
    ) -> Self {
        let mut a = Attempt::new(service, user, LoginOutcome::Failure);
        a.reason = Some(reason);
        a
    }

    /// Sets the remote address, normalised by [`scan::source`].
    pub(crate) fn from(mut self, addr: &'a str) -> Self {
        self.source = scan::source(addr);
        self
    }

    pub(crate) fn port(mut self, port: Option<u16>) -> Self {
        self.port = port;
        self
    }

    pub(crate) fn method(mut self, method: LoginMethod) -> Self {
        self.method = Some(method);
        self
    }

    pub(crate) fn method_opt(mut self, method: Option<LoginMethod>) -> Self {
        self.method = method;
        self
    }

    pub(crate) fn at(mut self, time: Option<Timestamp>) -> Self {
        self.time = time;
        self
    }

    fn into_event(self, frame_time: Timestamp) -> LoginEvent {
        LoginEvent {
            time: self.time.unwrap_or(frame_time),
            service: self.service.to_owned(),
            user: self.user.into_owned(),
            source: self.source.map(str::to_owned),
            port: self.port,
            method: self.method,
            outcome: self.outcome,
            reason: self.reason.map(str::to_owned),
        }
    }
}
