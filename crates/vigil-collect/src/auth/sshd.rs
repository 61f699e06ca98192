//! OpenSSH `sshd` (and `sshd-session`) messages.
//!
//! User names are attacker-chosen and may hold spaces or a whole fake `from ADDR port N ssh2`,
//! so every form is parsed from its server-written end: the last ` port N` whose tail is what
//! sshd writes after it (nothing, ` ssh2`, or ` ssh2: KEY FINGERPRINT [certificate]`).

use vigil_model::LoginMethod;

use super::find;
use super::reason;
use super::scan::{port, split_port};
use super::Attempt;

const SERVICE: &str = "sshd";

pub(crate) fn parse(msg: &str) -> Option<Attempt<'_>> {
    let msg = msg.strip_suffix(" [preauth]").unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        let (method, rest) = find::split_once(rest, " for ")?;
        let (user, addr, port) = user_from_addr_port(rest)?;
        return Some(
            Attempt::success(SERVICE, user)
                .from(addr)
                .port(port)
                .method_opt(method_of(method)),
        );
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        let (method, rest) = find::split_once(rest, " for ")?;
        let (invalid, rest) = match rest.strip_prefix("invalid user ") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (user, addr, port) = user_from_addr_port(rest)?;
        let why = match (invalid, method) {
            (true, _) => reason::INVALID_USER,
            (false, "password" | "keyboard-interactive/pam" | "keyboard-interactive") => {
                reason::BAD_PASSWORD
            }
            (false, "publickey" | "hostbased") => reason::BAD_KEY,
            _ => reason::AUTH_FAILED,
        };
        return Some(
            Attempt::failure(SERVICE, user, why)
                .from(addr)
                .port(port)
                .method_opt(method_of(method)),
        );
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        // `Invalid user X from ADDR port N`; OpenSSH before 7.5 left out the port.
        let (head, port) = split_port(rest).unwrap_or((rest, None));
        let (user, addr) = head.rsplit_once(" from ")?;
        return Some(
            Attempt::failure(SERVICE, user, reason::INVALID_USER)
                .from(addr)
                .port(port)
                .method(LoginMethod::None),
        );
    }
    if let Some(rest) = msg.strip_prefix("error: maximum authentication attempts exceeded for ") {
        let rest = rest.strip_suffix(" ssh2").unwrap_or(rest);
        let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
        let (head, port) = split_port(rest)?;
        let (user, addr) = head.rsplit_once(" from ")?;
        return Some(
            Attempt::failure(SERVICE, user, reason::MAX_ATTEMPTS)
                .from(addr)
                .port(port),
        );
    }
    for prefix in [
        "Disconnected from ",
        "Connection closed by ",
        "Connection reset by ",
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            return preauth_user(rest, reason::PREAUTH_DISCONNECT)
                .map(|a| a.method(LoginMethod::None));
        }
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting: Too many authentication failures for ") {
        // OpenSSH before 7.x: the user only; the source is on the connection's other lines.
        let user = rest.strip_prefix("invalid user ").unwrap_or(rest);
        return Some(Attempt::failure(SERVICE, user, reason::MAX_ATTEMPTS));
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting ") {
        let rest = rest.strip_suffix(": Too many authentication failures")?;
        return preauth_user(rest, reason::MAX_ATTEMPTS);
    }
    if let Some(rest) = msg.strip_prefix("ROOT LOGIN REFUSED FROM ") {
        let (addr, port) = split_port(rest).unwrap_or((rest, None));
        return Some(
            Attempt::failure(SERVICE, "root", reason::NOT_ALLOWED)
                .from(addr.trim())
                .port(port),
        );
    }
    if let Some(rest) = msg.strip_prefix("error: PAM: ") {
        return pam_error(rest);
    }
    if let Some(rest) = msg.strip_prefix("refused connect from ") {
        // tcp-wrappers: `refused connect from NAME (ADDR)`; no account was tried.
        let addr = rest
            .rsplit_once(" (")
            .and_then(|(_, a)| a.strip_suffix(')'))
            .unwrap_or(rest);
        return Some(Attempt::failure(SERVICE, "", reason::NOT_ALLOWED).from(addr));
    }
    if let Some(rest) = msg.strip_prefix("Received disconnect from ") {
        return client_gave_up(rest);
    }
    if let Some(rest) = msg.strip_prefix("User ") {
        // `User root from 1.2.3.4 not allowed because not listed in AllowUsers`.
        let (head, _why) = rest.rsplit_once(" not allowed because ")?;
        return Some(match head.rsplit_once(" from ") {
            Some((user, addr)) => Attempt::failure(SERVICE, user, reason::NOT_ALLOWED).from(addr),
            None => Attempt::failure(SERVICE, head, reason::NOT_ALLOWED),
        });
    }
    None
}

/// `PAM: Authentication failure for [illegal user ]USER from HOST[ via ADDR]` (OpenSSH's
/// `auth-pam.c` on BSD, macOS and illumos; the text before ` for ` is `pam_strerror`'s).
fn pam_error(rest: &str) -> Option<Attempt<'_>> {
    let (what, rest) = rest.split_once(" for ")?;
    let what = what.to_ascii_lowercase();
    if !(what.contains("authentication") || what.contains("user not known")) {
        return None;
    }
    let (head, host) = rest.rsplit_once(" from ")?;
    let addr = host.rsplit_once(" via ").map_or(host, |(_, a)| a);
    let (user, why) = match head
        .strip_prefix("illegal user ")
        .or_else(|| head.strip_prefix("invalid user "))
    {
        Some(u) => (u, reason::INVALID_USER),
        None if what.contains("user not known") => (head, reason::INVALID_USER),
        None => (head, reason::BAD_PASSWORD),
    };
    Some(
        Attempt::failure(SERVICE, user, why)
            .from(addr.trim())
            .method(LoginMethod::Password),
    )
}

/// `Received disconnect from ADDR[ port N]:CODE: TEXT`: a client that says it gave up on
/// authentication (`Auth fail`, code 14 "no more authentication methods") tried and failed;
/// any other reason (`11: Bye Bye`) is not an attempt.
fn client_gave_up(rest: &str) -> Option<Attempt<'_>> {
    let (head, text) = rest.split_once(": ").map_or((rest, ""), |(h, t)| (h, t));
    // `ADDR port N:CODE` (7.x+) or `ADDR: CODE: TEXT` (older).
    let (addr_part, code, text) = match head.rsplit_once(':') {
        Some((a, c)) if c.bytes().all(|b| b.is_ascii_digit()) && !c.is_empty() => (a, c, text),
        _ => {
            let (code, t) = text.split_once(": ").unwrap_or((text, ""));
            (head, code, t)
        }
    };
    // `Auth fail`, `auth fail`, `Auth cancel` (JSch, Paramiko, PuTTY), without lowercasing a copy.
    let gave_up = code.trim() == "14" || text.contains("uth fail") || text.contains("uth cancel");
    if !gave_up {
        return None;
    }
    let (addr, port) = split_port(addr_part).unwrap_or((addr_part, None));
    Some(
        Attempt::failure(SERVICE, "", reason::PREAUTH_DISCONNECT)
            .from(addr.trim())
            .port(port),
    )
}

/// `authenticating user X ADDR port N` or `invalid user X ADDR port N`: the user named before
/// the client left or was cut off. Other disconnects (`user X` after login, bare `ADDR port N`)
/// are not attempts.
fn preauth_user<'a>(rest: &'a str, why: &'static str) -> Option<Attempt<'a>> {
    let rest = match rest.strip_prefix("invalid user ") {
        Some(r) => r,
        None => rest.strip_prefix("authenticating user ")?,
    };
    let (head, port) = split_port(rest)?;
    let (user, addr) = head.rsplit_once(' ')?;
    Some(Attempt::failure(SERVICE, user, why).from(addr).port(port))
}

/// `USER from ADDR port N ssh2[: KEY]` → user, address, port, choosing the last ` port N` whose
/// tail is one sshd writes (see the module documentation). Old releases wrote no port
/// (`USER from ADDR`, maybe ` ssh2`): then the address is what follows the last ` from `.
fn user_from_addr_port(s: &str) -> Option<(&str, &str, Option<u16>)> {
    let mut end = s.len();
    while let Some(i) = find::rfind(&s[..end], " port ") {
        let after = &s[i + 6..];
        let digits_len = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits_len > 0 && ssh2_tail(&after[digits_len..]) {
            let (user, addr) = find::rsplit_once(&s[..i], " from ")?;
            return Some((user, addr, port(&after[..digits_len])));
        }
        end = i;
    }
    let bare = s
        .strip_suffix(" ssh2")
        .or_else(|| s.strip_suffix(" ssh1"))
        .unwrap_or(s);
    let (user, addr) = find::rsplit_once(bare, " from ")?;
    let address_like = !addr.is_empty()
        && addr
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    address_like.then_some((user, addr, None))
}

/// What sshd writes after the port: nothing, ` ssh2`, ` ssh2: TYPE FP`, or for certificates
/// ` ssh2: TYPE-CERT FP ID … (serial N) CA TYPE FP`.
fn ssh2_tail(tail: &str) -> bool {
    if tail == " ssh1" {
        return true;
    }
    let Some(rest) = tail.strip_prefix(" ssh2") else {
        return tail.is_empty();
    };
    let Some(key) = rest.strip_prefix(": ") else {
        return rest.is_empty();
    };
    let mut parts = key.splitn(3, ' ');
    let (Some(kind), Some(fp)) = (parts.next(), parts.next()) else {
        return false;
    };
    if kind.is_empty() || !fp.contains(':') {
        return false;
    }
    match parts.next() {
        None => true,
        Some(cert) => {
            kind.ends_with("-CERT")
                && cert.starts_with("ID ")
                && cert
                    .rsplit_once(" CA ")
                    .is_some_and(|(id, _ca)| id.contains(" (serial "))
        }
    }
}

fn method_of(name: &str) -> Option<LoginMethod> {
    Some(match name {
        "password" => LoginMethod::Password,
        "publickey" => LoginMethod::Publickey,
        "keyboard-interactive" | "keyboard-interactive/pam" => LoginMethod::KeyboardInteractive,
        "hostbased" => LoginMethod::Hostbased,
        "gssapi-with-mic" | "gssapi-keyex" | "gssapi" => LoginMethod::Gssapi,
        "none" => LoginMethod::None,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_tails_in_user_names_lose_to_the_real_one() {
        let s = "x from 6.6.6.6 port 22 ssh2 from 10.0.0.9 port 5555 ssh2";
        assert_eq!(
            user_from_addr_port(s),
            Some(("x from 6.6.6.6 port 22 ssh2", "10.0.0.9", Some(5555)))
        );
        let s = "x from 6.6.6.6 port 22 ssh2: RSA SHA256:a from 10.0.0.9 port 5555 ssh2";
        assert_eq!(user_from_addr_port(s).map(|t| t.1), Some("10.0.0.9"));
        let s = "alice from 10.0.0.9 port 5555 ssh2: ED25519-CERT SHA256:a ID x from 6.6.6.6 \
                 port 22 ssh2 (serial 7) CA ED25519 SHA256:b";
        assert_eq!(user_from_addr_port(s).map(|t| t.1), Some("10.0.0.9"));
        assert_eq!(user_from_addr_port("no port here"), None);
        assert_eq!(user_from_addr_port("a from b port 1 rsa"), None);
    }

    #[test]
    fn tails() {
        assert!(ssh2_tail(""));
        assert!(ssh2_tail(" ssh2"));
        assert!(ssh2_tail(" ssh2: RSA SHA256:abc"));
        assert!(ssh2_tail(" ssh2: RSA 12:ab:cd"));
        assert!(!ssh2_tail(" ssh2:"));
        assert!(!ssh2_tail(" ssh2 from x"));
        assert!(!ssh2_tail(" ssh2: RSA SHA256:abc extra"));
        assert!(ssh2_tail(
            " ssh2: ED25519-CERT SHA256:a ID alice@example (serial 12) CA ED25519 SHA256:b"
        ));
    }
}
