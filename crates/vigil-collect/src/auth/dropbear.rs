//! Dropbear SSH server messages: `Password auth succeeded for 'root' from 1.2.3.4:5678`, `Bad
//! password attempt for 'root' from …`, `Login attempt for nonexistent user from …`, `Pubkey auth
//! succeeded for 'root' with ssh-ed25519 key SHA256:… from …` and `Exit before auth from
//! <1.2.3.4:5678>: (user 'root', 10 fails): Max auth tries reached - user 'root'`.
//!
//! Dropbear writes `ADDR:PORT` with IPv6 addresses unbracketed, so the port is after the last
//! colon. The address is taken after the last ` from `, which the server writes after the
//! user name.

use vigil_model::LoginMethod;

use super::scan::addr_port;
use super::{reason, Attempt};

const SERVICE: &str = "dropbear";

pub(crate) fn parse(msg: &str) -> Option<Attempt<'_>> {
    let success = [
        ("Password auth succeeded for ", LoginMethod::Password),
        ("PAM password auth succeeded for ", LoginMethod::Password),
        ("Pubkey auth succeeded for ", LoginMethod::Publickey),
    ];
    for (prefix, method) in success {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let (user, addr, port) = quoted_user_from(rest)?;
            return Some(
                Attempt::success(SERVICE, user)
                    .from(addr)
                    .port(port)
                    .method(method),
            );
        }
    }
    for prefix in ["Bad password attempt for ", "Bad PAM password attempt for "] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let (user, addr, port) = quoted_user_from(rest)?;
            return Some(
                Attempt::failure(SERVICE, user, reason::BAD_PASSWORD)
                    .from(addr)
                    .port(port)
                    .method(LoginMethod::Password),
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("Login attempt for nonexistent user") {
        // Dropbear 2020.79 and later name the user: `… nonexistent user 'admin' from …`.
        let (user, addr, port) = match rest.strip_prefix(" from ") {
            Some(addr) => {
                let (addr, port) = addr_port(addr);
                ("", addr, port)
            }
            None => quoted_user_from(rest.strip_prefix(' ')?)?,
        };
        return Some(
            Attempt::failure(SERVICE, user, reason::INVALID_USER)
                .from(addr)
                .port(port),
        );
    }
    if let Some(rest) = msg.strip_prefix("Exit before auth (user '") {
        // Dropbear before 2016: `Exit before auth (user 'X', N fails): Max auth tries reached -
        // user 'X' from ADDR:PORT`.
        let (_, tail) = rest.split_once("): Max auth tries reached - user '")?;
        let (user, addr) = tail.rsplit_once("' from ")?;
        let (addr, port) = addr_port(addr);
        return Some(
            Attempt::failure(SERVICE, user, reason::MAX_ATTEMPTS)
                .from(addr)
                .port(port),
        );
    }
    if let Some(rest) = msg.strip_prefix("Exit before auth from <") {
        let (addr, why) = rest.split_once(">: ")?;
        let (fails, user) = why.rsplit_once("Max auth tries reached - user '")?;
        // The `(user 'NAME', N fails): ` part names invalid users too, which the end of the
        // line calls `'is invalid'`.
        let user = match fails
            .strip_prefix("(user '")
            .and_then(|f| f.rsplit_once("', "))
        {
            Some((named, _)) => named,
            None => user
                .strip_suffix('\'')
                .filter(|u| *u != "is invalid")
                .unwrap_or(""),
        };
        let (addr, port) = addr_port(addr);
        return Some(
            Attempt::failure(SERVICE, user, reason::MAX_ATTEMPTS)
                .from(addr)
                .port(port),
        );
    }
    None
}

/// `'USER'[ with KEY] from ADDR:PORT` → user, address, port.
fn quoted_user_from(s: &str) -> Option<(&str, &str, Option<u16>)> {
    let (head, addr) = s.rsplit_once(" from ")?;
    let user = head.strip_prefix('\'')?;
    let user = &user[..user.rfind('\'')?];
    let (addr, port) = addr_port(addr);
    Some((user, addr, port))
}
