//! RPM versions, `[epoch:]version[-release]`, ordered as rpm's `rpmvercmp` and `labelCompare`.
//!
//! The split follows rpm's `parseEVR` (epoch: leading digits before a colon; release: after the
//! last hyphen). Epoch, version and release are each compared with a port of `rpmvercmp`,
//! including `~` (sorts before anything, even the end: pre-releases) and `^` (sorts after the end
//! but before anything else: post-release snapshots). A missing epoch is 0 and a missing release
//! is empty, so `1.0 < 1.0-1`: unlike rpm's dependency matching, where a missing release matches
//! any release, an order has to be transitive.

use std::cmp::Ordering;

use crate::digits;

/// Orders two `[epoch:]version[-release]` strings as `rpm.labelCompare((e, v, r), (e, v, r))`.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Evr::parse(a), Evr::parse(b));
    rpmvercmp(a.epoch, b.epoch)
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| rpmvercmp(a.release, b.release))
}

/// Whether `s` is an EVR rpmbuild would produce: an optional numeric epoch and colon, a version
/// and an optional release, each non-empty and made of ASCII letters, digits and `._+~^`.
pub fn is_valid(s: &str) -> bool {
    let rest = match s.split_once(':') {
        Some((epoch, rest)) if digits::all(epoch.as_bytes()) => rest,
        Some(_) => return false,
        None => s,
    };
    let (version, release) = match rest.split_once('-') {
        Some((v, r)) => (v, Some(r)),
        None => (rest, None),
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+~^".contains(&b))
    };
    part_ok(version) && release.is_none_or(part_ok)
}

/// Epoch, version and release, split as rpm's `parseEVR` splits them.
struct Evr<'a> {
    /// `"0"` when missing or empty.
    epoch: &'a str,
    version: &'a str,
    /// Empty when missing.
    release: &'a str,
}

impl<'a> Evr<'a> {
    fn parse(s: &'a str) -> Self {
        let n = digits::prefix_len(s.as_bytes());
        let (epoch, rest) = match s.as_bytes().get(n) {
            Some(b':') => (&s[..n], &s[n + 1..]),
            _ => ("", s),
        };
        let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Evr {
            epoch: if epoch.is_empty() { "0" } else { epoch },
            version,
            release,
        }
    }
}

/// Port of rpm's `rpmvercmp` (rpm 4.15+, with the `^` separator).
///
/// Both strings are read as runs of ASCII digits, runs of ASCII letters, `~` and `^`; anything
/// else only separates runs. At the first difference: `~` < end < `^` < letters < digits, letter
/// runs compare as bytes and digit runs as numbers.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return Ordering::Equal;
    }
    let is_sep = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while a.get(i).is_some_and(is_sep) {
            i += 1;
        }
        while b.get(j).is_some_and(is_sep) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let numeric = ca.is_ascii_digit();
        let in_run = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (si, sj) = (i, j);
        while a.get(i).is_some_and(in_run) {
            i += 1;
        }
        while b.get(j).is_some_and(in_run) {
            j += 1;
        }
        if j == sj {
            // Runs of different kinds: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let r = if numeric {
            digits::cmp(&a[si..i], &b[sj..j])
        } else {
            a[si..i].cmp(&b[sj..j])
        };
        if r.is_ne() {
            return r;
        }
    }
    // Whichever string has runs left is newer; separators alone do not count.
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evr_split() {
        for (s, e, v, r) in [
            ("1:2.0-3", "1", "2.0", "3"),
            ("2.0", "0", "2.0", ""),
            (":2.0", "0", "2.0", ""),
            ("007:1", "007", "1", ""),
            ("1.0-1-2", "0", "1.0-1", "2"),
            ("a:1", "0", "a:1", ""),
            ("1:2:3", "1", "2:3", ""),
        ] {
            let p = Evr::parse(s);
            assert_eq!((p.epoch, p.version, p.release), (e, v, r), "{s:?}");
        }
    }
}
