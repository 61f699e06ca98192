//! PEP 440 versions (PyPI), parsed and ordered as `packaging.version.Version`.
//!
//! `[v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, with every spelling packaging accepts:
//! any case; `alpha`, `beta`, `c`, `pre` and `preview` for `a`, `b` and `rc`; `-N`, `rev` and
//! `r` for post-releases; `.`, `-` or `_` (or nothing) before and after each such segment;
//! implicit numbers (`1.0a` is `1.0a0`); `-` and `_` in local versions; surrounding whitespace.
//!
//! Order: epoch, then the release numbers with trailing zeros ignored (`1.0 == 1.0.0`), then
//! `.devN` < `aN` < `bN` < `rcN` < release < `.postN`, a `.devN` on a pre- or post-release
//! sorting just before it, then the local version (none sorts first; its segments compare
//! numbers above words). Strings packaging rejects sort before every valid version, and among
//! themselves as plain bytes.

use std::cmp::Ordering;

use crate::digits;

/// Orders two versions as `packaging.version.Version` does; invalid strings sort first, bytewise.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(va), Some(vb)) => va.cmp(&vb),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Whether `packaging.version.Version(s)` accepts `s`.
pub fn is_valid(s: &str) -> bool {
    Version::parse(s).is_some()
}

/// Pre-release ranks as packaging orders them.
const DEV_ONLY: u8 = 0;
const ALPHA: u8 = 1;
const BETA: u8 = 2;
const RC: u8 = 3;
const NO_PRE: u8 = 4;

/// A parsed version. Numbers are digit runs borrowed from the input, compared by value.
struct Version<'a> {
    epoch: &'a [u8],
    /// The dotted release numbers as written (`1.0.2`).
    release: &'a [u8],
    /// Rank (`ALPHA`, `BETA`, `RC`) and number.
    pre: Option<(u8, &'a [u8])>,
    post: Option<&'a [u8]>,
    dev: Option<&'a [u8]>,
    /// Segments, compared case-insensitively.
    local: Option<&'a [u8]>,
}

/// Python's `str.isspace`, which the `\s*` around packaging's pattern matches.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A cursor over the version's bytes, mirroring packaging's regular expression piece by piece.
struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, pred: impl Fn(u8) -> bool) -> bool {
        let ok = self.peek().is_some_and(pred);
        self.at += usize::from(ok);
        ok
    }

    fn digits(&mut self) -> Option<&'a [u8]> {
        let n = digits::prefix_len(&self.s[self.at..]);
        let d = &self.s[self.at..self.at + n];
        self.at += n;
        (n > 0).then_some(d)
    }

    /// The first of `words` (tried in order, case-insensitively) the input continues with.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = &self.s[self.at..];
        let i = words.iter().position(|w| {
            rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes())
        })?;
        self.at += words[i].len();
        Some(i)
    }

    /// `[._-]?`
    fn separator(&mut self) -> bool {
        self.eat(|c| matches!(c, b'.' | b'_' | b'-'))
    }

    /// An optional group: runs `f`, and rewinds if it fails.
    fn optional<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let start = self.at;
        let r = f(self);
        if r.is_none() {
            self.at = start;
        }
        r
    }
}

const ZERO: &[u8] = b"0";

impl<'a> Version<'a> {
    /// packaging's pattern, group by group. Each optional group is taken whenever it matches
    /// and never given back, as packaging's possessive pattern (26.0+) does; its earlier,
    /// backtracking pattern accepts the same strings, since giving a group back never lets
    /// the rest match.
    fn parse(s: &'a str) -> Option<Self> {
        let s = s.trim_matches(is_py_space);
        let mut c = Cursor {
            s: s.as_bytes(),
            at: 0,
        };
        c.eat(|b| b == b'v' || b == b'V');
        let epoch = c
            .optional(|c| {
                let d = c.digits()?;
                c.eat(|b| b == b'!').then_some(d)
            })
            .unwrap_or(ZERO);
        let release_start = c.at;
        c.digits()?;
        while c
            .optional(|c| {
                c.eat(|b| b == b'.').then_some(())?;
                c.digits()
            })
            .is_some()
        {}
        let release = &c.s[release_start..c.at];
        let pre = c.optional(|c| {
            c.separator();
            let word = c.word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"])?;
            let rank = [ALPHA, ALPHA, BETA, BETA, RC, RC, RC, RC][word];
            c.separator();
            Some((rank, c.digits().unwrap_or(ZERO)))
        });
        let post = c
            .optional(|c| {
                c.eat(|b| b == b'-').then_some(())?;
                c.digits()
            })
            .or_else(|| {
                c.optional(|c| {
                    c.separator();
                    c.word(&["post", "rev", "r"])?;
                    c.separator();
                    Some(c.digits().unwrap_or(ZERO))
                })
            });
        let dev = c.optional(|c| {
            c.separator();
            c.word(&["dev"])?;
            c.separator();
            Some(c.digits().unwrap_or(ZERO))
        });
        let local = c.optional(|c| {
            if !c.eat(|b| b == b'+') {
                return None;
            }
            let start = c.at;
            let alnum = |b: u8| b.is_ascii_alphanumeric();
            if !c.eat(alnum) {
                return None;
            }
            while c.eat(alnum) {}
            while c
                .optional(|c| {
                    c.separator().then_some(())?;
                    c.eat(alnum).then_some(())
                })
                .is_some()
            {
                while c.eat(alnum) {}
            }
            Some(&c.s[start..c.at])
        });
        (c.at == c.s.len()).then_some(Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// packaging's `_cmpkey`, compared field by field.
    fn cmp(&self, other: &Self) -> Ordering {
        digits::cmp(self.epoch, other.epoch)
            .then_with(|| cmp_release(self.release, other.release))
            .then_with(|| {
                let (ra, na) = self.pre_key();
                let (rb, nb) = other.pre_key();
                ra.cmp(&rb).then_with(|| digits::cmp(na, nb))
            })
            .then_with(|| cmp_present(self.post, other.post, Ordering::Less))
            .then_with(|| cmp_present(self.dev, other.dev, Ordering::Greater))
            .then_with(|| match (self.local, other.local) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => cmp_local(a, b),
            })
    }

    /// A dev release with neither pre- nor post-release sorts before every pre-release.
    fn pre_key(&self) -> (u8, &'a [u8]) {
        match self.pre {
            Some(p) => p,
            None if self.post.is_none() && self.dev.is_some() => (DEV_ONLY, ZERO),
            None => (NO_PRE, ZERO),
        }
    }
}

/// Compares optional numbers where a missing one sorts `missing` relative to a present one.
fn cmp_present(a: Option<&[u8]>, b: Option<&[u8]>, missing: Ordering) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => missing,
        (Some(_), None) => missing.reverse(),
        (Some(a), Some(b)) => digits::cmp(a, b),
    }
}

/// Release numbers, with trailing zeros ignored and then a shorter prefix first. That is the
/// same as padding the shorter one with zeros, which needs no allocation.
fn cmp_release(a: &[u8], b: &[u8]) -> Ordering {
    let (mut ia, mut ib) = (a.split(|&c| c == b'.'), b.split(|&c| c == b'.'));
    loop {
        let (x, y) = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => (x.unwrap_or(ZERO), y.unwrap_or(ZERO)),
        };
        let r = digits::cmp(x, y);
        if r.is_ne() {
            return r;
        }
    }
}

/// Local segments: numbers compare as numbers and above words, words case-insensitively.
fn cmp_local(a: &[u8], b: &[u8]) -> Ordering {
    let is_sep = |c: &u8| matches!(c, b'.' | b'_' | b'-');
    let (mut ia, mut ib) = (a.split(is_sep), b.split(is_sep));
    loop {
        let (x, y) = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let r = match (digits::all(x), digits::all(y)) {
            (true, true) => digits::cmp(x, y),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x
                .iter()
                .map(u8::to_ascii_lowercase)
                .cmp(y.iter().map(u8::to_ascii_lowercase)),
        };
        if r.is_ne() {
            return r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let v = Version::parse(s).unwrap_or_else(|| panic!("{s:?} should parse"));
        let text = |d: &[u8]| {
            String::from_utf8_lossy(d)
                .trim_start_matches('0')
                .to_string()
        };
        let num = |d: &[u8]| {
            let t = text(d);
            if t.is_empty() {
                "0".to_string()
            } else {
                t
            }
        };
        let mut out = String::new();
        if !digits::is_zero(v.epoch) {
            out += &format!("{}!", num(v.epoch));
        }
        out += &v
            .release
            .split(|&c| c == b'.')
            .map(num)
            .collect::<Vec<_>>()
            .join(".");
        if let Some((rank, n)) = v.pre {
            out += ["", "a", "b", "rc"][usize::from(rank)];
            out += &num(n);
        }
        if let Some(n) = v.post {
            out += &format!(".post{}", num(n));
        }
        if let Some(n) = v.dev {
            out += &format!(".dev{}", num(n));
        }
        if let Some(l) = v.local {
            let l = String::from_utf8_lossy(l).to_ascii_lowercase();
            out += &format!("+{}", l.replace(['-', '_'], "."));
        }
        out
    }

    /// Normal forms as `str(packaging.version.Version(s))` prints them.
    #[test]
    fn parses_every_spelling() {
        for (s, want) in [
            ("1.0", "1.0"),
            (" v1.0\n", "1.0"),
            ("V1!2.0", "1!2.0"),
            ("1.0ALPHA1", "1.0a1"),
            ("1.0-beta.2", "1.0b2"),
            ("1.0c", "1.0rc0"),
            ("1.0pre_3", "1.0rc3"),
            ("1.0.preview-4", "1.0rc4"),
            ("1.0-1", "1.0.post1"),
            ("1.0.rev", "1.0.post0"),
            ("1.0_r_5", "1.0.post5"),
            ("1.0post-6", "1.0.post6"),
            ("1.0-dev7", "1.0.dev7"),
            ("1.0dev", "1.0.dev0"),
            ("1.0a1-1.dev2", "1.0a1.post1.dev2"),
            ("1.0+Ubuntu-1_2", "1.0+ubuntu.1.2"),
            ("007.010", "7.10"),
            ("1.0a.post", "1.0a0.post0"),
        ] {
            assert_eq!(norm(s), want, "{s:?}");
        }
        for s in [
            "",
            "v",
            "1.",
            ".1",
            "1..0",
            "1.0+",
            "1.0+a.",
            "1.0+a..b",
            "1.0-",
            "1.0~rc1",
            "1.0 1",
            "1.0a1b1",
            "1!",
            "1.0.post1.post2",
            "1.0dev1dev2",
            "vv1",
            "1.0+a+b",
            "1.0_1",
        ] {
            assert!(Version::parse(s).is_none(), "{s:?} should not parse");
        }
    }
}
