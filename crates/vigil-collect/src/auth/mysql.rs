//! MySQL and MariaDB `Access denied for user 'root'@'1.2.3.4' (using password: YES)`, from their
//! error logs or syslog.
//!
//! Only the server's own refusal counts: the message must start (after the thread id and the
//! `[Level]`, `[MY-010926]`, `[Server]` tags) with `Access denied`, and end with the password
//! note. A replica's `error connecting to master … message: Access denied for user …` is this
//! host failing to log in elsewhere, not an attempt on it.

use vigil_model::LoginMethod;

use super::time::{hms, iso_datetime};
use super::{reason, Attempt};

pub(crate) fn parse<'a>(msg: &'a str, service: Option<&'static str>) -> Option<Attempt<'a>> {
    let service = service.unwrap_or("mysqld");
    let rest = skip_prefix(msg)?;
    let rest = rest.strip_prefix("Access denied for user '")?;
    let (rest, why) = if let Some(r) = rest.strip_suffix("' (using password: YES)") {
        (r, reason::BAD_PASSWORD)
    } else {
        (
            rest.strip_suffix("' (using password: NO)")?,
            reason::NO_PASSWORD,
        )
    };
    // The host is written by the server and comes last; the user may hold anything.
    let (user, host) = rest.rsplit_once("'@'")?;
    let attempt = Attempt::failure(service, user, why).method(LoginMethod::Password);
    // `localhost` is the Unix socket: a local login, no remote source.
    Some(if host == "localhost" {
        attempt
    } else {
        attempt.from(host)
    })
}

/// Skips what servers write before the text: a timestamp (when a syslog line repeats it), the
/// thread id and bracketed tags.
fn skip_prefix(msg: &str) -> Option<&str> {
    let mut rest = msg.trim_start();
    let b = rest.as_bytes();
    if let Some((_, used)) = iso_datetime(b, b'T', 0).or_else(|| iso_datetime(b, b' ', 0)) {
        rest = rest[used..].trim_start();
    } else if b.len() > 15 && b[6] == b' ' && hms(&b[7..15]).is_some() {
        rest = rest[15..].trim_start();
    }
    rest = rest
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start();
    let mut tags = 0;
    while let Some(tagged) = rest.strip_prefix('[') {
        let (_, after) = tagged.split_once(']')?;
        rest = after.trim_start();
        tags += 1;
        if tags > 4 {
            return None;
        }
    }
    Some(rest)
}
