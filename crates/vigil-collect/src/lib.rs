//! Pure parsers for host data: os-release, `/proc`, account files and package databases.
//!
//! Every parser takes the bytes or text the agent already read and returns domain values from
//! `vigil-model`. Nothing here touches paths, the clock or the network, so each parser can be fed
//! a fixture, a truncated file or random bytes. Input a host can plausibly produce but that does
//! not parse is reported as data ([`Skip`]) rather than as an error: one bad line must not hide
//! the rest of a file.

pub mod accounts;
pub mod auth;
pub mod deb822;
pub mod ifaddr;
pub mod net;
pub mod os;
pub mod packages;
pub mod process;
pub mod utmp;
pub mod webroots;

use std::fmt::Display;

/// Most [`Skip`] entries a [`Parsed`] keeps; the rest are only counted in `skipped_total`.
pub const MAX_SKIPS: usize = 100;

/// Longest excerpt of input quoted in a [`Skip`] reason, in characters.
const EXCERPT_CHARS: usize = 60;

/// What a parser understood, plus what it skipped and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed<T> {
    pub value: T,
    /// The first [`MAX_SKIPS`] skipped lines or records.
    pub skipped: Vec<Skip>,
    /// Every skipped line or record, including those not kept in `skipped`.
    pub skipped_total: usize,
}

/// One skipped line or record: 1-based line number (0 when not line-based) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub line: usize,
    pub reason: String,
}

impl<T> Parsed<T> {
    pub(crate) fn new(value: T) -> Self {
        Parsed {
            value,
            skipped: Vec::new(),
            skipped_total: 0,
        }
    }

    /// Records a skip. The reason is only formatted while under the cap, so a file of a million
    /// bad lines costs a counter, not a million strings.
    pub(crate) fn skip(&mut self, line: usize, reason: impl Display) {
        self.skipped_total = self.skipped_total.saturating_add(1);
        if self.skipped.len() < MAX_SKIPS {
            self.skipped.push(Skip {
                line,
                reason: reason.to_string(),
            });
        }
    }
}

/// A short, single-line quote of untrusted input for a skip reason. Anything but letters, digits,
/// ASCII punctuation and spaces becomes `?`, so a reason cannot smuggle control or bidi characters
/// into a log line or a web page.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| {
            if c.is_alphanumeric() || c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if s.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_capped_but_counted() {
        let mut p = Parsed::new(());
        for i in 0..(MAX_SKIPS + 50) {
            p.skip(i, "bad");
        }
        assert_eq!(p.skipped.len(), MAX_SKIPS);
        assert_eq!(p.skipped_total, MAX_SKIPS + 50);
    }

    #[test]
    fn excerpt_is_short_and_single_line() {
        let long = "a\nb".repeat(100);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(!e.contains('\n'));
        assert_eq!(excerpt("short"), "short");
        assert_eq!(excerpt("a\u{202e}b\tc é"), "a?b?c é");
    }
}
