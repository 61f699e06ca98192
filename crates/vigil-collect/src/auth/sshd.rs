//! OpenSSH `sshd` (and `sshd-session`) messages.
//!
//! User names are attacker-chosen and may hold spaces or a whole fake `from ADDR port N ssh2`,
//! so every form is parsed from its server-written end: the last ` port N` whose tail is what
//! sshd writes after it (nothing, ` ssh2`, or ` ssh2: KEY FINGERPRINT [certificate]`).

use vigil_model::LoginMethod;

use super::reason;
use super::scan::{port, split_port};
use super::Attempt;

const SERVICE: &str = "sshd";

pub(crate) fn parse(msg: &str) -> Option<Attempt<'_>> {
    let msg = msg.strip_suffix(" [preauth]").unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        let (method, rest) = rest.split_once(" for ")?;
        let (user, addr, port) = user_from_addr_port(rest)?;
        return Some(
            Attempt::success(SERVICE, user)
                .from(addr)
                .port(port)
                .method_opt(method_of(method)),
        );
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ")?;
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
    if let Some(rest) = msg.strip_prefix("Disconnecting ") {
        let rest = rest.strip_suffix(": Too many authentication failures")?;
        return preauth_user(rest, reason::MAX_ATTEMPTS);
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
/// tail is one sshd writes (see the module documentation).
fn user_from_addr_port(s: &str) -> Option<(&str, &str, Option<u16>)> {
    let mut end = s.len();
    while let Some(i) = s[..end].rfind(" port ") {
        let after = &s[i + 6..];
        let digits_len = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits_len > 0 && ssh2_tail(&after[digits_len..]) {
            let (user, addr) = s[..i].rsplit_once(" from ")?;
            return Some((user, addr, port(&after[..digits_len])));
        }
        end = i;
    }
    None
}

/// What sshd writes after the port: nothing, ` ssh2`, ` ssh2: TYPE FP`, or for certificates
/// ` ssh2: TYPE-CERT FP ID … (serial N) CA TYPE FP`.
fn ssh2_tail(tail: &str) -> bool {
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
