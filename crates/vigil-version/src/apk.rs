//! Alpine package versions, ordered as `apk version -t` orders them.
//!
//! Grammar (apk-tools' `version.c`): `digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]`,
//! where the suffixes `alpha`, `beta`, `pre` and `rc` mark pre-releases (older than no suffix)
//! and `cvs`, `svn`, `git`, `hg` and `p` mark post-releases (newer). This is a port of apk-tools'
//! tokenizer and comparison, one difference aside: apk reads numbers into 64 bits and wraps past
//! that, where this compares digit runs of any length exactly.
//!
//! Strings that stop being valid part-way still compare, as apk compares them: token by token up
//! to the invalid part, and two strings that turn invalid at the same point after equal tokens
//! are equal (so all strings that do not start with a digit are equal to each other).

use std::cmp::Ordering;

use crate::digits;

/// Orders two Alpine versions as apk-tools' `apk_version_compare` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut ta, mut tb) = (Tokens::new(a.as_bytes()), Tokens::new(b.as_bytes()));
    while ta.tok.kind == tb.tok.kind && ta.tok.kind < Kind::End {
        let r = token_cmp(&ta.tok, &tb.tok);
        if r.is_ne() {
            return r;
        }
        ta.advance();
        tb.advance();
    }
    let (ka, kb) = (ta.tok.kind, tb.tok.kind);
    if ka == kb {
        return Ordering::Equal;
    }
    // Equal so far: the one that goes on is newer, unless what follows is a pre-release suffix;
    // otherwise the later a token kind comes in the grammar, the older.
    if ka == Kind::Suffix && ta.tok.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if kb == Kind::Suffix && tb.tok.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    kb.cmp(&ka)
}

/// Whether apk accepts `s` as a version (`apk_version_validate`).
pub fn is_valid(s: &str) -> bool {
    let mut t = Tokens::new(s.as_bytes());
    while t.tok.kind < Kind::End {
        t.advance();
    }
    t.tok.kind == Kind::End
}

/// Token kinds in grammar order; the order matters to [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks: pre-release suffixes below [`SUFFIX_NONE`], post-release ones above.
const SUFFIXES: [(&[u8], u8); 9] = [
    (b"alpha", 1),
    (b"beta", 2),
    (b"pre", 3),
    (b"rc", 4),
    (b"cvs", 6),
    (b"svn", 7),
    (b"git", 8),
    (b"hg", 9),
    (b"p", 10),
];
const SUFFIX_NONE: u8 = 5;

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    /// The token's text: digits, the letter, the suffix name or the hash.
    value: &'a [u8],
    /// Rank of a [`Kind::Suffix`].
    suffix: u8,
}

/// apk's tokenizer: `tok` is the current token, `rest` what follows it.
struct Tokens<'a> {
    tok: Token<'a>,
    rest: &'a [u8],
}

impl<'a> Tokens<'a> {
    fn new(s: &'a [u8]) -> Self {
        let mut t = Tokens {
            tok: Token {
                kind: Kind::InitialDigit,
                value: b"",
                suffix: 0,
            },
            rest: s,
        };
        t.digits(Kind::InitialDigit);
        t
    }

    /// Takes a run of digits as a token of `kind`; no digits is invalid.
    fn digits(&mut self, kind: Kind) {
        let n = digits::prefix_len(self.rest);
        self.tok.kind = if n == 0 { Kind::Invalid } else { kind };
        self.tok.value = &self.rest[..n];
        self.rest = &self.rest[n..];
    }

    /// Moves to the next token, checking that it may follow the current one.
    fn advance(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.tok.kind = Kind::End;
            return;
        };
        let prev = self.tok.kind;
        match c {
            b'a'..=b'z' if prev <= Kind::Digit => {
                self.tok.kind = Kind::Letter;
                self.tok.value = &self.rest[..1];
                self.rest = &self.rest[1..];
            }
            b'.' if prev <= Kind::Digit => {
                self.rest = &self.rest[1..];
                self.digits(Kind::Digit);
            }
            b'0'..=b'9' if prev <= Kind::Digit => self.digits(Kind::Digit),
            b'0'..=b'9' if prev == Kind::Suffix => self.digits(Kind::SuffixNo),
            b'_' if prev <= Kind::SuffixNo => {
                let name = &self.rest[1..];
                let n = name.iter().take_while(|b| b.is_ascii_lowercase()).count();
                self.tok.value = &name[..n];
                self.rest = &name[n..];
                match SUFFIXES.iter().find(|(s, _)| *s == self.tok.value) {
                    Some(&(_, rank)) => {
                        self.tok.kind = Kind::Suffix;
                        self.tok.suffix = rank;
                    }
                    None => self.tok.kind = Kind::Invalid,
                }
            }
            b'~' if prev < Kind::CommitHash => {
                let hash = &self.rest[1..];
                let n = hash
                    .iter()
                    .take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    .count();
                self.tok.kind = if n == 0 {
                    Kind::Invalid
                } else {
                    Kind::CommitHash
                };
                self.tok.value = &hash[..n];
                self.rest = &hash[n..];
            }
            b'-' if prev < Kind::RevisionNo && self.rest.starts_with(b"-r") => {
                self.rest = &self.rest[2..];
                self.digits(Kind::RevisionNo);
            }
            _ => self.tok.kind = Kind::Invalid,
        }
    }
}

/// Compares two tokens of the same kind.
fn token_cmp(a: &Token, b: &Token) -> Ordering {
    match a.kind {
        // A component with a leading zero is a decimal fraction (Gentoo): `1.05 < 1.1`.
        Kind::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Kind::InitialDigit | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
            digits::cmp(a.value, b.value)
        }
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        Kind::Letter | Kind::CommitHash | Kind::End | Kind::Invalid => a.value.cmp(b.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        let mut t = Tokens::new(s.as_bytes());
        let mut out = vec![t.tok.kind];
        while t.tok.kind < Kind::End {
            t.advance();
            out.push(t.tok.kind);
        }
        out
    }

    #[test]
    fn tokenizer() {
        use Kind::*;
        assert_eq!(
            kinds("1.2b_rc3_p~0ab-r4"),
            [
                InitialDigit,
                Digit,
                Letter,
                Suffix,
                SuffixNo,
                Suffix,
                CommitHash,
                RevisionNo,
                End
            ]
        );
        assert_eq!(kinds("1.2a3"), [InitialDigit, Digit, Letter, Invalid]);
        assert_eq!(kinds("1_foo"), [InitialDigit, Invalid]);
        assert_eq!(kinds("1-1"), [InitialDigit, Invalid]);
        assert_eq!(kinds("1-r"), [InitialDigit, Invalid]);
        assert_eq!(kinds("1~"), [InitialDigit, Invalid]);
        assert_eq!(kinds("1~AB"), [InitialDigit, Invalid]);
        assert_eq!(kinds("1."), [InitialDigit, Invalid]);
        assert_eq!(kinds("1-r1.2"), [InitialDigit, RevisionNo, Invalid]);
        assert_eq!(kinds(""), [Invalid]);
        assert_eq!(kinds("v1"), [Invalid]);
    }
}
