//! `sudo` messages: `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls` (allowed)
//! and `alice : 3 incorrect password attempts ; TTY=…` or `alice : user NOT in sudoers ; …`
//! (refused).
//!
//! The event's user is the caller, who authenticates with their own password. One event per
//! line: `3 incorrect password attempts` is one refusal, and each of its attempts was already
//! logged by PAM. Everything after the first ` ; ` (the command line) is never read.

use vigil_model::LoginMethod;

use super::{reason, Attempt};

const SERVICE: &str = "sudo";

pub(crate) fn parse(msg: &str) -> Option<Attempt<'_>> {
    let (user, rest) = msg.trim_start().split_once(" : ")?;
    if user.is_empty() || user.contains(' ') {
        return None;
    }
    let first = rest.split_once(" ; ").map_or(rest, |(f, _)| f);
    if first.starts_with("TTY=") {
        return rest
            .contains(" ; COMMAND=")
            .then(|| Attempt::success(SERVICE, user).method(LoginMethod::Session));
    }
    let (why, method) = if incorrect_attempts(first) {
        (reason::BAD_PASSWORD, LoginMethod::Password)
    } else if matches!(
        first,
        "user NOT in sudoers" | "command not allowed" | "user NOT authorized on host"
    ) {
        (reason::NOT_ALLOWED, LoginMethod::Session)
    } else {
        return None;
    };
    Some(Attempt::failure(SERVICE, user, why).method(method))
}

/// `1 incorrect password attempt`, `3 incorrect password attempts`.
fn incorrect_attempts(s: &str) -> bool {
    s.split_once(' ').is_some_and(|(n, rest)| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && matches!(
                rest,
                "incorrect password attempt" | "incorrect password attempts"
            )
    })
}
