//! The hand-written tables in `tests/cases/`, one file per scheme, and the one `check` that
//! runs them.
//!
//! A line is a chain `A op B op C …` with `op` one of `<`, `=`, `>`: every pair in the chain is
//! checked, both ways round, so a chain also asserts transitivity; a chain never mixes `<` and
//! `>`. `valid X Y …` and `invalid X Y …` list strings `is_valid` must accept or reject. A `#`
//! token starts a comment. Versions in these files contain no whitespace.

use std::cmp::Ordering;

use vigil_version::{compare, is_valid, Scheme};

/// Every scheme's case file: (scheme, file name, contents).
pub const FILES: [(Scheme, &str, &str); 5] = [
    (Scheme::Dpkg, "dpkg.txt", include_str!("../cases/dpkg.txt")),
    (Scheme::Rpm, "rpm.txt", include_str!("../cases/rpm.txt")),
    (Scheme::Apk, "apk.txt", include_str!("../cases/apk.txt")),
    (
        Scheme::Semver,
        "semver.txt",
        include_str!("../cases/semver.txt"),
    ),
    (
        Scheme::Pep440,
        "pep440.txt",
        include_str!("../cases/pep440.txt"),
    ),
];

/// One `A op B op C …` line.
pub struct Chain {
    pub line: usize,
    pub versions: Vec<String>,
    /// `ops[i]` relates `versions[i]` to `versions[i + 1]`.
    ops: Vec<Ordering>,
}

impl Chain {
    /// Every ordered pair `(a, b, how a compares to b)` the chain asserts, `a` before `b`.
    pub fn pairs(&self) -> Vec<(&str, &str, Ordering)> {
        let mut out = Vec::new();
        for i in 0..self.versions.len() {
            for j in i + 1..self.versions.len() {
                let ops = &self.ops[i..j];
                let want = ops
                    .iter()
                    .copied()
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal);
                out.push((self.versions[i].as_str(), self.versions[j].as_str(), want));
            }
        }
        out
    }
}

/// A parsed case file.
pub struct Cases {
    pub name: &'static str,
    pub chains: Vec<Chain>,
    pub valid: Vec<(usize, String)>,
    pub invalid: Vec<(usize, String)>,
}

/// Parses the case file of `scheme`.
pub fn load(scheme: Scheme) -> Cases {
    let (_, name, text) = FILES
        .iter()
        .find(|(s, _, _)| *s == scheme)
        .expect("every scheme has a case file");
    let mut cases = Cases {
        name,
        chains: Vec::new(),
        valid: Vec::new(),
        invalid: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let tokens: Vec<&str> = raw
            .split_whitespace()
            .take_while(|t| !t.starts_with('#'))
            .collect();
        match tokens.split_first() {
            None => {}
            Some((&"valid", rest)) => cases
                .valid
                .extend(rest.iter().map(|v| (line, v.to_string()))),
            Some((&"invalid", rest)) => cases
                .invalid
                .extend(rest.iter().map(|v| (line, v.to_string()))),
            Some(_) => cases.chains.push(chain(name, line, &tokens)),
        }
    }
    cases
}

fn chain(name: &str, line: usize, tokens: &[&str]) -> Chain {
    assert!(
        tokens.len() >= 3 && tokens.len() % 2 == 1,
        "{name}:{line}: expected `A op B [op C …]`"
    );
    let versions = tokens.iter().step_by(2).map(|v| v.to_string()).collect();
    let ops: Vec<Ordering> = tokens
        .iter()
        .skip(1)
        .step_by(2)
        .map(|op| match *op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("{name}:{line}: unknown operator {other:?}"),
        })
        .collect();
    assert!(
        !(ops.contains(&Ordering::Less) && ops.contains(&Ordering::Greater)),
        "{name}:{line}: a chain may not mix < and >"
    );
    Chain {
        line,
        versions,
        ops,
    }
}

/// Checks every claim of `scheme`'s case file and reports all failures at once.
fn check(scheme: Scheme) {
    let cases = load(scheme);
    let name = cases.name;
    let mut failures = Vec::new();
    let mut claims = 0;
    for chain in &cases.chains {
        for v in &chain.versions {
            claims += 1;
            let got = compare(scheme, v, v);
            if got.is_ne() {
                failures.push(format!("{name}:{}: {v} vs itself: {got:?}", chain.line));
            }
        }
        for (a, b, want) in chain.pairs() {
            claims += 1;
            let (ab, ba) = (compare(scheme, a, b), compare(scheme, b, a));
            if ab != want || ba != want.reverse() {
                failures.push(format!(
                    "{name}:{}: {a} vs {b}: want {want:?}, got {ab:?} (reversed: {ba:?})",
                    chain.line
                ));
            }
        }
    }
    for (want, list) in [(true, &cases.valid), (false, &cases.invalid)] {
        for (line, v) in list {
            claims += 1;
            if is_valid(scheme, v) != want {
                failures.push(format!("{name}:{line}: is_valid({v:?}) should be {want}"));
            }
        }
    }
    assert!(claims > 50, "{name}: only {claims} claims");
    assert!(
        failures.is_empty(),
        "{} of {claims} claims failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn dpkg_table() {
    check(Scheme::Dpkg);
}

#[test]
fn rpm_table() {
    check(Scheme::Rpm);
}

#[test]
fn apk_table() {
    check(Scheme::Apk);
}

#[test]
fn semver_table() {
    check(Scheme::Semver);
}

#[test]
fn pep440_table() {
    check(Scheme::Pep440);
}

/// Claims the files cannot spell: whitespace and the empty string.
#[test]
fn whitespace_and_empty() {
    use Scheme::*;
    for scheme in Scheme::ALL {
        assert!(!is_valid(scheme, ""), "{scheme:?}: empty string");
        assert_eq!(compare(scheme, "", ""), Ordering::Equal, "{scheme:?}");
    }
    // dpkg trims blanks (space, tab) at both ends and rejects them inside.
    assert_eq!(compare(Dpkg, " 1.0\t", "1.0"), Ordering::Equal);
    assert!(is_valid(Dpkg, "\t1:1.0-1 "));
    assert!(!is_valid(Dpkg, "1.0 -1"));
    // packaging strips any whitespace at both ends.
    assert_eq!(compare(Pep440, "\n 1.0rc1 \t", "1.0rc1"), Ordering::Equal);
    assert!(is_valid(Pep440, " \u{a0}1.0\u{2003}"));
    assert!(!is_valid(Pep440, "1.0 rc1"));
    // The others take the string as it is.
    for scheme in [Rpm, Apk, Semver] {
        assert!(!is_valid(scheme, " 1.0.0"), "{scheme:?}");
        assert!(!is_valid(scheme, "1.0.0 "), "{scheme:?}");
    }
    // dpkg reads an empty string as an absent version: epoch 0, upstream and revision empty.
    assert_eq!(compare(Dpkg, "", "0"), Ordering::Equal);
    assert_eq!(compare(Dpkg, "", "0~"), Ordering::Greater);
    assert_eq!(compare(Dpkg, "", "0.1"), Ordering::Less);
}
