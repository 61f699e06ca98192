//! PAM module lines any program can log: `pam_unix(SERVICE:auth): authentication failure; …`,
//! `pam_unix(SERVICE:session): session opened for user …` and `PAM N more authentication
//! failures; …`.

use vigil_model::LoginMethod;

use super::scan::{field, field_start};
use super::{reason, Attempt};

/// A `pam_MODULE(SERVICE:TYPE): …` line logged by a program whose own service is `program`
/// (`None` for programs Vigil does not know).
///
/// The event's service is the PAM service when it names a known program and that program wrote
/// the line, else `pam`: a PAM line naming `sshd` written by some other program is not an sshd
/// login.
pub(crate) fn parse<'a>(msg: &'a str, program: Option<&'static str>) -> Option<Attempt<'a>> {
    let rest = msg.strip_prefix("pam_")?;
    let (head, body) = rest.split_once("): ")?;
    let (_module, inside) = head.split_once('(')?;
    let (pam_service, kind) = inside.rsplit_once(':')?;
    let named = service_of(pam_service);
    let service = match named {
        Some(s) if Some(s) == program => s,
        _ => "pam",
    };
    match kind {
        "auth" if body.starts_with("authentication failure;") => {
            Some(fields(body, service, reason::PAM_FAILURE))
        }
        // Console and su logins: the lines of sshd, sudo or cron sessions only repeat an
        // attempt their program already logged (or are not logins at all).
        "session" if matches!(named, Some("su" | "login")) && service != "pam" => {
            let user = body.strip_prefix("session opened for user ")?;
            let end = user.find(['(', ' ']).unwrap_or(user.len());
            Some(Attempt::success(service, &user[..end]).method(LoginMethod::Session))
        }
        _ => None,
    }
}

/// Linux-PAM 0.7x's `(pam_unix) authentication failure; logname= … rhost=… user=…` (RHEL 4
/// era), which names no PAM service: the event's service is the program's.
pub(crate) fn legacy<'a>(msg: &'a str, program: Option<&'static str>) -> Option<Attempt<'a>> {
    let body = msg.strip_prefix("(pam_unix) ")?;
    body.starts_with("authentication failure;")
        .then(|| fields(body, program.unwrap_or("pam"), reason::PAM_FAILURE))
}

/// `PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4
/// user=root`: one event for the summary, since each of the N attempts was logged on its own.
pub(crate) fn repeated<'a>(msg: &'a str, service: &'static str) -> Option<Attempt<'a>> {
    let rest = msg.strip_prefix("PAM ")?;
    let (n, rest) = rest.split_once(' ')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !rest.starts_with("more authentication failure") {
        return None;
    }
    Some(fields(rest, service, reason::PAM_REPEATED))
}

/// The user and remote host of PAM's `logname= uid= euid= tty= ruser= rhost= user=` list.
/// `user` is last and may hold spaces, so it runs to the end of the line; it is looked for only
/// after `rhost`, which comes first and is written by the program, not the client.
fn fields<'a>(body: &'a str, service: &'static str, why: &'static str) -> Attempt<'a> {
    let after_rhost = field_start(body, "rhost").unwrap_or(0);
    // Without `user=` (pure-ftpd, some FTP stacks) the account is the `ruser` the program set.
    let user = field_start(&body[after_rhost..], "user")
        .map(|i| body[after_rhost + i..].trim_end())
        .or_else(|| field(&body[..after_rhost], "ruser").filter(|u| !u.is_empty()))
        .unwrap_or("");
    let attempt = Attempt::failure(service, user, why).method(LoginMethod::Password);
    match field(body, "rhost") {
        Some(rhost) => attempt.from(rhost),
        None => attempt,
    }
}

/// The [`vigil_model::LoginEvent::service`] of a PAM service name Vigil knows.
fn service_of(pam_service: &str) -> Option<&'static str> {
    Some(match pam_service {
        "sshd" => "sshd",
        "su" | "su-l" => "su",
        "sudo" | "sudo-i" => "sudo",
        "login" | "remote" => "login",
        "vsftpd" => "vsftpd",
        "proftpd" => "proftpd",
        "pure-ftpd" => "pure-ftpd",
        "dropbear" => "dropbear",
        _ => return None,
    })
}
