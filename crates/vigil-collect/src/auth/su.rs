//! `su` messages: util-linux (`FAILED SU (to root) alice on pts/0`, `(to root) alice on pts/0`)
//! and shadow-utils (`FAILED su for root by alice`, `Successful su for root by alice`).
//!
//! The event's user is the account switched to, whose password was tried; the caller is not
//! kept, as [`vigil_model::LoginEvent`] has one user.

use vigil_model::LoginMethod;

use super::{reason, Attempt};

const SERVICE: &str = "su";

pub(crate) fn parse(msg: &str) -> Option<Attempt<'_>> {
    if let Some(rest) = msg.strip_prefix("FAILED SU ") {
        return util_linux(rest).map(|user| {
            Attempt::failure(SERVICE, user, reason::BAD_PASSWORD).method(LoginMethod::Session)
        });
    }
    if msg.starts_with("(to ") {
        return util_linux(msg)
            .map(|user| Attempt::success(SERVICE, user).method(LoginMethod::Session));
    }
    if let Some(rest) = msg.strip_prefix("Successful su for ") {
        let (user, _by) = rest.split_once(" by ")?;
        return Some(Attempt::success(SERVICE, user).method(LoginMethod::Session));
    }
    if let Some(rest) = msg.strip_prefix("FAILED su for ") {
        let (user, _by) = rest.split_once(" by ")?;
        return Some(
            Attempt::failure(SERVICE, user, reason::BAD_PASSWORD).method(LoginMethod::Session),
        );
    }
    None
}

/// `(to TARGET) CALLER on TTY` → TARGET.
fn util_linux(s: &str) -> Option<&str> {
    let (target, rest) = s.strip_prefix("(to ")?.split_once(") ")?;
    rest.contains(" on ").then_some(target)
}
