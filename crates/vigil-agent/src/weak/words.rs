//! The guesses a weak-password check tries for one account, in order: the empty password, the
//! account's own name and small changes to it, the host's name, then the common-password
//! lists. Each guess carries why it counts as weak, which is all a finding ever says.

use std::collections::HashSet;

/// Why a guess that matched makes a password weak. The evidence names this, never the guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Empty,
    SameAsUser,
    FromUser,
    FromHost,
    Common,
}

impl Reason {
    pub fn text(self) -> &'static str {
        match self {
            Reason::Empty => "empty password",
            Reason::SameAsUser => "weak (same as user name)",
            Reason::FromUser => "weak (user name with a small change)",
            Reason::FromHost => "weak (made from the host name)",
            Reason::Common => "weak (in common-password list)",
        }
    }
}

/// Small changes people make to a name to pass a policy.
fn variants(name: &str) -> Vec<String> {
    let mut cap = name.to_string();
    if let Some(f) = cap.get_mut(..1) {
        f.make_ascii_uppercase();
    }
    let mut out = vec![
        cap.clone(),
        name.to_ascii_uppercase(),
        name.chars().rev().collect(),
        format!("{name}{name}"),
    ];
    for suffix in [
        "1", "12", "123", "1234", "12345", "123456", "!", "@123", "#123", "123!", "2024", "2025",
        "2026", "01", "00", "888", "666",
    ] {
        out.push(format!("{name}{suffix}"));
        out.push(format!("{cap}{suffix}"));
    }
    out
}

/// The ordered guesses for `account` on `host`, deduplicated (the first reason wins).
pub fn candidates(account: &str, host: &str, common: &[String]) -> Vec<(String, Reason)> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(common.len() + 64);
    let mut add = |w: String, r: Reason| {
        if seen.insert(w.clone()) {
            out.push((w, r));
        }
    };
    add(String::new(), Reason::Empty);
    if !account.is_empty() {
        add(account.to_string(), Reason::SameAsUser);
        for v in variants(account) {
            add(v, Reason::FromUser);
        }
    }
    let short = host.split('.').next().unwrap_or(host);
    if !short.is_empty() && short != "localhost" {
        add(short.to_string(), Reason::FromHost);
        for v in variants(short) {
            add(v, Reason::FromHost);
        }
    }
    for w in common {
        add(w.clone(), Reason::Common);
    }
    out
}

/// Why a plaintext secret (found in a configuration file) is weak, if it is: one of the
/// guesses, or easy to guess by the zxcvbn estimate (score 0 or 1 of 4: under a million
/// guesses).
pub fn judge_plain(secret: &str, account: &str, host: &str, common: &[String]) -> Option<String> {
    if let Some((_, r)) = candidates(account, host, common)
        .into_iter()
        .find(|(w, _)| w == secret)
    {
        return Some(r.text().to_string());
    }
    // zxcvbn's cost grows with length; a secret this long is not weak by its measure anyway.
    if secret.chars().count() > 100 {
        return None;
    }
    let score = zxcvbn::zxcvbn(secret, &[account, host]).score() as u8;
    (score <= 1).then(|| format!("weak (easy to guess: strength {score} of 4)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_start_with_the_names_and_carry_their_reason() {
        let common = vec!["123456".to_string(), "alice".to_string()];
        let c = candidates("alice", "web01.example.com", &common);
        assert_eq!(c[0], (String::new(), Reason::Empty));
        assert_eq!(c[1], ("alice".into(), Reason::SameAsUser));
        assert!(c.contains(&("Alice123".into(), Reason::FromUser)));
        assert!(c.contains(&("web01".into(), Reason::FromHost)));
        assert!(c.contains(&("web01@123".into(), Reason::FromHost)));
        assert_eq!(c.last().unwrap(), &("123456".into(), Reason::Common));
        // "alice" from the common list is not tried twice.
        assert_eq!(c.iter().filter(|(w, _)| w == "alice").count(), 1);
    }

    #[test]
    fn plaintext_secrets_are_judged_by_list_and_by_strength() {
        let common = vec!["letmein".to_string()];
        let j = |s: &str| judge_plain(s, "redis", "db1", &common);
        assert_eq!(
            j("letmein").as_deref(),
            Some("weak (in common-password list)")
        );
        assert_eq!(
            j("redis123").as_deref(),
            Some("weak (user name with a small change)")
        );
        assert_eq!(j("").as_deref(), Some("empty password"));
        assert!(j("qwerty12").is_some(), "a keyboard walk is weak by zxcvbn");
        assert_eq!(j("t7#Vq9!zLm2@Rw4s"), None);
        assert_eq!(j(&"x".repeat(200)), None);
    }
}
