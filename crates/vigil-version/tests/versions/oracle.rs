//! The reference implementations as oracles: dpkg itself, rpm's own `labelCompare` (Debian's
//! python3-rpm), python's `packaging.version.Version` and npm's `semver`. Each is asked about
//! the hand-written tables, real version strings and generated ones, and must agree everywhere.
//!
//! Pairs to ask about come from sorting a list with our comparator: neighbours in that order
//! are the closest calls, and if the oracle agrees with every neighbour, our order is its order
//! (its comparison being transitive). Random pairs on top catch the rest. A missing tool fails
//! the test; it never skips.

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;

use vigil_version::{compare, dpkg, is_valid, Scheme};

use crate::cases;
use crate::corpus;
use crate::rng::Rng;

/// Sets `VIGIL_ORACLE_FULL=1` to ask dpkg about every neighbour pair of the host's versions.
const FULL_ENV: &str = "VIGIL_ORACLE_FULL";

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// Agreement counts for one test, printed and asserted at the end.
struct Tally {
    name: &'static str,
    pairs: usize,
    validity: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Tally {
            name,
            pairs: 0,
            validity: 0,
            failures: Vec::new(),
        }
    }

    fn order(&mut self, a: &str, b: &str, ours: Ordering, theirs: Option<Ordering>) {
        self.pairs += 1;
        if theirs != Some(ours) {
            self.failures.push(format!(
                "{a:?} vs {b:?}: ours {ours:?}, oracle {}",
                theirs.map_or("rejects one".to_string(), |o| format!("{o:?}"))
            ));
        }
    }

    fn valid(&mut self, s: &str, ours: bool, theirs: bool) {
        self.validity += 1;
        if ours != theirs {
            self.failures
                .push(format!("is_valid({s:?}): ours {ours}, oracle {theirs}"));
        }
    }

    fn finish(self, strings: usize) {
        println!(
            "{}: {strings} strings, {} pairs and {} validity verdicts checked, {} disagreements",
            self.name,
            self.pairs,
            self.validity,
            self.failures.len()
        );
        assert!(self.pairs > 0, "{}: nothing was checked", self.name);
        let shown: Vec<&str> = self.failures.iter().take(40).map(String::as_str).collect();
        assert!(
            self.failures.is_empty(),
            "{}: {} disagreements with the oracle, first ones:\n{}",
            self.name,
            self.failures.len(),
            shown.join("\n")
        );
    }
}

/// `versions` sorted by our order, then the pairs to ask about: neighbours (all of them, or
/// `adjacent` picked at random) and `random` random pairs.
fn pairs_to_ask<'a>(
    scheme: Scheme,
    versions: &[&'a str],
    adjacent: Option<usize>,
    random: usize,
    rng: &mut Rng,
) -> Vec<(&'a str, &'a str)> {
    let mut sorted = versions.to_vec();
    sorted.sort_by(|a, b| compare(scheme, a, b));
    let mut out = Vec::new();
    if sorted.len() < 2 {
        return out;
    }
    let neighbours = sorted.len() - 1;
    match adjacent {
        Some(n) if n < neighbours => {
            for _ in 0..n {
                let i = rng.below(neighbours);
                out.push((sorted[i], sorted[i + 1]));
            }
        }
        _ => out.extend(sorted.windows(2).map(|w| (w[0], w[1]))),
    }
    for _ in 0..random {
        out.push((*rng.pick(&sorted), *rng.pick(&sorted)));
    }
    out
}

/// Runs `program args…` with `input` on stdin and returns its output lines; panics with `hint`
/// when it cannot start or fails.
fn run_lines(program: &str, args: &[&str], input: String, hint: &str) -> Vec<String> {
    let mut child = Command::new(program)
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUTF8", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e} ({hint})"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("oracle process");
    assert!(
        out.status.success(),
        "{program} failed ({hint}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer
        .join()
        .expect("writer thread")
        .expect("writing to the oracle");
    String::from_utf8(out.stdout)
        .expect("oracle output is UTF-8")
        .lines()
        .map(String::from)
        .collect()
}

/// Whether `s` can travel as one field of a tab-separated line to a script and back.
fn fits_a_line(s: &str) -> bool {
    !s.chars().any(|c| matches!(c, '\t' | '\n' | '\r'))
}

fn parse_order(line: &str) -> Option<Ordering> {
    match line {
        "-1" => Some(Ordering::Less),
        "0" => Some(Ordering::Equal),
        "1" => Some(Ordering::Greater),
        _ => None,
    }
}

/// A script answering `V\t<s>` with `1`/`0` (valid or not) and `C\t<a>\t<b>` with `-1`/`0`/`1`
/// (or `E` when it rejects either), one answer a line.
struct ScriptOracle {
    program: &'static str,
    args: Vec<&'static str>,
    hint: &'static str,
}

impl ScriptOracle {
    fn validity(&self, strings: &[&str]) -> Vec<bool> {
        let input: String = strings.iter().map(|s| format!("V\t{s}\n")).collect();
        let out = run_lines(self.program, &self.args, input, self.hint);
        assert_eq!(out.len(), strings.len(), "one answer per question");
        out.iter().map(|l| l == "1").collect()
    }

    fn orders(&self, pairs: &[(&str, &str)]) -> Vec<Option<Ordering>> {
        let input: String = pairs
            .iter()
            .map(|(a, b)| format!("C\t{a}\t{b}\n"))
            .collect();
        let out = run_lines(self.program, &self.args, input, self.hint);
        assert_eq!(out.len(), pairs.len(), "one answer per question");
        out.iter().map(|l| parse_order(l)).collect()
    }

    /// Checks our validity verdicts on `strings`, then our order on the pairs among the ones
    /// the oracle accepts: neighbours in our order and `random` random pairs.
    fn check_all(&self, scheme: Scheme, strings: &[&str], random: usize, tally: &mut Tally) {
        let strings: Vec<&str> = strings.iter().copied().filter(|s| fits_a_line(s)).collect();
        let theirs = self.validity(&strings);
        let mut accepted = Vec::new();
        for (s, ok) in strings.iter().zip(theirs) {
            tally.valid(s, is_valid(scheme, s), ok);
            if ok {
                accepted.push(*s);
            }
        }
        let mut rng = Rng::new(0x5eed_0440 ^ strings.len() as u64);
        let pairs = pairs_to_ask(scheme, &accepted, None, random, &mut rng);
        self.check_pairs(scheme, &pairs, tally);
    }

    fn check_pairs(&self, scheme: Scheme, pairs: &[(&str, &str)], tally: &mut Tally) {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .copied()
            .filter(|(a, b)| fits_a_line(a) && fits_a_line(b))
            .collect();
        for ((a, b), theirs) in pairs.iter().zip(self.orders(&pairs)) {
            tally.order(a, b, compare(scheme, a, b), theirs);
        }
    }
}

/// Distinct strings in a case file's chains.
fn chain_strings(cases: &cases::Cases) -> usize {
    let mut all: Vec<&str> = cases
        .chains
        .iter()
        .flat_map(|c| c.versions.iter().map(String::as_str))
        .collect();
    all.sort_unstable();
    all.dedup();
    all.len()
}

/// Every pair a case file's chains assert, as (a, b).
fn table_pairs(scheme: Scheme) -> (Vec<(String, String)>, cases::Cases) {
    let cases = cases::load(scheme);
    let pairs = cases
        .chains
        .iter()
        .flat_map(|c| c.pairs())
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    (pairs, cases)
}

fn as_strs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// dpkg: `dpkg --compare-versions`, one process per question, on two threads.

fn dpkg_op(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "lt",
        Ordering::Equal => "eq",
        Ordering::Greater => "gt",
    }
}

/// Runs `dpkg --compare-versions -- a op b`: `Ok(true/false)`, or `Err` when dpkg rejects the
/// syntax. The second value is whatever dpkg printed (warnings about the syntax).
fn dpkg_holds(a: &str, op: &str, b: &str) -> (Result<bool, String>, String) {
    let out = Command::new("dpkg")
        .args(["--compare-versions", "--", a, op, b])
        .output()
        .unwrap_or_else(|e| panic!("cannot run dpkg: {e} (Debian package dpkg)"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let verdict = match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(stderr.trim().to_string()),
    };
    (verdict, stderr)
}

/// dpkg's order of `a` and `b`, for reporting a disagreement.
fn dpkg_order(a: &str, b: &str) -> String {
    for o in [Ordering::Less, Ordering::Equal, Ordering::Greater] {
        if let (Ok(true), _) = dpkg_holds(a, dpkg_op(o), b) {
            return format!("{o:?}");
        }
    }
    "an error".to_string()
}

/// Whether dpkg takes `s` without an error or a warning.
fn dpkg_accepts(s: &str) -> bool {
    matches!(dpkg_holds(s, "eq", s), (Ok(true), stderr) if stderr.is_empty())
}

/// Asks dpkg whether each pair stands in the relation we give it; one call per pair.
fn dpkg_check_pairs(pairs: &[(&str, &str)], tally: &mut Tally) {
    let results: Vec<(Ordering, Result<bool, String>)> = thread::scope(|scope| {
        let half = pairs.len().div_ceil(2).max(1);
        let workers: Vec<_> = pairs
            .chunks(half)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(a, b)| {
                            let ours = compare(Scheme::Dpkg, a, b);
                            (ours, dpkg_holds(a, dpkg_op(ours), b).0)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("dpkg worker"))
            .collect()
    });
    for ((a, b), (ours, verdict)) in pairs.iter().zip(results) {
        let theirs = match verdict {
            Ok(true) => Some(ours),
            Ok(false) => {
                tally
                    .failures
                    .push(format!("{a:?} vs {b:?}: dpkg says {}", dpkg_order(a, b)));
                continue;
            }
            Err(e) => {
                tally.failures.push(format!("{a:?} vs {b:?}: dpkg: {e}"));
                continue;
            }
        };
        tally.order(a, b, ours, theirs);
    }
}

fn dpkg_check_validity(strings: &[&str], tally: &mut Tally) {
    let verdicts: Vec<bool> = thread::scope(|scope| {
        let half = strings.len().div_ceil(2).max(1);
        let workers: Vec<_> = strings
            .chunks(half)
            .map(|chunk| {
                scope.spawn(move || chunk.iter().map(|s| dpkg_accepts(s)).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("dpkg worker"))
            .collect()
    });
    for (s, theirs) in strings.iter().zip(verdicts) {
        tally.valid(s, is_valid(Scheme::Dpkg, s), theirs);
    }
}

#[test]
fn dpkg_agrees_on_the_table() {
    let (pairs, cases) = table_pairs(Scheme::Dpkg);
    let mut tally = Tally::new("dpkg table");
    dpkg_check_pairs(&as_strs(&pairs), &mut tally);
    let strings: Vec<&str> = cases
        .valid
        .iter()
        .chain(&cases.invalid)
        .map(|(_, s)| s.as_str())
        .collect();
    dpkg_check_validity(&strings, &mut tally);
    tally.finish(chain_strings(&cases) + strings.len());
}

#[test]
fn dpkg_agrees_on_real_versions() {
    let host = corpus::debian_host();
    let full = std::env::var(FULL_ENV).is_ok_and(|v| v == "1");
    let mut tally = Tally::new(if full {
        "dpkg real versions (full)"
    } else {
        "dpkg real versions (sample)"
    });
    let versions: Vec<&str> = host.versions.iter().map(String::as_str).collect();
    // Packages carry only versions dpkg accepted; dpkg confirms a sample of them here.
    for v in &versions {
        if !is_valid(Scheme::Dpkg, v) {
            tally.failures.push(format!("real version {v:?} not valid"));
        }
    }
    let mut rng = Rng::new(0xdeb_1a11);
    let sample: Vec<&str> = (0..100).map(|_| *rng.pick(&versions)).collect();
    dpkg_check_validity(&sample, &mut tally);
    // Every neighbour pair of the committed fixture, so part of the run does not depend on
    // what the host has; then a sample of the host's (or all of them).
    let mut pairs = pairs_to_ask(Scheme::Dpkg, &corpus::debian_fixture(), None, 0, &mut rng);
    let (adjacent, random) = if full {
        (None, 5000)
    } else {
        (Some(1000), 500)
    };
    pairs.extend(pairs_to_ask(
        Scheme::Dpkg,
        &versions,
        adjacent,
        random,
        &mut rng,
    ));
    dpkg_check_pairs(&pairs, &mut tally);
    println!(
        "dpkg real versions: {} distinct strings from the dpkg status file, {} apt lists and \
         the fixture",
        versions.len(),
        host.lists
    );
    tally.finish(versions.len());
}

/// Short strings over a small alphabet, so that many differ in one place only; shaped so that
/// dpkg parses them (possibly with a warning) rather than rejecting them.
fn dpkg_generated(rng: &mut Rng) -> String {
    const EPOCHS: [&str; 5] = ["0:", "1:", "2:", "10:", "01:"];
    const UPSTREAM: [&str; 18] = [
        "0", "1", "2", "9", "10", "00", "a", "b", "z", "A", "Z", "rc", "~", "~~", ".", "+", "dfsg",
        "\u{e9}",
    ];
    const REVISION: [&str; 12] = [
        "0", "1", "2", "10", "a", "b", "~", "+", ".", "deb12u", "bpo", "ubuntu",
    ];
    let mut s = String::new();
    let epoch = rng.chance(20);
    if epoch {
        s += rng.word(&EPOCHS);
    }
    if rng.chance(90) {
        s += rng.word(&["0", "1", "2", "10"]);
    }
    let has_revision = rng.chance(50);
    let extra: &[&str] = match (epoch, has_revision) {
        (true, true) => &[":", "-"],
        (true, false) => &[":"],
        (false, true) => &["-"],
        (false, false) => &[],
    };
    for _ in 0..rng.below(5) {
        if !extra.is_empty() && rng.chance(8) {
            s += rng.word(extra);
        } else {
            s += rng.word(&UPSTREAM);
        }
    }
    if s.is_empty() || s.ends_with(':') {
        s += "1";
    }
    if has_revision {
        s += "-";
        s += rng.word(&REVISION);
        s += &rng.tokens(&REVISION, 3);
    }
    s
}

#[test]
fn dpkg_agrees_on_generated_versions() {
    let mut rng = Rng::new(0xd9c6);
    let generated: Vec<String> = (0..400).map(|_| dpkg_generated(&mut rng)).collect();
    let strings: Vec<&str> = generated.iter().map(String::as_str).collect();
    let mut tally = Tally::new("dpkg generated");
    let pairs = pairs_to_ask(Scheme::Dpkg, &strings, None, 100, &mut rng);
    dpkg_check_pairs(&pairs, &mut tally);
    // Validity: the generated strings plus junk that dpkg rejects or warns about.
    const JUNK: [&str; 14] = [
        "1", "0", ".", "-", ":", "~", "+", "a", "_", " ", "!", "\u{e9}", "1:", "-1",
    ];
    let mut junk: Vec<String> = (0..150).map(|_| rng.tokens(&JUNK, 6)).collect();
    junk.retain(|s| !s.trim_matches([' ', '\t']).is_empty());
    let mut validity: Vec<&str> = junk.iter().map(String::as_str).collect();
    validity.extend(strings.iter().take(100));
    dpkg_check_validity(&validity, &mut tally);
    tally.finish(strings.len() + junk.len());
}

// ---------------------------------------------------------------------------------------------
// rpm: `rpm.labelCompare` from Debian's python3-rpm, one python process per test.

/// Splits with rpm's own parser (`rpm.ver`), a missing epoch as "0" and a missing release as
/// "" (see `vigil_version::rpm`), and compares with `rpm.labelCompare`.
const RPM_SCRIPT: &str = r#"
import sys, rpm
def evr(s):
    v = rpm.ver(s)
    return (v.e or "0", v.v, v.r or "")
out = []
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    try:
        out.append(str(rpm.labelCompare(evr(f[1]), evr(f[2]))))
    except Exception as e:
        out.append("E " + repr(e))
print("\n".join(out))
"#;

fn rpm_oracle() -> ScriptOracle {
    ScriptOracle {
        program: "/usr/bin/python3",
        args: vec!["-c", RPM_SCRIPT],
        hint: "Debian packages python3-rpm and rpm",
    }
}

#[test]
fn rpm_agrees_on_the_table() {
    let (pairs, cases) = table_pairs(Scheme::Rpm);
    let mut tally = Tally::new("rpm table");
    rpm_oracle().check_pairs(Scheme::Rpm, &as_strs(&pairs), &mut tally);
    tally.finish(chain_strings(&cases));
}

#[test]
fn rpm_agrees_on_real_versions() {
    // Debian's versions are real-world version strings too, with epochs, `~`, `+` and several
    // hyphens; rpm orders them all.
    let host = corpus::debian_host();
    let versions: Vec<&str> = host.versions.iter().map(String::as_str).collect();
    let mut rng = Rng::new(0x79b);
    let pairs = pairs_to_ask(Scheme::Rpm, &versions, None, 10_000, &mut rng);
    let mut tally = Tally::new("rpm real versions");
    rpm_oracle().check_pairs(Scheme::Rpm, &pairs, &mut tally);
    tally.finish(versions.len());
}

/// Whether rpm's parser leaves a non-empty version part, which `labelCompare` requires.
fn rpm_has_version(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = match s.as_bytes().get(digits) {
        Some(b':') => &s[digits + 1..],
        _ => s,
    };
    !rest.is_empty() && rest.rfind('-') != Some(0)
}

#[test]
fn rpm_agrees_on_generated_versions() {
    const ALPHABET: [&str; 20] = [
        "0", "1", "2", "9", "10", "007", "a", "b", "z", "A", "rc", "git", "~", "^", ".", "_", "+",
        "-", "1:", "\u{e9}",
    ];
    let mut rng = Rng::new(0x79b_6e4);
    let generated: Vec<String> = (0..3000)
        .map(|_| rng.tokens(&ALPHABET, 6))
        .filter(|s| rpm_has_version(s))
        .collect();
    let strings: Vec<&str> = generated.iter().map(String::as_str).collect();
    let pairs = pairs_to_ask(Scheme::Rpm, &strings, None, 5000, &mut rng);
    let mut tally = Tally::new("rpm generated");
    rpm_oracle().check_pairs(Scheme::Rpm, &pairs, &mut tally);
    tally.finish(strings.len());
}

// ---------------------------------------------------------------------------------------------
// PEP 440: `packaging.version.Version` under the `python3` on PATH.

const PEP440_SCRIPT: &str = r#"
import sys
from packaging.version import Version, InvalidVersion
def parse(s):
    try:
        return Version(s)
    except InvalidVersion:
        return None
out = []
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if f[0] == "V":
        out.append("1" if parse(f[1]) is not None else "0")
    else:
        a, b = parse(f[1]), parse(f[2])
        out.append("E" if a is None or b is None else str((a > b) - (a < b)))
print("\n".join(out))
"#;

fn pep440_oracle() -> ScriptOracle {
    ScriptOracle {
        program: "python3",
        args: vec!["-c", PEP440_SCRIPT],
        hint: "python3 with packaging: pip install packaging",
    }
}

#[test]
fn pep440_agrees_on_the_table() {
    let (pairs, cases) = table_pairs(Scheme::Pep440);
    let oracle = pep440_oracle();
    let mut tally = Tally::new("pep440 table");
    // Strings packaging rejects have no order there to compare with (only ours, bytewise).
    let pairs: Vec<(&str, &str)> = as_strs(&pairs)
        .into_iter()
        .filter(|(a, b)| is_valid(Scheme::Pep440, a) && is_valid(Scheme::Pep440, b))
        .collect();
    oracle.check_pairs(Scheme::Pep440, &pairs, &mut tally);
    let mut strings: Vec<&str> = cases
        .valid
        .iter()
        .chain(&cases.invalid)
        .map(|(_, s)| s.as_str())
        .collect();
    strings.extend(
        cases
            .chains
            .iter()
            .flat_map(|c| c.versions.iter().map(String::as_str)),
    );
    for (s, theirs) in strings.iter().zip(oracle.validity(&strings)) {
        tally.valid(s, is_valid(Scheme::Pep440, s), theirs);
    }
    tally.finish(strings.len());
}

#[test]
fn pep440_agrees_on_real_versions() {
    // PyPI's versions, plus the upstream part of every Debian version on this host: real
    // version strings, many of them valid PEP 440 and many not.
    let host = corpus::debian_host();
    let mut strings: Vec<&str> = corpus::pypi_fixture();
    strings.extend(host.versions.iter().map(|v| dpkg::upstream(v)));
    strings.extend(host.versions.iter().map(String::as_str));
    strings.sort_unstable();
    strings.dedup();
    let mut tally = Tally::new("pep440 real versions");
    pep440_oracle().check_all(Scheme::Pep440, &strings, 10_000, &mut tally);
    tally.finish(strings.len());
}

/// A PEP 440 version in one of its many spellings, or (sometimes) something close to one.
fn pep440_generated(rng: &mut Rng) -> String {
    const NUMBERS: [&str; 6] = ["0", "1", "2", "9", "10", "01"];
    const SEPARATORS: [&str; 5] = ["", "", ".", "-", "_"];
    const PRE: [&str; 12] = [
        "a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "A", "RC", "Beta", "PREVIEW",
    ];
    const POST: [&str; 5] = ["post", "rev", "r", "Post", "R"];
    const DEV: [&str; 2] = ["dev", "DEV"];
    const LOCAL: [&str; 8] = ["0", "1", "10", "a", "abc", "Ubuntu", "x1", "01"];
    const JUNK: [&str; 13] = [
        "!", "+", ".", "-", "_", "~", " ", "\u{a0}", "\u{1f}", "\u{e9}", "v", "x", "dev",
    ];
    let mut s = String::new();
    if rng.chance(10) {
        s += rng.word(&[" ", "\u{a0}", "\u{1f}", "\u{b}"]);
    }
    if rng.chance(15) {
        s += rng.word(&["v", "V"]);
    }
    if rng.chance(10) {
        s += rng.word(&NUMBERS);
        s += "!";
    }
    s += rng.word(&NUMBERS);
    for _ in 0..rng.below(4) {
        s += ".";
        s += rng.word(&NUMBERS);
    }
    let number = |rng: &mut Rng| {
        let mut part = String::from(rng.word(&SEPARATORS));
        if rng.chance(70) {
            part += rng.word(&NUMBERS);
        }
        part
    };
    if rng.chance(40) {
        s += rng.word(&SEPARATORS);
        s += rng.word(&PRE);
        s += &number(rng);
    }
    if rng.chance(30) {
        if rng.chance(30) {
            s += "-";
            s += rng.word(&NUMBERS);
        } else {
            s += rng.word(&SEPARATORS);
            s += rng.word(&POST);
            s += &number(rng);
        }
    }
    if rng.chance(30) {
        s += rng.word(&SEPARATORS);
        s += rng.word(&DEV);
        s += &number(rng);
    }
    if rng.chance(25) {
        s += "+";
        s += rng.word(&LOCAL);
        for _ in 0..rng.below(3) {
            s += rng.word(&[".", "-", "_"]);
            s += rng.word(&LOCAL);
        }
    }
    if rng.chance(15) {
        // A near miss: junk somewhere.
        let at = rng.below(s.chars().count() + 1);
        let junk = rng.word(&JUNK);
        s = s
            .chars()
            .take(at)
            .chain(junk.chars())
            .chain(s.chars().skip(at))
            .collect();
    }
    if rng.chance(10) {
        s += rng.word(&[" ", "\u{a0}", "\u{1f}", "\u{b}"]);
    }
    s
}

#[test]
fn pep440_agrees_on_generated_versions() {
    let mut rng = Rng::new(0x440);
    let generated: Vec<String> = (0..6000).map(|_| pep440_generated(&mut rng)).collect();
    let strings: Vec<&str> = generated.iter().map(String::as_str).collect();
    let mut tally = Tally::new("pep440 generated");
    pep440_oracle().check_all(Scheme::Pep440, &strings, 10_000, &mut tally);
    tally.finish(strings.len());
}

// ---------------------------------------------------------------------------------------------
// SemVer: npm's `semver` package under node (npm bundles it), strict mode.

const SEMVER_SCRIPT: &str = r#"
const candidates = ['semver', '/usr/lib/node_modules/npm/node_modules/semver', '/usr/share/nodejs/semver'];
let semver = null;
for (const c of candidates) { try { semver = require(c); break; } catch (e) {} }
if (!semver) { process.stderr.write('no semver module: ' + candidates.join(', ') + '\n'); process.exit(3); }
const out = [];
for (const line of require('fs').readFileSync(0, 'utf8').split('\n')) {
  if (!line) continue;
  const f = line.split('\t');
  if (f[0] === 'V') out.push(semver.valid(f[1]) !== null ? '1' : '0');
  else if (semver.valid(f[1]) === null || semver.valid(f[2]) === null) out.push('E');
  else out.push(String(semver.compare(f[1], f[2])));
}
process.stdout.write(out.join('\n') + '\n');
"#;

fn semver_oracle() -> ScriptOracle {
    ScriptOracle {
        program: "node",
        args: vec!["-e", SEMVER_SCRIPT],
        hint: "node with npm's semver package (Debian: nodejs, or node-semver)",
    }
}

/// Whether `s` is in the strict form npm's `semver` also takes: no `V`, three numbers, at
/// most 256 characters.
fn semver_strict_form(s: &str) -> bool {
    let core = s.strip_prefix('v').unwrap_or(s);
    let core = core.split(['-', '+']).next().unwrap_or("");
    s.len() <= 256 && core.split('.').count() == 3 && !s.starts_with('V') && small_numbers(s)
}

/// Whether every digit run in `s` has at most 15 digits: npm's `semver` turns numbers into
/// floating point, exact only below 2^53.
fn small_numbers(s: &str) -> bool {
    s.split(|c: char| !c.is_ascii_digit())
        .all(|run| run.len() <= 15)
}

/// Our validity against npm's: npm's valid ⇒ ours (ours adds leniencies), and ours in the
/// strict form ⇒ npm's.
fn semver_check(strings: &[&str], random: usize, tally: &mut Tally) {
    let oracle = semver_oracle();
    let strings: Vec<&str> = strings.iter().copied().filter(|s| fits_a_line(s)).collect();
    let theirs = oracle.validity(&strings);
    let mut accepted = Vec::new();
    for (s, theirs) in strings.iter().zip(theirs) {
        let ours = is_valid(Scheme::Semver, s);
        if theirs || semver_strict_form(s) {
            tally.valid(s, ours, theirs);
        }
        if theirs && small_numbers(s) {
            accepted.push(*s);
        }
    }
    let mut rng = Rng::new(0x5e77e4);
    let pairs = pairs_to_ask(Scheme::Semver, &accepted, None, random, &mut rng);
    oracle.check_pairs(Scheme::Semver, &pairs, tally);
}

#[test]
fn semver_agrees_on_the_table_and_real_versions() {
    let (_, cases) = table_pairs(Scheme::Semver);
    let mut strings: Vec<&str> = corpus::npm_fixture();
    strings.extend(
        cases
            .valid
            .iter()
            .chain(&cases.invalid)
            .map(|(_, s)| s.as_str()),
    );
    strings.extend(
        cases
            .chains
            .iter()
            .flat_map(|c| c.versions.iter().map(String::as_str)),
    );
    let mut tally = Tally::new("semver table and npm versions");
    semver_check(&strings, 5000, &mut tally);
    tally.finish(strings.len());
}

#[test]
fn semver_agrees_on_generated_versions() {
    const NUMBERS: [&str; 6] = ["0", "1", "2", "10", "01", "999999"];
    const IDS: [&str; 12] = [
        "alpha", "beta", "rc", "0", "1", "2", "10", "01", "x-y", "-", "A", "",
    ];
    let mut rng = Rng::new(0x5e7);
    let generated: Vec<String> = (0..5000)
        .map(|_| {
            let mut s = String::new();
            if rng.chance(10) {
                s += "v";
            }
            let parts = if rng.chance(85) { 3 } else { 1 + rng.below(4) };
            let numbers: Vec<&str> = (0..parts).map(|_| *rng.pick(&NUMBERS)).collect();
            s += &numbers.join(".");
            for (sep, chance) in [("-", 50), ("+", 20)] {
                if rng.chance(chance) {
                    let ids: Vec<&str> = (0..1 + rng.below(3)).map(|_| *rng.pick(&IDS)).collect();
                    s += sep;
                    s += &ids.join(".");
                }
            }
            s
        })
        .collect();
    let strings: Vec<&str> = generated.iter().map(String::as_str).collect();
    let mut tally = Tally::new("semver generated");
    semver_check(&strings, 10_000, &mut tally);
    tally.finish(strings.len());
}
