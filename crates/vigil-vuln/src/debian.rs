//! The no-internet Debian source: the security suite's `Packages` index (reachable through apt)
//! and the `changelog.Debian` shipped in each security `.deb`, which names the CVEs each upload
//! fixed.
//!
//! Everything here is a pure parser or a pure transformation; fetching the index and the `.deb`
//! files is the caller's job.

use std::cmp::Ordering;
use std::collections::HashMap;

use vigil_collect::deb822;
use vigil_version::{compare, Scheme};

use crate::ecosystem::{Ecosystem, Family};
use crate::{excerpt, mentions_code_execution, one_line, Advisory, AffectedRange, Level, Parsed};

/// Longest summary kept, in characters.
const SUMMARY_CHARS: usize = 200;

/// One binary package of a `Packages` index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    /// `Source:` name, or the package's own name when the field is absent.
    pub source: String,
    /// The version in `Source: name (version)`, or the package's own version.
    pub source_version: String,
}

/// Parses an apt `Packages` index (deb822 stanzas). Stanzas without `Package` or `Version` are
/// skipped with their first line number.
pub fn parse_packages(text: &str) -> Parsed<Vec<IndexPackage>> {
    let mut out = Parsed::new(Vec::new());
    for item in deb822::items(text) {
        let s = match item {
            deb822::Item::Stanza(s) => s,
            deb822::Item::Skip { line, reason } => {
                out.skip("", line, "", reason);
                continue;
            }
        };
        let (Some(name), Some(version)) = (
            s.get("Package").filter(|p| !p.is_empty()),
            s.get("Version").filter(|v| !v.is_empty()),
        ) else {
            out.skip("", s.first_line, "", "stanza without Package or Version");
            continue;
        };
        let (source, source_version) = match s.get("Source").filter(|v| !v.is_empty()) {
            None => (name, version),
            Some(v) => deb822::split_source(v, version),
        };
        out.value.push(IndexPackage {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: s.get("Architecture").unwrap_or("").to_owned(),
            source: source.to_owned(),
            source_version: source_version.to_owned(),
        });
    }
    out
}

/// One source package's newest version in an index, with the binaries built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUpdate {
    pub source: String,
    pub version: String,
    /// Binary package names at that source version, sorted.
    pub binaries: Vec<String>,
}

/// Groups an index by source package, keeping each source's highest version (dpkg order).
/// Sorted by source name.
pub fn source_updates(packages: &[IndexPackage]) -> Vec<SourceUpdate> {
    let mut by_source: HashMap<&str, SourceUpdate> = HashMap::new();
    for p in packages {
        let entry = by_source
            .entry(p.source.as_str())
            .or_insert_with(|| SourceUpdate {
                source: p.source.clone(),
                version: p.source_version.clone(),
                binaries: Vec::new(),
            });
        match compare(Scheme::Dpkg, &p.source_version, &entry.version) {
            Ordering::Greater => {
                entry.version = p.source_version.clone();
                entry.binaries = vec![p.name.clone()];
            }
            Ordering::Equal => entry.binaries.push(p.name.clone()),
            Ordering::Less => {}
        }
    }
    let mut out: Vec<SourceUpdate> = by_source.into_values().collect();
    for u in &mut out {
        u.binaries.sort();
        u.binaries.dedup();
    }
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out
}

/// Upload urgency from a changelog header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    Low,
    Medium,
    High,
    Emergency,
    Critical,
}

impl Urgency {
    fn parse(s: &str) -> Option<Urgency> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Urgency::Low),
            "medium" => Some(Urgency::Medium),
            "high" => Some(Urgency::High),
            "emergency" => Some(Urgency::Emergency),
            "critical" => Some(Urgency::Critical),
            _ => None,
        }
    }

    pub fn level(self) -> Level {
        match self {
            Urgency::Low => Level::Low,
            Urgency::Medium => Level::Medium,
            Urgency::High | Urgency::Emergency | Urgency::Critical => Level::High,
        }
    }
}

/// One upload in a `changelog.Debian`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// Source package name from the header.
    pub package: String,
    pub version: String,
    /// Target suites, e.g. `bookworm-security`.
    pub distributions: Vec<String>,
    /// `None` when the header has no urgency or one this parser does not know.
    pub urgency: Option<Urgency>,
    /// Change items (`* …`, `- …`), continuation lines joined with spaces.
    pub items: Vec<String>,
    /// CVE ids named in the body, upper case, in order of first mention.
    pub cves: Vec<String>,
    /// GitHub advisory ids (`GHSA-xxxx-xxxx-xxxx`) named in the body.
    pub ghsas: Vec<String>,
    /// The trailer's maintainer (`Name <mail>`); empty when the trailer is missing.
    pub maintainer: String,
    /// The trailer's date as written.
    pub date: String,
    /// 1-based line of the header.
    pub line: usize,
}

impl ChangelogEntry {
    /// Uploaded to a security suite (`bookworm-security`, `buster-security`, …).
    pub fn is_security_upload(&self) -> bool {
        self.distributions.iter().any(|d| d.ends_with("-security"))
    }
}

/// Parses a `changelog.Debian` (newest entry first, as dpkg writes it).
///
/// Lines at column 0 that are not entry headers (`# Older entries have been removed…`, editor
/// variables) end nothing and are ignored if they start with `#` or `Local variables:`;
/// anything else there is skipped with its line number.
pub fn parse_changelog(text: &str) -> Parsed<Vec<ChangelogEntry>> {
    let mut out = Parsed::new(Vec::new());
    let mut current: Option<ChangelogEntry> = None;
    let mut in_item = false;
    let mut trailing_block = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            in_item = false;
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            if let Some(entry) = parse_header(line, line_no) {
                if let Some(done) = current.replace(entry) {
                    out.value.push(done);
                }
                in_item = false;
                trailing_block = false;
                continue;
            }
            if trailing_block
                || line.starts_with('#')
                || line.starts_with("Local variables:")
                || line.starts_with("Old Changelog:")
            {
                // Emacs/vim variable blocks and pointers to older changelogs: nothing to read.
                trailing_block |= !line.starts_with('#');
                continue;
            }
            out.skip(
                "",
                line_no,
                "",
                format_args!("not a changelog header: '{}'", excerpt(line)),
            );
            continue;
        }
        let Some(entry) = current.as_mut() else {
            out.skip("", line_no, "", "text before the first entry header");
            continue;
        };
        let body = line.trim();
        if let Some(trailer) = body.strip_prefix("-- ") {
            // ` -- Name <mail>  Day, dd Mon yyyy hh:mm:ss +zone`: two spaces before the date.
            let (who, date) = trailer
                .split_once(">  ")
                .map_or((trailer, ""), |(w, d)| (w, d));
            entry.maintainer = if date.is_empty() {
                who.trim().to_owned()
            } else {
                format!("{}>", who.trim())
            };
            entry.date = date.trim().to_owned();
            in_item = false;
            continue;
        }
        collect_ids(body, &mut entry.cves, &mut entry.ghsas);
        if body.starts_with('[') && body.ends_with(']') {
            // `[ Contributor Name ]` groups items by author.
            in_item = false;
            continue;
        }
        let bullet = ["* ", "- ", "+ ", "o "]
            .iter()
            .find_map(|b| body.strip_prefix(b));
        match (bullet, in_item, entry.items.last_mut()) {
            (Some(text), _, _) => {
                entry.items.push(text.trim().to_owned());
                in_item = true;
            }
            (None, true, Some(last)) => {
                last.push(' ');
                last.push_str(body);
            }
            (None, _, _) => {
                entry.items.push(body.to_owned());
                in_item = true;
            }
        }
    }
    if let Some(done) = current {
        out.value.push(done);
    }
    out
}

/// `package (version) dist1 dist2; urgency=high[, key=value…]`.
fn parse_header(line: &str, line_no: usize) -> Option<ChangelogEntry> {
    let (package, rest) = line.split_once(" (")?;
    let package = package.trim();
    let valid_name = !package.is_empty()
        && package
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if !valid_name {
        return None;
    }
    let (version, rest) = rest.split_once(')')?;
    let version = version.trim();
    if version.is_empty() || version.contains(char::is_whitespace) {
        return None;
    }
    let (dists, options) = rest.split_once(';')?;
    let distributions: Vec<String> = dists.split_whitespace().map(str::to_owned).collect();
    if distributions.is_empty() {
        return None;
    }
    let urgency = options.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("urgency") {
            return None;
        }
        // `urgency=medium (high for …)`: the first word is the value.
        Urgency::parse(v.split_whitespace().next()?)
    });
    Some(ChangelogEntry {
        package: package.to_owned(),
        version: version.to_owned(),
        distributions,
        urgency,
        items: Vec::new(),
        cves: Vec::new(),
        ghsas: Vec::new(),
        maintainer: String::new(),
        date: String::new(),
        line: line_no,
    })
}

/// Adds every `CVE-dddd-dddd…` (case-insensitive, stored upper case) and `GHSA-xxxx-xxxx-xxxx`
/// in `text` that is not already listed.
fn collect_ids(text: &str, cves: &mut Vec<String>, ghsas: &mut Vec<String>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i + 4 <= b.len() {
        let word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if word_start && b[i..i + 4].eq_ignore_ascii_case(b"CVE-") {
            if let Some((id, end)) = cve_at(b, i + 4) {
                if !cves.contains(&id) {
                    cves.push(id);
                }
                i = end;
                continue;
            }
        }
        if word_start && i + 5 <= b.len() && &b[i..i + 5] == b"GHSA-" {
            if let Some((id, end)) = ghsa_at(b, i + 5) {
                if !ghsas.contains(&id) {
                    ghsas.push(id);
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
}

/// After `CVE-`: four digits, `-`, four to twelve digits, not followed by a digit or letter.
fn cve_at(b: &[u8], start: usize) -> Option<(String, usize)> {
    let year = b.get(start..start + 4)?;
    if !year.iter().all(u8::is_ascii_digit) || b.get(start + 4) != Some(&b'-') {
        return None;
    }
    let num_start = start + 5;
    let digits = b[num_start..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let end = num_start + digits;
    if !(4..=12).contains(&digits) || b.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    // Only ASCII digits between start and end, so the slice is valid UTF-8.
    let text = std::str::from_utf8(&b[start..end]).ok()?;
    Some((format!("CVE-{text}"), end))
}

/// After `GHSA-`: three groups of four lower-case letters or digits joined by `-`.
fn ghsa_at(b: &[u8], start: usize) -> Option<(String, usize)> {
    let body = b.get(start..start + 14)?;
    let ok = body.iter().enumerate().all(|(i, c)| {
        if i == 4 || i == 9 {
            *c == b'-'
        } else {
            c.is_ascii_lowercase() || c.is_ascii_digit()
        }
    });
    let end = start + 14;
    if !ok || b.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    Some((format!("GHSA-{text}"), end))
}

/// What the uploads newer than an installed version fix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pending {
    /// CVEs named by the newer entries, newest entry first, each once.
    pub cves: Vec<String>,
    /// The highest urgency among the newer entries.
    pub urgency: Option<Urgency>,
    /// Versions of the newer entries, newest first.
    pub versions: Vec<String>,
}

/// Collects what the entries with a version above `installed` (dpkg order) fix.
pub fn pending(entries: &[ChangelogEntry], installed: &str) -> Pending {
    let mut out = Pending::default();
    for e in entries {
        if compare(Scheme::Dpkg, &e.version, installed) != Ordering::Greater {
            continue;
        }
        out.versions.push(e.version.clone());
        out.urgency = out.urgency.max(e.urgency);
        for c in &e.cves {
            if !out.cves.contains(c) {
                out.cves.push(c.clone());
            }
        }
    }
    out
}

/// Turns a source package's changelog into advisories for `Debian:<release>`.
///
/// One advisory per CVE, fixed in the highest version whose entry names it: an entry that
/// mentions a CVE again (an incomplete first fix, a regression) moves the fix forward, so an
/// installed version is affected exactly when some newer entry names the CVE, which is what
/// [`pending`] reports. Uploads to a security suite that name no CVE become one advisory each,
/// `DEBSEC-<source>-<version>` (followed by any GHSA ids the entry names), fixed in that
/// version. Levels come from the upload urgency (unknown: medium), raised to high when the
/// entry's text says code execution.
///
/// The range starts at `"0"`: the changelog cannot tell which older versions had the flaw.
pub fn changelog_advisories(entries: &[ChangelogEntry], release: &str) -> Vec<Advisory> {
    let ecosystem = Ecosystem::new(Family::Debian, Some(release));
    // CVE -> index of the newest entry naming it.
    let mut newest: Vec<(&str, usize)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        for c in &e.cves {
            match newest.iter_mut().find(|(id, _)| *id == c.as_str()) {
                Some((_, j)) => {
                    if compare(Scheme::Dpkg, &e.version, &entries[*j].version) == Ordering::Greater
                    {
                        *j = i;
                    }
                }
                None => newest.push((c.as_str(), i)),
            }
        }
    }
    let mut out = Vec::new();
    for (cve, i) in newest {
        let e = &entries[i];
        // Urgency and text of every entry that names the CVE.
        let naming: Vec<&ChangelogEntry> = entries
            .iter()
            .filter(|x| x.cves.iter().any(|c| c == cve))
            .collect();
        let items: Vec<&str> = naming
            .iter()
            .flat_map(|x| x.items.iter())
            .filter(|it| it.to_ascii_uppercase().contains(cve))
            .map(String::as_str)
            .collect();
        let rce = items.iter().any(|it| mentions_code_execution(it));
        let urgency = naming.iter().filter_map(|x| x.urgency).max();
        let summary = match items.first() {
            Some(item) => one_line(&format!("{}: {item}", e.package), SUMMARY_CHARS),
            None => format!("{}: security update {}", e.package, e.version),
        };
        out.push(Advisory {
            ids: vec![cve.to_owned()],
            summary,
            level: level(urgency, rce),
            rce,
            ranges: vec![range(&ecosystem, &e.package, &e.version)],
        });
    }
    for e in entries
        .iter()
        .filter(|e| e.cves.is_empty() && e.is_security_upload())
    {
        let mut ids = vec![format!("DEBSEC-{}-{}", e.package, e.version)];
        ids.extend(e.ghsas.iter().cloned());
        let rce = e.items.iter().any(|it| mentions_code_execution(it));
        let first = e
            .items
            .iter()
            .find(|it| !it.starts_with("Non-maintainer upload"));
        let summary = match first {
            Some(item) => one_line(&format!("{}: {item}", e.package), SUMMARY_CHARS),
            None => format!("{}: security update {}", e.package, e.version),
        };
        out.push(Advisory {
            ids,
            summary,
            level: level(e.urgency, rce),
            rce,
            ranges: vec![range(&ecosystem, &e.package, &e.version)],
        });
    }
    out
}

/// An advisory for a security-suite version whose changelog could not be read: the index alone
/// says that a security upload newer than what is installed exists.
pub fn index_advisory(update: &SourceUpdate, release: &str) -> Advisory {
    let ecosystem = Ecosystem::new(Family::Debian, Some(release));
    Advisory {
        ids: vec![format!("DEBSEC-{}-{}", update.source, update.version)],
        summary: format!("{}: security update {}", update.source, update.version),
        level: Level::Medium,
        rce: false,
        ranges: vec![range(&ecosystem, &update.source, &update.version)],
    }
}

fn range(ecosystem: &Ecosystem, package: &str, fixed: &str) -> AffectedRange {
    AffectedRange {
        ecosystem: ecosystem.clone(),
        package: package.to_owned(),
        introduced: "0".to_owned(),
        fixed: Some(fixed.to_owned()),
        last_affected: None,
        limit: None,
    }
}

fn level(urgency: Option<Urgency>, rce: bool) -> Level {
    if rce {
        return Level::High;
    }
    urgency.map_or(Level::Medium, Urgency::level)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "\
foo (1.2-3+deb12u2) bookworm-security; urgency=high

  * Non-maintainer upload by the Security Team.
  * Fix CVE-2024-1111: heap overflow that allows to execute
    arbitrary code.
  * cve-2024-22222 (Closes: #1)

 -- Jane Doe <jane@example.org>  Mon, 01 Jan 2024 10:00:00 +0100

foo (1.2-3+deb12u1) bookworm-security; urgency=medium

  [ Someone ]
  * Fix CVE-2024-1111 partially.
  * GHSA-abcd-efgh-2345 and not-CVE-12 nor CVE-2024-123 nor CVE-2024-12345x

 -- Jane Doe <jane@example.org>  Sun, 31 Dec 2023 10:00:00 +0100

foo (1.2-3) unstable; urgency=low

  * New upstream release.

 -- Jane Doe <jane@example.org>  Sat, 30 Dec 2023 10:00:00 +0100

# Older entries have been removed from this changelog.
# To read the complete changelog use `apt changelog foo`.
";

    #[test]
    fn changelog_entries() {
        let p = parse_changelog(SMALL);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        let e = &p.value;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].package, "foo");
        assert_eq!(e[0].version, "1.2-3+deb12u2");
        assert_eq!(e[0].distributions, ["bookworm-security"]);
        assert_eq!(e[0].urgency, Some(Urgency::High));
        assert_eq!(e[0].cves, ["CVE-2024-1111", "CVE-2024-22222"]);
        assert_eq!(
            e[0].items[1],
            "Fix CVE-2024-1111: heap overflow that allows to execute arbitrary code."
        );
        assert_eq!(e[0].maintainer, "Jane Doe <jane@example.org>");
        assert_eq!(e[0].date, "Mon, 01 Jan 2024 10:00:00 +0100");
        assert_eq!(e[0].line, 1);
        assert_eq!(e[1].cves, ["CVE-2024-1111"]);
        assert_eq!(e[1].ghsas, ["GHSA-abcd-efgh-2345"]);
        assert_eq!(e[1].items.len(), 2, "{:?}", e[1].items);
        assert!(e[2].cves.is_empty());
        assert!(!e[2].is_security_upload());
    }

    #[test]
    fn pending_fixes_above_installed() {
        let entries = parse_changelog(SMALL).value;
        let p = pending(&entries, "1.2-3");
        assert_eq!(p.cves, ["CVE-2024-1111", "CVE-2024-22222"]);
        assert_eq!(p.urgency, Some(Urgency::High));
        assert_eq!(p.versions, ["1.2-3+deb12u2", "1.2-3+deb12u1"]);
        let p = pending(&entries, "1.2-3+deb12u2");
        assert_eq!(p, Pending::default());
    }

    #[test]
    fn advisories_per_cve_fixed_by_the_newest_mention() {
        let entries = parse_changelog(SMALL).value;
        let adv = changelog_advisories(&entries, "12");
        let ids: Vec<&str> = adv.iter().map(|a| a.ids[0].as_str()).collect();
        assert_eq!(ids, ["CVE-2024-1111", "CVE-2024-22222"]);
        let a = &adv[0];
        assert_eq!(a.ranges[0].fixed.as_deref(), Some("1.2-3+deb12u2"));
        assert_eq!(a.ranges[0].package, "foo");
        assert_eq!(a.ranges[0].ecosystem.to_string(), "Debian:12");
        assert!(a.rce);
        assert_eq!(a.level, Level::High);
        assert_eq!(
            a.summary,
            "foo: Fix CVE-2024-1111: heap overflow that allows to execute arbitrary code."
        );
    }

    #[test]
    fn security_upload_without_cve_gets_a_synthetic_id() {
        let text = "bar (2.0-1+deb12u1) bookworm-security; urgency=medium\n\n  * Non-maintainer upload.\n  * Fix GHSA-abcd-efgh-2345: overflow.\n\n -- A <a@b>  Mon, 01 Jan 2024 10:00:00 +0100\n";
        let adv = changelog_advisories(&parse_changelog(text).value, "12");
        assert_eq!(adv.len(), 1);
        assert_eq!(
            adv[0].ids,
            ["DEBSEC-bar-2.0-1+deb12u1", "GHSA-abcd-efgh-2345"]
        );
        assert_eq!(adv[0].summary, "bar: Fix GHSA-abcd-efgh-2345: overflow.");
        assert_eq!(adv[0].level, Level::Medium);
    }

    #[test]
    fn headers() {
        let h = parse_header(
            "nss (2:3.87.1-1+deb12u4) bookworm-security; urgency=medium",
            1,
        )
        .unwrap();
        assert_eq!(h.version, "2:3.87.1-1+deb12u4");
        let h = parse_header(
            "x (1) unstable experimental; urgency=HIGH, binary-only=yes",
            1,
        )
        .unwrap();
        assert_eq!(h.distributions, ["unstable", "experimental"]);
        assert_eq!(h.urgency, Some(Urgency::High));
        let h = parse_header("x (1) unstable; urgency=weird", 1).unwrap();
        assert_eq!(h.urgency, None);
        for bad in [
            "Local variables:",
            "x (1 unstable; urgency=low",
            "x (1) ; urgency=low",
            "x (1) unstable urgency=low",
            "X (1) unstable; urgency=low",
            " (1) unstable; urgency=low",
        ] {
            assert!(parse_header(bad, 1).is_none(), "{bad}");
        }
    }

    #[test]
    fn stray_lines_are_skipped_not_fatal() {
        let text = "  * before any header\nfoo (1) unstable; urgency=low\n\n  * CVE-2020-0001\nrandom column zero\n -- A <a@b>  date\n";
        let p = parse_changelog(text);
        assert_eq!(p.value.len(), 1);
        assert_eq!(p.value[0].cves, ["CVE-2020-0001"]);
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [1, 5]);
    }

    #[test]
    fn packages_index() {
        let text = "Package: libssl3\nSource: openssl\nVersion: 3.0.22-1~deb12u2\nArchitecture: amd64\n\nPackage: linux-image-amd64\nSource: linux-signed-amd64 (6.1.192+2)\nVersion: 6.1.192-2\n\nPackage: openssl\nVersion: 3.0.22-1~deb12u2\n\nVersion: 1\n";
        let p = parse_packages(text);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].line, 13);
        let v = &p.value;
        assert_eq!(v.len(), 3);
        assert_eq!(
            (v[0].source.as_str(), v[0].source_version.as_str()),
            ("openssl", "3.0.22-1~deb12u2")
        );
        assert_eq!(
            (v[1].source.as_str(), v[1].source_version.as_str()),
            ("linux-signed-amd64", "6.1.192+2")
        );
        assert_eq!(v[1].arch, "");
        assert_eq!(
            (v[2].source.as_str(), v[2].name.as_str()),
            ("openssl", "openssl")
        );
        let updates = source_updates(v);
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[1].source, "openssl");
        assert_eq!(updates[1].binaries, ["libssl3", "openssl"]);
    }
}
