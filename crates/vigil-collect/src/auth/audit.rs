//! auditd `USER_AUTH` and `USER_LOGIN` records, from `audit.log` (`type=USER_AUTH
//! msg=audit(1700000000.123:456): … msg='op=PAM:authentication … acct="root" … addr=1.2.3.4
//! terminal=ssh res=failed'`), the journal or syslog (`USER_AUTH pid=… msg='…'`) and the
//! kernel's own `audit: type=1100 audit(…): …`.
//!
//! The service is `auditd`, the program that logged it; the same attempt also appears in the
//! program's own log. `USER_AUTH` is one PAM authentication (method password), `USER_LOGIN` one
//! login session, or for sshd one failed attempt of any method.

use std::borrow::Cow;

use vigil_model::LoginMethod;

use super::frame::audit_stamp;
use super::scan::{field, field_start};
use super::{reason, Attempt};

const SERVICE: &str = "auditd";

pub(crate) fn parse(msg: &str) -> Option<Attempt<'_>> {
    // audispd's syslog plug-in puts `node=HOST ` first.
    let msg = match msg.strip_prefix("node=") {
        Some(rest) => rest.split_once(' ')?.1,
        None => msg,
    };
    let (kind, rest) = match msg.strip_prefix("type=") {
        Some(rest) => rest.split_once(' ')?,
        None => msg.split_once(' ')?,
    };
    let login = match kind {
        "USER_AUTH" | "1100" => false,
        "USER_LOGIN" | "1112" => true,
        _ => return None,
    };
    let inner_start = rest.find("msg='")? + 5;
    let inner_end = rest.rfind('\'').filter(|&e| e >= inner_start)?;
    let inner = &rest[inner_start..inner_end];
    let enriched = &rest[inner_end + 1..];

    let success = match field(inner, "res")? {
        "success" => true,
        "failed" | "failure" => false,
        _ => return None,
    };
    let mut invalid = false;
    let user: Cow<'_, str> = match field(inner, "acct") {
        Some(acct) => {
            let name = account(inner, acct);
            if matches!(&*name, "(invalid user)" | "(unknown user)" | "?") {
                invalid = true;
                Cow::Borrowed("")
            } else {
                name
            }
        }
        // `op=login id=1000`: ENRICHED logs add `ID="alice"` after the record.
        None => match field(enriched.trim_start_matches('\u{1d}'), "ID") {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Borrowed(field(inner, "id").unwrap_or("")),
        },
    };
    let attempt = match (success, login) {
        (true, _) => Attempt::success(SERVICE, user),
        (false, false) => Attempt::failure(SERVICE, user, reason::PAM_FAILURE),
        (false, true) if invalid => Attempt::failure(SERVICE, user, reason::INVALID_USER),
        (false, true) => Attempt::failure(SERVICE, user, reason::AUTH_FAILED),
    };
    let attempt = attempt
        .method(if login {
            LoginMethod::Session
        } else {
            LoginMethod::Password
        })
        .at(audit_stamp(msg));
    Some(match field(inner, "addr") {
        Some(addr) => attempt.from(addr),
        None => attempt,
    })
}

/// `acct="root"` as written, or `acct=726F6F74`: audit hex-encodes names holding spaces,
/// quotes or control characters.
fn account<'a>(inner: &'a str, acct: &'a str) -> Cow<'a, str> {
    let quoted = field_start(inner, "acct").is_some_and(|i| inner[i..].starts_with('"'));
    let pairs = acct.as_bytes().chunks_exact(2);
    if quoted || !pairs.remainder().is_empty() {
        return Cow::Borrowed(acct);
    }
    let bytes: Option<Vec<u8>> = pairs
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect();
    match bytes {
        Some(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        None => Cow::Borrowed(acct),
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
