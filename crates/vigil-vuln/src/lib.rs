//! Advisory database and matching of installed packages against it.
//!
//! The flow is: importers turn advisory sources into [`Advisory`] records ([`osv`] for OSV JSON
//! dumps, [`debian`] for the Debian security suite reachable through apt), [`db`] compiles them
//! into one indexed file, and [`matcher`] checks installed packages (from the host inventory or
//! from [`lockfiles`]) against it. [`ecosystem`] names the package universes and picks the
//! version ordering of each; the ordering itself lives in `vigil-version`.
//!
//! Parsers take bytes or text and return what they understood plus the records they skipped
//! ([`Parsed`]); only the file-system edges ([`osv::import_path`], [`db::Db::load`],
//! [`db::Db::save`]) return [`Error`]. Nothing here touches the network or reads the clock: import
//! times are handed in.

pub mod db;
pub mod debian;
pub mod ecosystem;
pub mod lockfiles;
pub mod matcher;
pub mod osv;

use std::fmt::{self, Display};
use std::path::PathBuf;

pub use db::{Db, DbBuilder, SourceInfo};
pub use ecosystem::{Ecosystem, Family};
pub use matcher::{match_packages, Finding, InstalledPackage};

/// Most [`Skip`] entries a [`Parsed`] keeps; the rest are only counted in `skipped_total`.
pub const MAX_SKIPS: usize = 100;

/// Longest excerpt of input quoted in a [`Skip`] reason, in characters.
const EXCERPT_CHARS: usize = 60;

/// How urgent an advisory is for the host that has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    /// Most urgent first, as lists offer them.
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }
}

/// One vulnerability (or one vendor notice) and the package versions it affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// The source's own id first, then the CVE ids it names, then its other aliases.
    pub ids: Vec<String>,
    /// One line, for people.
    pub summary: String,
    pub level: Level,
    /// The text says the flaw lets an attacker run code.
    pub rce: bool,
    pub ranges: Vec<AffectedRange>,
}

/// One interval of affected versions of one package in one ecosystem.
///
/// A version `v` is affected when `introduced <= v`, `v < fixed` (if any), `v <= last_affected`
/// (if any) and `v < limit` (if any), all under the ecosystem's ordering. An explicitly listed
/// affected version `x` is stored as `introduced = last_affected = x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedRange {
    pub ecosystem: Ecosystem,
    /// Source package for distributions, the package itself for language ecosystems.
    pub package: String,
    /// `"0"` means from the first version on.
    pub introduced: String,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
    /// OSV `limit`: versions at or above it are outside this range whatever the other events say.
    pub limit: Option<String>,
}

/// What a parser understood, plus what it skipped and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed<T> {
    pub value: T,
    /// The first [`MAX_SKIPS`] skipped lines or records.
    pub skipped: Vec<Skip>,
    /// Every skipped line or record, including those not kept in `skipped`.
    pub skipped_total: usize,
}

/// One skipped line, record or part of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The file it came from, when the parser was told (empty otherwise).
    pub file: String,
    /// 1-based line number; 0 when the input is not line-based.
    pub line: usize,
    /// The advisory id, when one was read before the problem (empty otherwise).
    pub id: String,
    pub reason: String,
}

impl Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if !self.file.is_empty() {
            f.write_str(&self.file)?;
            sep = ": ";
        }
        if self.line > 0 {
            if self.file.is_empty() {
                write!(f, "line {}", self.line)?;
            } else {
                write!(f, ":{}", self.line)?;
            }
            sep = ": ";
        }
        if !self.id.is_empty() {
            write!(f, "{sep}{}", self.id)?;
            sep = ": ";
        }
        write!(f, "{sep}{}", self.reason)
    }
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
    pub(crate) fn skip(&mut self, file: &str, line: usize, id: &str, reason: impl Display) {
        self.skipped_total = self.skipped_total.saturating_add(1);
        if self.skipped.len() < MAX_SKIPS {
            self.skipped.push(Skip {
                file: excerpt_tail(file),
                line,
                id: excerpt(id),
                reason: reason.to_string(),
            });
        }
    }

    /// Moves `other`'s skips into `self`, keeping the cap and the total.
    pub(crate) fn absorb<U>(&mut self, other: Parsed<U>) -> U {
        self.skipped_total = self.skipped_total.saturating_add(other.skipped_total);
        let room = MAX_SKIPS.saturating_sub(self.skipped.len());
        self.skipped.extend(other.skipped.into_iter().take(room));
        other.value
    }
}

/// The crate's errors: file-system edges and the compiled database's format.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a readable zip archive: {source}", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("not a Vigil advisory database (bad magic)")]
    BadMagic,
    #[error("advisory database format {found} is not supported (this build reads {expected})")]
    UnsupportedFormat { found: u32, expected: u32 },
    #[error("advisory database is truncated: {0}")]
    Truncated(String),
    #[error("advisory database checksum mismatch: the file is corrupt")]
    Checksum,
    #[error("advisory database is corrupt: {0}")]
    Corrupt(String),
    #[error("advisory database too large: {0}")]
    TooLarge(String),
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },
}

/// A short, single-line quote of untrusted input for a skip reason. Anything but letters, digits,
/// ASCII punctuation and spaces becomes `?`, so a reason cannot smuggle control or bidi characters
/// into a log line or a web page.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(EXCERPT_CHARS).map(printable).collect();
    if s.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Like [`excerpt`], twice as long, but keeping the end: where a path has its file name.
pub(crate) fn excerpt_tail(s: &str) -> String {
    let limit = 2 * EXCERPT_CHARS;
    let count = s.chars().count();
    let mut out = String::new();
    if count > limit {
        out.push('…');
    }
    out.extend(s.chars().skip(count.saturating_sub(limit)).map(printable));
    out
}

fn printable(c: char) -> char {
    if c.is_alphanumeric() || c.is_ascii_graphic() || c == ' ' {
        c
    } else {
        '?'
    }
}

/// Collapses runs of white space and control characters into single spaces and caps the length,
/// so advisory text from any source fits on one line.
pub(crate) fn one_line(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut count = 0;
    for word in s.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= max_chars {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// Whether advisory text says the flaw lets an attacker run code.
pub(crate) fn mentions_code_execution(text: &str) -> bool {
    const PHRASES: &[&str] = &[
        "remote code execution",
        "arbitrary code execution",
        "execute arbitrary code",
        "execution of arbitrary code",
        "run arbitrary code",
        "running arbitrary code",
        "executing arbitrary code",
        "arbitrary command execution",
        "execute arbitrary commands",
        "execution of arbitrary commands",
        "execute arbitrary shell commands",
        "(rce)",
    ];
    // Advisory text is wrapped at arbitrary points: match across line breaks.
    let lower = one_line(text, text.len()).to_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_capped_but_counted() {
        let mut p = Parsed::new(());
        for i in 0..(MAX_SKIPS + 50) {
            p.skip("f.json", i, "ID-1", "bad");
        }
        assert_eq!(p.skipped.len(), MAX_SKIPS);
        assert_eq!(p.skipped_total, MAX_SKIPS + 50);
        let mut q = Parsed::new(());
        q.skip("", 0, "", "x");
        q.absorb(p);
        assert_eq!(q.skipped.len(), MAX_SKIPS);
        assert_eq!(q.skipped_total, MAX_SKIPS + 51);
    }

    #[test]
    fn skip_display_names_what_it_knows() {
        let mut p = Parsed::new(());
        p.skip("a/b.json", 0, "GHSA-1", "no affected packages");
        p.skip("", 7, "", "bad header");
        p.skip("changelog", 3, "", "bad header");
        let shown: Vec<String> = p.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "a/b.json: GHSA-1: no affected packages",
                "line 7: bad header",
                "changelog:3: bad header"
            ]
        );
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(excerpt("a\u{202e}b\tc é"), "a?b?c é");
        assert_eq!(excerpt(&"x".repeat(100)).chars().count(), EXCERPT_CHARS + 1);
        let path = format!("{}/ALPINE-CVE-2025-26519.json", "d".repeat(200));
        let tail = excerpt_tail(&path);
        assert!(
            tail.starts_with('…') && tail.ends_with("/ALPINE-CVE-2025-26519.json"),
            "{tail}"
        );
        assert_eq!(tail.chars().count(), 2 * EXCERPT_CHARS + 1);
        assert_eq!(excerpt_tail("a\nb.json"), "a?b.json");
    }

    #[test]
    fn one_line_collapses_and_caps() {
        assert_eq!(one_line("  a\n\tb\u{7}c  ", 100), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("", 3), "");
    }

    #[test]
    fn code_execution_phrases() {
        assert!(mentions_code_execution(
            "An attacker could possibly use this issue to cause a denial of service or execute\narbitrary code."
        ));
        assert!(mentions_code_execution("Remote Code Execution in foo"));
        assert!(!mentions_code_execution("NULL pointer dereference"));
        assert!(!mentions_code_execution("source code was exposed"));
    }
}
