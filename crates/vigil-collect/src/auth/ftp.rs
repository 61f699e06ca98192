//! FTP servers: vsftpd (`[alice] FAIL LOGIN: Client "1.2.3.4"`), proftpd (`host (name[1.2.3.4]) -
//! USER alice (Login failed): Incorrect password`) and Pure-FTPd (`(?@1.2.3.4) [WARNING]
//! Authentication failed for user [alice]`).

use vigil_model::LoginMethod;

use super::{reason, Attempt};

/// vsftpd, from syslog or its own `vsftpd.log` (whose `[pid N] ` prefix is dropped here).
///
/// Both the user name (before the verdict) and an anonymous password (after the address of an
/// `OK LOGIN`) are client-chosen. A failure is read from its last marker and must end the line,
/// as a real `FAIL LOGIN` does; a success from its first marker.
pub(crate) fn vsftpd(msg: &str) -> Option<Attempt<'_>> {
    const FAIL: &str = "] FAIL LOGIN: Client \"";
    const OK: &str = "] OK LOGIN: Client \"";
    let msg = match msg.strip_prefix("[pid ") {
        Some(rest) => rest.split_once("] ")?.1,
        None => msg,
    };
    let msg = msg.strip_prefix('[')?;
    if let Some(i) = msg.rfind(FAIL) {
        // `…Client "ADDR"`, or with the reason vsftpd 3 appends: `…Client "ADDR", "Login
        // incorrect."` (server-written, after the address).
        let tail = msg[i + FAIL.len()..].strip_suffix('"')?;
        let addr = match tail.split_once("\", \"") {
            Some((a, _why)) => a,
            None => tail,
        };
        let user = &msg[..i];
        if !addr.contains('"') && !user.contains("\", anon password \"") {
            return Some(
                Attempt::failure("vsftpd", user, reason::BAD_PASSWORD)
                    .from(addr)
                    .method(LoginMethod::Password),
            );
        }
    }
    let i = msg.find(OK)?;
    let (addr, _) = msg[i + OK.len()..].split_once('"')?;
    Some(
        Attempt::success("vsftpd", &msg[..i])
            .from(addr)
            .method(LoginMethod::Password),
    )
}

/// proftpd: `SERVER (NAME[ADDR]) - MESSAGE` from syslog, `SERVER (NAME[ADDR]): MESSAGE` from its
/// own log. The address is the bracketed one; the name before it may come from reverse DNS.
pub(crate) fn proftpd(msg: &str) -> Option<Attempt<'_>> {
    let (_server, rest) = msg.split_once(" (")?;
    let end = [
        rest.find("]) - ").map(|i| (i, 5)),
        rest.find("]): ").map(|i| (i, 4)),
    ]
    .into_iter()
    .flatten()
    .min()?;
    let (client, body) = (&rest[..end.0], &rest[end.0 + end.1..]);
    let addr = client.rsplit_once('[').map_or(client, |(_, a)| a);
    let attempt = if let Some(user) = body
        .strip_suffix(": Login successful.")
        .and_then(|u| u.strip_prefix("USER ").or_else(|| u.strip_prefix("ANON ")))
    {
        Attempt::success("proftpd", user)
    } else if let Some((user, why)) = body
        .strip_prefix("USER ")
        .and_then(|r| r.rsplit_once(" (Login failed): "))
    {
        let why = match why {
            "Incorrect password" | "Incorrect password." => reason::BAD_PASSWORD,
            _ if why.starts_with("Invalid shell")
                || why.starts_with("User in ")
                || why.starts_with("Limit access denies login") =>
            {
                reason::NOT_ALLOWED
            }
            _ => reason::AUTH_FAILED,
        };
        Attempt::failure("proftpd", user, why)
    } else if let Some((user, _)) = body
        .strip_prefix("USER ")
        .and_then(|r| r.rsplit_once(": no such user found from "))
    {
        Attempt::failure("proftpd", user, reason::INVALID_USER)
    } else if body.starts_with("Maximum login attempts (") {
        Attempt::failure("proftpd", "", reason::MAX_ATTEMPTS)
    } else if body.starts_with("SECURITY VIOLATION: Root login attempted") {
        Attempt::failure("proftpd", "root", reason::NOT_ALLOWED)
    } else {
        return None;
    };
    Some(attempt.from(addr).method(LoginMethod::Password))
}

/// Pure-FTPd: `(USER@ADDR) [LEVEL] MESSAGE`, where USER is `?` until the login succeeds.
pub(crate) fn pure_ftpd(msg: &str) -> Option<Attempt<'_>> {
    let (who, rest) = msg.strip_prefix('(')?.split_once(") [")?;
    let (_level, body) = rest.split_once("] ")?;
    let addr = who.rsplit_once('@').map_or(who, |(_, a)| a);
    let attempt = if let Some(user) = body.strip_prefix("Authentication failed for user [") {
        Attempt::failure("pure-ftpd", user.strip_suffix(']')?, reason::BAD_PASSWORD)
    } else if let Some(user) = body.strip_suffix(" is now logged in") {
        Attempt::success("pure-ftpd", user)
    } else {
        return None;
    };
    Some(attempt.from(addr).method(LoginMethod::Password))
}
