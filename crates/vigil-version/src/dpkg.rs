//! Debian package versions, `[epoch:]upstream[-revision]`, ordered as `dpkg --compare-versions`.
//!
//! The split follows dpkg's `parseversion` (epoch before the first colon, revision after the
//! last hyphen) and each part is compared with a port of dpkg's `verrevcmp`. Strings dpkg only
//! warns about (a version not starting with a digit, odd characters) compare exactly as dpkg
//! compares them; strings dpkg rejects outright (`:1.0`, `1.0-`) still compare, by the same
//! algorithm on a best-effort split, so [`compare`] stays total.

use std::cmp::Ordering;

use crate::digits;

/// Largest epoch dpkg accepts (`INT_MAX`).
const MAX_EPOCH: &[u8] = b"2147483647";

/// Orders two Debian versions exactly as `dpkg --compare-versions a lt|eq|gt b` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Parts::parse(a), Parts::parse(b));
    digits::cmp(a.epoch.as_bytes(), b.epoch.as_bytes())
        .then_with(|| verrevcmp(a.upstream.as_bytes(), b.upstream.as_bytes()))
        .then_with(|| verrevcmp(a.revision.as_bytes(), b.revision.as_bytes()))
}

/// Whether dpkg accepts `version` without an error or a warning.
pub fn is_valid(version: &str) -> bool {
    let s = trim_blanks(version);
    if s.is_empty() || s.bytes().any(is_blank) {
        return false;
    }
    let rest = match s.split_once(':') {
        Some((epoch, rest)) => match epoch_digits(epoch) {
            Some(d) if !rest.is_empty() && digits::cmp(d.as_bytes(), MAX_EPOCH).is_le() => rest,
            _ => return false,
        },
        None => s,
    };
    let (upstream, revision) = split_revision(rest);
    let upstream_ok = upstream.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && upstream
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+~:".contains(&b));
    let revision_ok = match revision {
        None => true,
        Some(r) => {
            !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
        }
    };
    upstream_ok && revision_ok
}

/// The upstream part of `version`: without surrounding blanks, epoch or Debian revision
/// (`1:2.36-9+deb12u4` → `2.36`).
pub fn upstream(version: &str) -> &str {
    Parts::parse(version).upstream
}

/// The three parts of a version, split as dpkg splits them.
struct Parts<'a> {
    /// Digits of the epoch; `"0"` when there is none.
    epoch: &'a str,
    upstream: &'a str,
    /// Empty when there is no hyphen.
    revision: &'a str,
}

impl<'a> Parts<'a> {
    fn parse(version: &'a str) -> Self {
        let s = trim_blanks(version);
        // dpkg errors out on a colon not preceded by a number; keeping the whole string as the
        // upstream version then is as good a deterministic choice as any.
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => match epoch_digits(e) {
                Some(d) => (d, rest),
                None => ("0", s),
            },
            None => ("0", s),
        };
        let (upstream, revision) = split_revision(rest);
        Parts {
            epoch,
            upstream,
            revision: revision.unwrap_or(""),
        }
    }
}

/// Splits at the last hyphen: upstream versions may contain hyphens, revisions may not.
fn split_revision(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, Some(revision)),
        None => (s, None),
    }
}

/// The digits of an epoch as dpkg's `strtol` reads it: an optional sign then digits, not
/// negative (`-0` is zero, so allowed).
fn epoch_digits(s: &str) -> Option<&str> {
    let (negative, d) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let non_negative = !negative || digits::is_zero(d.as_bytes());
    (digits::all(d.as_bytes()) && non_negative).then_some(d)
}

/// dpkg's `c_isblank`: the only characters it trims and rejects inside a version.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_blanks(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Weight of one character in a non-digit run; `None` is the end of the run or string.
///
/// `~` sorts before everything, even the end; letters before all other characters. Bytes above
/// 0x7f get the weight they get from dpkg on x86, where `char` is signed (`(c - 256) + 256`), so
/// non-ASCII input orders as the reference tool on this architecture orders it.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) if c >= 0x80 => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating runs of non-digits (compared by [`order`]) and digits
/// (compared as numbers, of any length).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while a.get(i).is_some_and(|c| !c.is_ascii_digit())
            || b.get(j).is_some_and(|c| !c.is_ascii_digit())
        {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            // Equal weights are the same non-digit character on both sides, so neither index
            // runs past its end here.
            i += 1;
            j += 1;
        }
        let (ra, rb) = (
            a.get(i..).unwrap_or_default(),
            b.get(j..).unwrap_or_default(),
        );
        let (da, db) = (digits::prefix_len(ra), digits::prefix_len(rb));
        let r = digits::cmp(&ra[..da], &rb[..db]);
        if r.is_ne() {
            return r;
        }
        i += da;
        j += db;
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn verrevcmp_runs() {
        for (a, b, want) in [
            ("", "", Equal),
            ("~", "", Less),
            ("~~", "~", Less),
            ("~~a", "~~", Greater),
            ("a", "", Greater),
            ("a", "+", Less),
            ("Z", "a", Less),
            ("1", "01", Equal),
            ("1.2", "1.10", Less),
            ("1a", "1", Greater),
            ("1+", "1a", Greater),
            ("1.0\u{e9}", "1.0a", Greater),
            ("1.0\u{e9}", "1.0.", Less),
        ] {
            assert_eq!(
                verrevcmp(a.as_bytes(), b.as_bytes()),
                want,
                "{a:?} vs {b:?}"
            );
            assert_eq!(verrevcmp(b.as_bytes(), a.as_bytes()), want.reverse());
        }
    }

    #[test]
    fn parts() {
        for (v, e, u, r) in [
            ("1:2.36-9+deb12u4", "1", "2.36", "9+deb12u4"),
            ("  2.36  ", "0", "2.36", ""),
            ("1.2-3-4", "0", "1.2-3", "4"),
            ("+3:1.0", "3", "1.0", ""),
            ("-0:1.0", "0", "1.0", ""),
            ("a:1.0", "0", "a:1.0", ""),
            ("1:2:3", "1", "2:3", ""),
        ] {
            let p = Parts::parse(v);
            assert_eq!((p.epoch, p.upstream, p.revision), (e, u, r), "{v:?}");
        }
        assert_eq!(upstream("1:2.36-9+deb12u4"), "2.36");
        assert_eq!(upstream("\t7.88.1-10+deb12u8 "), "7.88.1");
    }

    #[test]
    fn blanks_are_trimmed_only_at_the_ends() {
        assert_eq!(compare(" 1.0\t", "1.0"), Equal);
        assert!(is_valid(" 1.0\t"));
        assert!(!is_valid("1.0 1"));
        assert!(!is_valid("1.0\n"));
    }
}
