//! Line frames: where the time, the program and the message are in each log format.
//!
//! Recognised, by the first byte of the line:
//! * classic syslog `Nov 23 10:00:01 host prog[pid]: msg` (year from [`YearGuess`], local time),
//!   also with BusyBox's `facility.level` token after the host;
//! * RFC 3339 syslog `2026-11-23T10:00:01.123456+01:00 host prog[pid]: msg` (Debian 12 rsyslog);
//! * `journalctl -o json` objects ([`journal`]);
//! * MySQL 5.7/8 (`2026-11-23T10:00:01.123456Z 9 [Note] …`), MariaDB (`2026-11-23 10:00:01 9
//!   [Warning] …`) and old MySQL (`261123 10:00:01 [Warning] …`) error logs;
//! * auditd's `audit.log` (`type=USER_AUTH msg=audit(1700000000.123:456): …`);
//! * vsftpd's `vsftpd.log` (`Mon Nov 23 10:00:01 2026 [pid 12] …`, local time);
//! * proftpd's `SystemLog` (`2026-11-23 10:00:01,123 host proftpd[12] …`, local time);
//! * RFC 5424 syslog `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD…] MSG`;
//! * an optional `<PRI>` prefix before any of them, and classic lines without a host name (a
//!   local socket, BSD syslogd).

use vigil_model::Timestamp;

use super::find;
use super::time::{
    civil_seconds, date_ok, digits, hms, iso_datetime, month_from_abbr, ymd, YearGuess,
};
use super::SkipReason;

/// A framed line: when, which program, what it said.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Framed<'a> {
    /// The process id the tag names (`sshd[123]`), when it names one.
    pub pid: Option<u32>,
    pub time: Timestamp,
    pub program: &'a str,
    pub message: &'a str,
}

/// A journal entry: the same, owned, because JSON strings are unescaped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct JournalEntry {
    pub pid: Option<u32>,
    pub time: Timestamp,
    pub program: String,
    pub message: String,
}

pub(crate) fn frame<'a>(line: &'a str, years: &mut YearGuess) -> Result<Framed<'a>, SkipReason> {
    let stripped = strip_priority(line);
    if stripped.len() < line.len() {
        if let Some(rest) = stripped.strip_prefix("1 ") {
            return rfc5424(rest, years.utc_offset_secs());
        }
    }
    let line = stripped;
    let b = line.as_bytes();
    match b.first() {
        Some(b'A'..=b'Z') if b.get(3) == Some(&b' ') => {
            if let Some(month) = month_from_abbr(b) {
                return classic(line, month, years);
            }
            if b.get(7) == Some(&b' ') && month_from_abbr(&b[4..]).is_some() {
                return asctime(line, years.utc_offset_secs());
            }
            Err(SkipReason::NoFrame)
        }
        Some(b'0'..=b'9') => numeric(line, years.utc_offset_secs()),
        Some(b't') if line.starts_with("type=") => Ok(Framed {
            pid: None,
            time: audit_stamp(line).ok_or(SkipReason::BadTime)?,
            program: "audit",
            message: line,
        }),
        _ => Err(SkipReason::NoFrame),
    }
}

/// `TIMESTAMP HOST APP PROCID MSGID SD MSG` after RFC 5424's `<PRI>1 `: SD is `-` or one or
/// more `[id key="value" …]` elements, whose quoted values may hold `\]` and `\"`.
fn rfc5424(rest: &str, local_offset: i64) -> Result<Framed<'_>, SkipReason> {
    let mut fields = rest.splitn(5, ' ');
    let (Some(ts), Some(_host), Some(app), Some(procid), Some(rest)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(SkipReason::NoFrame);
    };
    let (time, used) = iso_datetime(ts.as_bytes(), b'T', local_offset).ok_or(if ts == "-" {
        SkipReason::BadTime
    } else {
        SkipReason::NoFrame
    })?;
    if used != ts.len() {
        return Err(SkipReason::BadTime);
    }
    let (_msgid, rest) = find::split_byte(rest, b' ').unwrap_or((rest, ""));
    let message = skip_structured_data(rest).ok_or(SkipReason::NoFrame)?;
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Ok(Framed {
        pid: procid.parse().ok(),
        time,
        program: if app == "-" { "" } else { app },
        message,
    })
}

/// The message after RFC 5424's structured data (`-`, or `[…]` elements one after another).
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        loop {
            match *b.get(i)? {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let rest = &s[i..];
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// `<13>` before a frame, as some remote-syslog files keep it.
fn strip_priority(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('<') else {
        return line;
    };
    match rest.split_once('>') {
        Some((n, after)) if (1..=3).contains(&n.len()) && n.bytes().all(|c| c.is_ascii_digit()) => {
            after
        }
        _ => line,
    }
}

/// `Nov 23 10:00:01 host prog[pid]: msg`; the day may be space-padded (`Nov  3`) or not.
fn classic<'a>(line: &'a str, month: u32, years: &mut YearGuess) -> Result<Framed<'a>, SkipReason> {
    let rest = line[4..].trim_start_matches(' ');
    let (day, rest) = find::split_byte(rest, b' ').ok_or(SkipReason::NoFrame)?;
    let day = digits(day.as_bytes()).ok_or(SkipReason::NoFrame)?;
    let (time, rest) = split_token(rest).ok_or(SkipReason::NoFrame)?;
    let sod = hms(time.as_bytes()).ok_or(SkipReason::NoFrame)?;
    if !date_ok(month, day) {
        return Err(SkipReason::BadTime);
    }
    let time = years.resolve(month, day, sod);
    Ok(host_and_tag(rest, time))
}

/// Lines starting with a digit: RFC 3339 syslog, MySQL/MariaDB error logs, proftpd's log.
fn numeric(line: &str, local_offset: i64) -> Result<Framed<'_>, SkipReason> {
    let b = line.as_bytes();
    if b.get(6) == Some(&b' ') {
        return old_mysql(line, local_offset);
    }
    let sep = match b.get(10) {
        Some(&s @ (b'T' | b' ')) => s,
        _ => return Err(SkipReason::NoFrame),
    };
    let (time, used) = match iso_datetime(b, sep, local_offset) {
        Some(t) => t,
        None if ymd(&b[..10]).is_none() || b.len() < 19 => return Err(SkipReason::NoFrame),
        None => return Err(SkipReason::BadTime),
    };
    if let Some(rest) = line[used..].strip_prefix('\t') {
        return general_log(rest, time);
    }
    let rest = line[used..].strip_prefix(' ').ok_or(SkipReason::NoFrame)?;
    if is_mysql_body(rest) {
        return Ok(Framed {
            pid: None,
            time,
            program: "mysqld",
            message: rest,
        });
    }
    Ok(host_and_tag(rest, time))
}

/// MySQL's general query log after its timestamp: `   9 Connect\tArgument`. Only `Connect`
/// lines can be logins; the rest are queries, which are not.
fn general_log(rest: &str, time: Timestamp) -> Result<Framed<'_>, SkipReason> {
    let (head, argument) = rest.split_once('\t').ok_or(SkipReason::NoFrame)?;
    let mut words = head.split_whitespace();
    let (Some(id), Some(command)) = (words.next(), words.next()) else {
        return Err(SkipReason::NoFrame);
    };
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SkipReason::NoFrame);
    }
    Ok(Framed {
        pid: None,
        time,
        program: if command == "Connect" { "mysqld" } else { "" },
        message: argument,
    })
}

/// After a MySQL timestamp: a thread id and a `[Level]`, or (old servers) the level alone.
fn is_mysql_body(rest: &str) -> bool {
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.starts_with(" [") || rest.starts_with('[')
}

/// `261123 10:00:01 [Warning] …` or `261123  9:00:01 …` (MySQL ≤ 5.6, MariaDB ≤ 10.0).
fn old_mysql(line: &str, local_offset: i64) -> Result<Framed<'_>, SkipReason> {
    let b = line.as_bytes();
    let date = digits(&b[..6]).ok_or(SkipReason::NoFrame)?;
    let rest = line[7..].trim_start_matches(' ');
    let (time, rest) = split_token(rest).ok_or(SkipReason::NoFrame)?;
    let time = match time.len() {
        7 => format!("0{time}"),
        _ => time.to_owned(),
    };
    let sod = hms(time.as_bytes()).ok_or(SkipReason::NoFrame)?;
    if !is_mysql_body(rest) {
        return Err(SkipReason::NoFrame);
    }
    let (y, m, d) = (date / 10_000, date / 100 % 100, date % 100);
    if !date_ok(m, d) {
        return Err(SkipReason::BadTime);
    }
    Ok(Framed {
        pid: None,
        time: civil_seconds(2000 + i64::from(y), m, d, sod) - local_offset,
        program: "mysqld",
        message: rest,
    })
}

/// `Mon Nov 23 10:00:01 2026 …`: vsftpd's own log (`[pid 1234] [alice] OK LOGIN: …`) or
/// OpenWrt's `logread` (`authpriv.warn dropbear[1234]: …`, no host).
fn asctime(line: &str, local_offset: i64) -> Result<Framed<'_>, SkipReason> {
    let month = month_from_abbr(&line.as_bytes()[4..]).ok_or(SkipReason::NoFrame)?;
    let rest = line[8..].trim_start_matches(' ');
    let (day, rest) = find::split_byte(rest, b' ').ok_or(SkipReason::NoFrame)?;
    let (time, rest) = split_token(rest).ok_or(SkipReason::NoFrame)?;
    let (year, rest) = split_token(rest).ok_or(SkipReason::NoFrame)?;
    let day = digits(day.as_bytes()).ok_or(SkipReason::NoFrame)?;
    let sod = hms(time.as_bytes()).ok_or(SkipReason::NoFrame)?;
    let year = digits(year.as_bytes())
        .filter(|_| year.len() == 4)
        .ok_or(SkipReason::NoFrame)?;
    if !date_ok(month, day) {
        return Err(SkipReason::BadTime);
    }
    let time = civil_seconds(i64::from(year), month, day, sod) - local_offset;
    if rest.starts_with("[pid ") {
        return Ok(Framed {
            pid: None,
            time,
            program: "vsftpd",
            message: rest,
        });
    }
    Ok(tag(rest, time))
}

/// `host tag: msg` after a syslog timestamp. BusyBox puts `facility.level` between host and tag;
/// proftpd's own log ends the tag with `]` and no colon. A line whose tag cannot be found is
/// still a syslog line: it frames with an empty program, which no parser claims.
fn host_and_tag(rest: &str, time: Timestamp) -> Framed<'_> {
    match find::split_byte(rest, b' ') {
        // No host name: the first word is already the tag (`sshd[12]:`).
        Some((first, _)) if first.ends_with(':') => tag(rest, time),
        Some((_host, rest)) => tag(rest, time),
        None => tag("", time),
    }
}

/// `[facility.level ]tag: msg`, the part of a syslog line after the host.
fn tag(rest: &str, time: Timestamp) -> Framed<'_> {
    let none = Framed {
        pid: None,
        time,
        program: "",
        message: "",
    };
    let (mut tag, mut msg) = find::split_byte(rest, b' ').unwrap_or((rest, ""));
    if !tag.ends_with(':') && !tag.ends_with(']') && tag.contains('.') {
        (tag, msg) = find::split_byte(msg, b' ').unwrap_or((msg, ""));
    }
    let tag = match tag.strip_suffix(':') {
        Some(t) => t,
        None if tag.ends_with(']') => tag,
        None => return none,
    };
    let open = tag.bytes().position(|b| b == b'[');
    let name = match open {
        Some(i) if tag.ends_with(']') => &tag[..i],
        _ => tag,
    };
    let pid = open
        .and_then(|i| tag[i + 1..].strip_suffix(']'))
        .and_then(|p| p.parse().ok());
    let name = name.rsplit('/').next().unwrap_or(name);
    Framed {
        pid,
        time,
        program: name,
        message: msg,
    }
}

/// The next space-separated token and what follows it.
fn split_token(s: &str) -> Option<(&str, &str)> {
    find::split_byte(s, b' ')
}

/// The seconds of auditd's `audit(1700000000.123:456)` stamp.
pub(crate) fn audit_stamp(s: &str) -> Option<Timestamp> {
    let i = s.find("audit(")?;
    let rest = &s[i + 6..];
    let end = rest.find(['.', ':'])?;
    let secs = &rest[..end];
    if secs.is_empty() || secs.len() > 12 || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    secs.parse().ok()
}

/// One `journalctl -o json` line. `Ok(None)` for an entry without a message (journalctl writes
/// `null` for messages it would not print); `Err` for anything that is not a journal object.
///
/// The program is `SYSLOG_IDENTIFIER`, else `_COMM`, else `audit` for the audit transport. When
/// both name fields are present and neither is a prefix of the other (`_COMM` is cut to 15
/// bytes), the entry is not trusted as a login program's: that is `logger -t sshd` forging a
/// line, and the kernel's `_COMM` is the truth the journal adds over plain syslog.
pub(crate) fn journal(line: &str) -> Result<Option<JournalEntry>, SkipReason> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|_| SkipReason::BadJournal)?;
    let obj = value.as_object().ok_or(SkipReason::BadJournal)?;
    let time = obj
        .get("__REALTIME_TIMESTAMP")
        .and_then(|v| match v {
            serde_json::Value::String(s) => s.parse::<u64>().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .ok_or(SkipReason::BadJournal)?;
    let time = i64::try_from(time / 1_000_000).map_err(|_| SkipReason::BadTime)?;
    let message = match obj.get("MESSAGE") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(bytes)) => {
            let bytes: Vec<u8> = bytes
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<_>>()
                .ok_or(SkipReason::BadJournal)?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => return Ok(None),
    };
    let text = |key: &str| obj.get(key).and_then(serde_json::Value::as_str);
    let identifier = text("SYSLOG_IDENTIFIER");
    let comm = text("_COMM");
    let program = match (identifier, comm) {
        (Some(id), Some(comm)) if !id.starts_with(comm) && !comm.starts_with(id) => "",
        (Some(id), _) => id,
        (None, Some(comm)) => comm,
        (None, None) if text("_TRANSPORT") == Some("audit") => "audit",
        (None, None) => "",
    };
    let program = program.rsplit('/').next().unwrap_or(program);
    Ok(Some(JournalEntry {
        pid: text("_PID")
            .or_else(|| text("SYSLOG_PID"))
            .and_then(|p| p.parse().ok()),
        time,
        program: program.to_owned(),
        message,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = 1_795_442_400; // 2026-11-23T14:00:00Z

    /// The frame without its pid (which `pids_come_from_the_tag` checks).
    fn f(line: &str) -> Result<Framed<'_>, SkipReason> {
        frame(line, &mut YearGuess::new(NOW, 0)).map(|x| Framed { pid: None, ..x })
    }

    #[test]
    fn pids_come_from_the_tag() {
        let pid = |l: &str| {
            frame(l, &mut YearGuess::new(NOW, 0))
                .ok()
                .and_then(|x| x.pid)
        };
        assert_eq!(pid("Nov 23 10:00:01 web1 sshd[812]: Accepted x"), Some(812));
        assert_eq!(pid("Nov 23 10:00:01 sshd-session[9]: x"), Some(9));
        assert_eq!(pid("Nov 23 10:00:01 web1 sudo:    alice : TTY=pts/0"), None);
        assert_eq!(pid("Nov 23 10:00:01 web1 sshd[x1]: y"), None);
        assert_eq!(
            pid("<38>1 2026-11-23T10:00:01Z web1 sshd 4242 - - Failed x"),
            Some(4242)
        );
        assert_eq!(
            pid("<38>1 2026-11-23T10:00:01Z web1 sshd - - - Failed x"),
            None
        );
    }

    fn framed(time: Timestamp, program: &'static str, message: &'static str) -> Framed<'static> {
        Framed {
            pid: None,
            time,
            program,
            message,
        }
    }

    #[test]
    fn syslog_frames() {
        let t = NOW - 4 * 3600 + 1; // 10:00:01
        assert_eq!(
            f("Nov 23 10:00:01 web1 sshd[812]: Accepted x"),
            Ok(framed(t, "sshd", "Accepted x"))
        );
        assert_eq!(
            f("Nov 23 10:00:01 web1 sudo:    alice : TTY=pts/0"),
            Ok(framed(t, "sudo", "   alice : TTY=pts/0"))
        );
        assert_eq!(
            f("Nov  3 10:00:01 web1 /usr/sbin/sshd[1]: m"),
            Ok(framed(t - 20 * 86_400, "sshd", "m"))
        );
        assert_eq!(
            f("Nov 3 10:00:01 alpine authpriv.info dropbear[1]: m"),
            Ok(framed(t - 20 * 86_400, "dropbear", "m"))
        );
        assert_eq!(
            f("<38>Nov 23 10:00:01 web1 su[1]: m"),
            Ok(framed(t, "su", "m"))
        );
        assert_eq!(
            f("2026-11-23T11:00:01.123456+01:00 web1 sshd[812]: m"),
            Ok(framed(t, "sshd", "m"))
        );
        assert_eq!(f("Nov 23 10:00:01 web1 -- MARK --"), Ok(framed(t, "", "")));
        assert_eq!(f("Nov 23 10:00:01 web1"), Ok(framed(t, "", "")));
        assert_eq!(f("Nov 32 10:00:01 web1 a: b"), Err(SkipReason::BadTime));
        assert_eq!(f("Nov 23 25:00:01 web1 a: b"), Err(SkipReason::NoFrame));
        assert_eq!(f("Nov 23"), Err(SkipReason::NoFrame));
        assert_eq!(f("Hello world"), Err(SkipReason::NoFrame));
        assert_eq!(f("2026-11-23T26:00:01Z h a: b"), Err(SkipReason::BadTime));
        assert_eq!(f("2026-11-23Tx"), Err(SkipReason::NoFrame));
        assert_eq!(f("<9999>Nov"), Err(SkipReason::NoFrame));
    }

    #[test]
    fn service_log_frames() {
        let t = NOW - 4 * 3600 + 1;
        let db = "Access denied for user 'root'@'localhost' (using password: YES)";
        assert_eq!(
            f("2026-11-23T10:00:01.123456Z 9 [Note] [MY-010926] [Server] x").map(|f| f.program),
            Ok("mysqld")
        );
        let line = format!("2026-11-23 10:00:01 9 [Warning] {db}");
        assert_eq!(f(&line).map(|f| f.time), Ok(t));
        let line = format!("261123  10:00:01 [Warning] {db}");
        assert_eq!(f(&line).map(|f| f.time), Ok(t));
        let line = format!("261123  9:00:01 [Warning] {db}");
        assert_eq!(f(&line).map(|f| f.time), Ok(t - 3600));
        assert_eq!(
            f("Mon Nov 23 10:00:01 2026 [pid 3] [ftp] OK LOGIN"),
            Ok(framed(t, "vsftpd", "[pid 3] [ftp] OK LOGIN"))
        );
        assert_eq!(
            f("Tue Nov  3 10:00:01 2026 [pid 3] x").map(|f| f.time),
            Ok(t - 20 * 86_400)
        );
        assert_eq!(
            f("Mon Nov 23 10:00:01 2026 authpriv.warn dropbear[9]: m"),
            Ok(framed(t, "dropbear", "m"))
        );
        assert_eq!(
            f("2026-11-23 10:00:01,120 web1 proftpd[77] web1 (h[1.2.3.4]): USER a"),
            Ok(framed(t, "proftpd", "web1 (h[1.2.3.4]): USER a"))
        );
        let audit = "type=USER_AUTH msg=audit(1700000000.123:456): pid=1";
        assert_eq!(f(audit), Ok(framed(1_700_000_000, "audit", audit)));
        assert_eq!(f("type=X msg=audit(x.1:2)"), Err(SkipReason::BadTime));
    }

    #[test]
    fn journal_entries() {
        let j = |s: &str| journal(s);
        let e = j(
            r#"{"__REALTIME_TIMESTAMP":"1700000000123456","SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","MESSAGE":"hi"}"#,
        );
        assert_eq!(
            e,
            Ok(Some(JournalEntry {
                pid: None,
                time: 1_700_000_000,
                program: "sshd".into(),
                message: "hi".into()
            }))
        );
        let e = j(
            r#"{"__REALTIME_TIMESTAMP":"1700000000123456","_COMM":"sshd-session","MESSAGE":[104,255]}"#,
        );
        assert_eq!(
            e.unwrap().unwrap(),
            JournalEntry {
                pid: None,
                time: 1_700_000_000,
                program: "sshd-session".into(),
                message: "h\u{fffd}".into()
            }
        );
        let forged = j(
            r#"{"__REALTIME_TIMESTAMP":"1","SYSLOG_IDENTIFIER":"sshd","_COMM":"logger","MESSAGE":"x"}"#,
        );
        assert_eq!(forged.unwrap().unwrap().program, "");
        let audit = j(r#"{"__REALTIME_TIMESTAMP":"1","_TRANSPORT":"audit","MESSAGE":"x"}"#);
        assert_eq!(audit.unwrap().unwrap().program, "audit");
        assert_eq!(
            j(r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":null}"#),
            Ok(None)
        );
        for bad in [
            "{",
            "{}",
            "[1]",
            r#"{"__REALTIME_TIMESTAMP":"x","MESSAGE":"m"}"#,
            r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":[300]}"#,
        ] {
            assert!(j(bad).is_err(), "{bad}");
        }
    }
}
