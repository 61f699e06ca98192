//! Semantic Versioning 2.0.0 precedence (npm, crates.io), with two leniencies.
//!
//! `MAJOR.MINOR.PATCH[-PRE][+BUILD]`: the three numbers compare numerically; a version with a
//! pre-release is older than the same one without; pre-release identifiers compare one by one,
//! numeric ones as numbers, below alphanumeric ones, which compare as ASCII; a shorter list that
//! is a prefix of a longer one is older; build metadata is ignored. Leniencies: a leading `v` or
//! `V` is skipped, and a missing minor or patch number is 0 (`v1.2` is `1.2.0`).
//!
//! Anything else that breaks the grammar (leading zeros, empty identifiers, a fourth number) is
//! invalid. Invalid strings sort before every valid one, and among themselves as plain bytes.

use std::cmp::Ordering;

use crate::digits;

/// Orders two versions by SemVer 2.0.0 precedence; invalid strings sort first, bytewise.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(va), Some(vb)) => va.cmp(&vb),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Whether `s` is a SemVer 2.0.0 version, allowing a leading `v` and a missing minor or patch.
pub fn is_valid(s: &str) -> bool {
    Version::parse(s).is_some()
}

/// A parsed version; numbers and identifiers borrow the input.
struct Version<'a> {
    /// Major, minor, patch; a missing one is `"0"`.
    core: [&'a str; 3],
    /// The dot-separated pre-release identifiers, `None` for a release.
    pre: Option<&'a str>,
}

impl<'a> Version<'a> {
    fn parse(s: &'a str) -> Option<Self> {
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let (s, build) = match s.split_once('+') {
            Some((s, build)) => (s, Some(build)),
            None => (s, None),
        };
        if let Some(build) = build {
            if !build.split('.').all(is_identifier) {
                return None;
            }
        }
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (s, None),
        };
        if let Some(pre) = pre {
            let ok = pre
                .split('.')
                .all(|id| is_identifier(id) && (!is_numeric(id) || no_leading_zero(id)));
            if !ok {
                return None;
            }
        }
        let mut numbers = ["0"; 3];
        let mut parts = core.split('.');
        for (i, part) in parts.by_ref().take(3).enumerate() {
            if !digits::all(part.as_bytes()) || !no_leading_zero(part) {
                return None;
            }
            numbers[i] = part;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Version { core: numbers, pre })
    }

    fn cmp(&self, other: &Self) -> Ordering {
        let core = self
            .core
            .iter()
            .zip(other.core)
            .map(|(a, b)| digits::cmp(a.as_bytes(), b.as_bytes()))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal);
        core.then_with(|| match (self.pre, other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => cmp_pre(a, b),
        })
    }
}

/// Compares two pre-release identifier lists.
fn cmp_pre(a: &str, b: &str) -> Ordering {
    let (mut ia, mut ib) = (a.split('.'), b.split('.'));
    loop {
        let (x, y) = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let r = match (is_numeric(x), is_numeric(y)) {
            (true, true) => digits::cmp(x.as_bytes(), y.as_bytes()),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if r.is_ne() {
            return r;
        }
    }
}

/// A non-empty run of ASCII letters, digits and hyphens.
fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_numeric(s: &str) -> bool {
    digits::all(s.as_bytes())
}

fn no_leading_zero(s: &str) -> bool {
    s == "0" || !s.starts_with('0')
}
