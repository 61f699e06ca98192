//! `login` messages from shadow-utils (Debian: `FAILED LOGIN (1) on '/dev/tty1' FOR 'root',
//! Authentication failure`, `ROOT LOGIN  on '/dev/tty1'`) and util-linux (RHEL: `FAILED LOGIN 1
//! FROM host FOR root, Authentication failure`, `LOGIN ON tty1 BY alice`).

use vigil_model::LoginMethod;

use super::scan::unquote;
use super::{reason, Attempt};

const SERVICE: &str = "login";

pub(crate) fn parse(msg: &str) -> Option<Attempt<'_>> {
    if let Some(rest) = msg.strip_prefix("FAILED LOGIN ") {
        // The PAM error after the last `, ` is fixed text; the user before it is typed in.
        let (head, error) = rest.rsplit_once(", ")?;
        let (place, user) = head.split_once(" FOR ")?;
        let why = match error {
            "Authentication failure" => reason::BAD_PASSWORD,
            "User not known to the underlying authentication module" => reason::INVALID_USER,
            _ => reason::AUTH_FAILED,
        };
        return Some(with_host(
            Attempt::failure(SERVICE, unquote(user), why),
            place,
        ));
    }
    if let Some(rest) = msg.strip_prefix("TOO MANY LOGIN TRIES ") {
        let (place, user) = rest.split_once(" FOR ")?;
        let user = user.rsplit_once(", ").map_or(user, |(u, _)| u);
        return Some(with_host(
            Attempt::failure(SERVICE, unquote(user), reason::MAX_ATTEMPTS),
            place,
        ));
    }
    if let Some(place) = msg.strip_prefix("ROOT LOGIN ") {
        return Some(with_host(Attempt::success(SERVICE, "root"), place));
    }
    if let Some(rest) = msg.strip_prefix("LOGIN ON ") {
        let (_tty, user) = rest.split_once(" BY ")?;
        let (user, host) = match user.split_once(" FROM ") {
            Some((u, h)) => (u, Some(h)),
            None => (user, None),
        };
        let attempt = Attempt::success(SERVICE, user).method(LoginMethod::Session);
        return Some(match host {
            Some(h) if !is_terminal(h) => attempt.from(h),
            _ => attempt,
        });
    }
    None
}

/// The remote host in ` on 'TTY' from 'HOST'` (shadow-utils) or ` FROM HOST` (util-linux,
/// which writes the terminal there when the login is local: `FAILED LOGIN 1 FROM tty1`).
fn with_host<'a>(attempt: Attempt<'a>, place: &'a str) -> Attempt<'a> {
    let attempt = attempt.method(LoginMethod::Session);
    let host = place
        .split_once(" from '")
        .map(|(_, h)| h.strip_suffix('\'').unwrap_or(h))
        .or_else(|| place.split_once("FROM ").map(|(_, h)| h));
    match host {
        Some(h) if !is_terminal(h) => attempt.from(h),
        _ => attempt,
    }
}

fn is_terminal(s: &str) -> bool {
    ["tty", "pts/", "/dev/", "console", "hvc", "xvc", "<unknown>"]
        .iter()
        .any(|p| s.starts_with(p))
}
