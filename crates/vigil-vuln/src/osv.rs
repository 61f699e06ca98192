//! Importer of OSV advisories (<https://ossf.github.io/osv-schema/>): one JSON file, a directory
//! tree of them, or a zip of them as osv.dev publishes per ecosystem (`all.zip`).
//!
//! Only what matching needs is read; unknown fields are ignored. A record that cannot be read is
//! skipped and reported with its file name and id; the import goes on.

use std::cmp::Ordering;
use std::fs;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::ecosystem::{normalize_package, Ecosystem};
use crate::{
    excerpt, mentions_code_execution, one_line, Advisory, AffectedRange, Error, Level, Parsed,
};

/// Largest single JSON document read, in bytes. osv.dev's largest records (kernel CVEs with
/// thousands of versions) are a few MB.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// Longest summary kept, in characters.
const SUMMARY_CHARS: usize = 200;

/// Advisories read from one or more OSV documents, with counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Import {
    pub advisories: Vec<Advisory>,
    /// JSON files read (inside a zip or a directory).
    pub files: usize,
    /// Records marked `withdrawn`, left out.
    pub withdrawn: usize,
    /// `affected` entries left out because their ecosystem is not one Vigil matches (Go, Maven,
    /// …) or they only have GIT ranges and no version list. A record all of whose entries are
    /// left out this way is not an advisory here, and is not reported as a skip.
    pub ignored_affected: usize,
}

/// Parses one OSV JSON document: a record object, or an array of records.
///
/// `file` names the document in skip reports.
pub fn parse(file: &str, bytes: &[u8]) -> Parsed<Import> {
    let mut out = Parsed::new(Import {
        files: 1,
        ..Import::default()
    });
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            out.skip(file, 0, "", format_args!("not JSON: {e}"));
            return out;
        }
    };
    match doc {
        Value::Array(items) => {
            for item in items {
                record(file, item, &mut out);
            }
        }
        other => record(file, other, &mut out),
    }
    out
}

/// Imports a `.json` file, a `.zip` of them, or a directory tree holding either.
///
/// Fails only when `path` itself cannot be read; unreadable or bad files inside are skipped
/// and reported.
pub fn import_path(path: &Path) -> Result<Parsed<Import>, Error> {
    let meta = fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_dir() {
        let mut out = Parsed::new(Import::default());
        let mut files = Vec::new();
        collect_files(path, &mut files, &mut out, 0);
        files.sort();
        for f in files {
            let name = display_name(path, &f);
            if has_extension(&f, "zip") {
                match import_zip_file(&f) {
                    Ok(p) => merge(&mut out, p),
                    Err(e) => out.skip(&name, 0, "", e),
                }
            } else {
                match read_capped(&f) {
                    Ok(bytes) => merge(&mut out, parse(&name, &bytes)),
                    Err(e) => out.skip(&name, 0, "", e),
                }
            }
        }
        Ok(out)
    } else if has_extension(path, "zip") {
        import_zip_file(path)
    } else {
        let bytes = read_capped(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(parse(&path.display().to_string(), &bytes))
    }
}

/// Imports every `.json` member of a zip archive. Members are named `ARCHIVE/MEMBER` in skips.
pub fn import_zip<R: Read + Seek>(name: &str, reader: R) -> Result<Parsed<Import>, Error> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|source| Error::Zip {
        path: PathBuf::from(name),
        source,
    })?;
    let mut out = Parsed::new(Import::default());
    for i in 0..archive.len() {
        let mut member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                out.skip(name, 0, "", format_args!("zip member {i}: {e}"));
                continue;
            }
        };
        let member_name = format!("{name}/{}", member.name());
        if member.is_dir() || !member.name().ends_with(".json") {
            continue;
        }
        if member.size() > MAX_RECORD_BYTES {
            out.skip(&member_name, 0, "", "larger than the record size limit");
            continue;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(member.size()).unwrap_or(0));
        // The declared size can lie; cap what is actually inflated too.
        match (&mut member)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
        {
            Ok(_) if bytes.len() as u64 > MAX_RECORD_BYTES => {
                out.skip(&member_name, 0, "", "larger than the record size limit");
            }
            Ok(_) => merge(&mut out, parse(&member_name, &bytes)),
            Err(e) => out.skip(&member_name, 0, "", format_args!("unreadable: {e}")),
        }
    }
    Ok(out)
}

fn import_zip_file(path: &Path) -> Result<Parsed<Import>, Error> {
    let file = fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    import_zip(&path.display().to_string(), std::io::BufReader::new(file))
}

fn merge(out: &mut Parsed<Import>, part: Parsed<Import>) {
    let part = out.absorb(part);
    out.value.advisories.extend(part.advisories);
    out.value.files += part.files;
    out.value.withdrawn += part.withdrawn;
    out.value.ignored_affected += part.ignored_affected;
}

/// Directory depth followed at most; osv.dev trees are two or three levels deep.
const MAX_DEPTH: usize = 16;

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>, out: &mut Parsed<Import>, depth: usize) {
    let shown = dir.display().to_string();
    if depth > MAX_DEPTH {
        out.skip(&shown, 0, "", "directory nested too deep");
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.skip(&shown, 0, "", format_args!("unreadable directory: {e}"));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // file_type does not follow symlinks: a link loop cannot recurse forever.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_files(&path, files, out, depth + 1);
        } else if kind.is_file() && (has_extension(&path, "json") || has_extension(&path, "zip")) {
            files.push(path);
        }
    }
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn display_name(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(std::io::Error::other("larger than the record size limit"));
    }
    Ok(bytes)
}

// ---- wire types ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct OsvRecord {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    aliases: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    upstream: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    summary: String,
    #[serde(default, deserialize_with = "nullable")]
    details: String,
    #[serde(default)]
    withdrawn: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<OsvSeverity>,
    #[serde(default, deserialize_with = "nullable")]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    score: String,
}

#[derive(Deserialize)]
struct OsvAffected {
    #[serde(default)]
    package: Option<OsvPackage>,
    #[serde(default, deserialize_with = "nullable")]
    ranges: Vec<OsvRange>,
    #[serde(default, deserialize_with = "nullable")]
    versions: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct OsvPackage {
    #[serde(default, deserialize_with = "nullable")]
    ecosystem: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize)]
struct OsvRange {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    events: Vec<OsvEvent>,
}

#[derive(Deserialize)]
struct OsvEvent {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

/// `null` reads as the default, as OSV producers write both `null` and nothing for "none".
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---- conversion ------------------------------------------------------------------------------

fn record(file: &str, value: Value, out: &mut Parsed<Import>) {
    let id_hint = value
        .get("id")
        .and_then(Value::as_str)
        .map(excerpt)
        .unwrap_or_default();
    let rec: OsvRecord = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            out.skip(file, 0, &id_hint, format_args!("not an OSV record: {e}"));
            return;
        }
    };
    if rec.id.trim().is_empty() {
        out.skip(file, 0, "", "record without an id");
        return;
    }
    if rec.withdrawn.as_ref().is_some_and(|w| !w.is_null()) {
        out.value.withdrawn += 1;
        return;
    }

    let rce = mentions_code_execution(&rec.summary) || mentions_code_execution(&rec.details);
    let mut signals = Signals::default();
    for s in &rec.severity {
        signals.severity_entry(&s.kind, &s.score);
    }
    if let Some(v) = &rec.database_specific {
        signals.walk(v, 0);
    }

    let mut ranges = Vec::new();
    let mut os_package = false;
    for affected in &rec.affected {
        let Some(pkg) = &affected.package else {
            out.value.ignored_affected += 1;
            continue;
        };
        let Some(ecosystem) = Ecosystem::parse(&pkg.ecosystem) else {
            out.value.ignored_affected += 1;
            continue;
        };
        let name = pkg.name.trim();
        if name.is_empty() {
            out.skip(file, 0, &rec.id, "affected package without a name");
            continue;
        }
        let package = normalize_package(ecosystem.family, name).into_owned();
        for s in &affected.severity {
            signals.severity_entry(&s.kind, &s.score);
        }
        for v in [&affected.ecosystem_specific, &affected.database_specific]
            .into_iter()
            .flatten()
        {
            signals.walk(v, 0);
        }
        let before = ranges.len();
        let mut had_version_range = false;
        for range in &affected.ranges {
            if !matches!(range.kind.as_str(), "ECOSYSTEM" | "SEMVER") {
                continue;
            }
            had_version_range = true;
            intervals(file, &rec.id, &ecosystem, &package, range, &mut ranges, out);
        }
        // The `versions` list is a complete enumeration only when there is no version range to
        // read (GIT-only entries); otherwise it repeats the ranges and would bloat the database.
        if !had_version_range {
            for v in affected
                .versions
                .iter()
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
            {
                ranges.push(AffectedRange {
                    ecosystem: ecosystem.clone(),
                    package: package.clone(),
                    introduced: v.to_owned(),
                    fixed: None,
                    last_affected: Some(v.to_owned()),
                    limit: None,
                });
            }
        }
        if ranges.len() == before {
            out.value.ignored_affected += 1;
        } else {
            os_package |= ecosystem.family.is_distribution();
        }
    }
    if ranges.is_empty() {
        return;
    }

    let level = signals.level(rce && os_package);
    let summary = if rec.summary.trim().is_empty() {
        // First sentence of the details, which is what most sources put first.
        let details = rec.details.trim();
        let first = details
            .split_once(". ")
            .map_or(details, |(a, _)| a)
            .trim_end_matches('.');
        one_line(first, SUMMARY_CHARS)
    } else {
        one_line(&rec.summary, SUMMARY_CHARS)
    };
    out.value.advisories.push(Advisory {
        ids: ids(&rec),
        summary,
        level,
        rce,
        ranges,
    });
}

/// The record's id, then every CVE it names as an alias or upstream, then its other aliases.
fn ids(rec: &OsvRecord) -> Vec<String> {
    let id = rec.id.trim().to_owned();
    let mut cves: Vec<String> = rec
        .aliases
        .iter()
        .chain(&rec.upstream)
        .map(|a| a.trim())
        .filter(|a| a.starts_with("CVE-") && *a != id)
        .map(str::to_owned)
        .collect();
    cves.sort();
    cves.dedup();
    let mut out = vec![id];
    out.extend(cves);
    for a in rec.aliases.iter().map(|a| a.trim()) {
        if !a.is_empty() && !out.iter().any(|o| o == a) {
            out.push(a.to_owned());
        }
    }
    out
}

/// Turns one ECOSYSTEM/SEMVER range's events into intervals, following the schema's evaluation:
/// events sorted by version (`introduced: "0"` first), an interval opens at `introduced` and
/// closes at the next `fixed` or `last_affected`; `limit` caps the whole range.
fn intervals(
    file: &str,
    id: &str,
    ecosystem: &Ecosystem,
    package: &str,
    range: &OsvRange,
    ranges: &mut Vec<AffectedRange>,
    out: &mut Parsed<Import>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Introduced,
        Fixed,
        LastAffected,
    }
    let scheme = ecosystem.scheme();
    let mut events: Vec<(Kind, &str)> = Vec::new();
    let mut limit: Option<&str> = None;
    for e in &range.events {
        let set = [
            (Kind::Introduced, &e.introduced),
            (Kind::Fixed, &e.fixed),
            (Kind::LastAffected, &e.last_affected),
        ];
        let present: Vec<(Kind, &str)> = set
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v.trim())))
            .collect();
        if present.len() + usize::from(e.limit.is_some()) != 1 {
            out.skip(
                file,
                0,
                id,
                "range event without exactly one of introduced/fixed/last_affected/limit",
            );
            continue;
        }
        if let Some(l) = e.limit.as_deref().map(str::trim) {
            if !l.is_empty() && l != "*" {
                limit = Some(match limit {
                    Some(prev) if vigil_version::compare(scheme, prev, l) == Ordering::Less => prev,
                    _ => l,
                });
            }
            continue;
        }
        let (kind, v) = present[0];
        if v.is_empty() {
            out.skip(file, 0, id, "range event with an empty version");
            continue;
        }
        events.push((kind, v));
    }
    // "0" is before every version whatever the scheme says about the string "0".
    events.sort_by(|a, b| match (a.1 == "0", b.1 == "0") {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => vigil_version::compare(scheme, a.1, b.1),
    });
    let mut open: Option<&str> = None;
    let mut any = false;
    let mut push = |introduced: &str, fixed: Option<&str>, last: Option<&str>| {
        ranges.push(AffectedRange {
            ecosystem: ecosystem.clone(),
            package: package.to_owned(),
            introduced: introduced.to_owned(),
            fixed: fixed.map(str::to_owned),
            last_affected: last.map(str::to_owned),
            limit: limit.map(str::to_owned),
        });
    };
    for (kind, v) in events {
        match (kind, open) {
            (Kind::Introduced, None) => open = Some(v),
            (Kind::Introduced, Some(_)) => {}
            (Kind::Fixed, Some(start)) => {
                push(start, Some(v), None);
                any = true;
                open = None;
            }
            (Kind::LastAffected, Some(start)) => {
                push(start, None, Some(v));
                any = true;
                open = None;
            }
            // A fix with nothing open before it closes nothing (e.g. a second fixed event of
            // the same interval on another branch).
            (Kind::Fixed | Kind::LastAffected, None) => {}
        }
    }
    if let Some(start) = open {
        push(start, None, None);
        any = true;
    }
    if !any {
        out.skip(
            file,
            0,
            id,
            format_args!("{ecosystem} {package}: range without an introduced event"),
        );
    }
}

/// Severity evidence gathered from a record: the highest CVSS v3 base score and the highest
/// vendor label (Debian urgency, Ubuntu priority, GHSA and Red Hat severity).
#[derive(Default)]
struct Signals {
    cvss: Option<f64>,
    label: Option<Level>,
}

/// How deep `database_specific` / `ecosystem_specific` are searched for severity fields.
const MAX_WALK_DEPTH: usize = 6;

impl Signals {
    fn severity_entry(&mut self, kind: &str, score: &str) {
        match kind {
            "CVSS_V3" => {
                if let Some(s) = cvss3_base_score(score) {
                    self.cvss = Some(self.cvss.map_or(s, |c| c.max(s)));
                }
            }
            // CVSS v4 needs the specification's macro-vector lookup tables; v4-only records
            // fall back to the vendor label or to medium.
            "CVSS_V4" | "CVSS_V2" => {}
            _ => self.label(score),
        }
    }

    fn label(&mut self, text: &str) {
        let level = match text.trim().to_ascii_lowercase().as_str() {
            "critical" | "high" | "important" | "emergency" => Level::High,
            "medium" | "moderate" => Level::Medium,
            "low" | "negligible" | "unimportant" => Level::Low,
            _ => return,
        };
        self.label = Some(self.label.map_or(level, |l| l.max(level)));
    }

    /// Looks for `severity` / `urgency` / `priority` strings and `{type, score}` severity
    /// entries anywhere in a vendor-specific object (Ubuntu nests per-CVE scores in `cves_map`).
    fn walk(&mut self, v: &Value, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        match v {
            Value::Object(map) => {
                if let (Some(Value::String(kind)), Some(Value::String(score))) =
                    (map.get("type"), map.get("score"))
                {
                    self.severity_entry(kind, score);
                }
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("severity" | "urgency" | "priority", Value::String(s)) => self.label(s),
                        (_, Value::Object(_) | Value::Array(_)) => self.walk(value, depth + 1),
                        _ => {}
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// CVSS >= 7.0, a high label, or code execution in an OS package: high. CVSS >= 4.0 or a
    /// medium label: medium. A low score or label: low. Nothing known: medium.
    fn level(&self, rce_in_os_package: bool) -> Level {
        let from_score = self.cvss.map(|s| {
            if s >= 7.0 {
                Level::High
            } else if s >= 4.0 {
                Level::Medium
            } else {
                Level::Low
            }
        });
        let known = match (from_score, self.label) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if rce_in_os_package {
            return Level::High;
        }
        known.unwrap_or(Level::Medium)
    }
}

/// The CVSS v3.0/v3.1 base score of a vector such as `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`,
/// computed with the specification's formula and v3.1 rounding. `None` unless all eight base
/// metrics are present exactly once with valid values; temporal and environmental metrics are
/// ignored.
pub fn cvss3_base_score(vector: &str) -> Option<f64> {
    let mut parts = vector.trim().split('/');
    let prefix = parts.next()?;
    if prefix != "CVSS:3.0" && prefix != "CVSS:3.1" {
        return None;
    }
    let mut m: [Option<&str>; 8] = [None; 8];
    const NAMES: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    for part in parts {
        let (k, v) = part.split_once(':')?;
        if let Some(i) = NAMES.iter().position(|n| *n == k) {
            if m[i].replace(v).is_some() {
                return None;
            }
        }
    }
    let [Some(av), Some(ac), Some(pr), Some(ui), Some(s), Some(c), Some(i), Some(a)] = m else {
        return None;
    };
    let changed = match s {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match av {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match ac {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (pr, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match ui {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |x: &str| match x {
        "H" => Some(0.56),
        "L" => Some(0.22),
        "N" => Some(0.0),
        _ => None,
    };
    let (c, i, a) = (cia(c)?, cia(i)?, cia(a)?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * f64::powi(iss - 0.02, 15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Some(roundup(raw))
}

/// CVSS v3.1 Roundup: the smallest one-decimal number >= x, computed on integers so that
/// floating-point noise (4.000000000001) does not round up a whole step.
fn roundup(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Family;

    #[test]
    fn cvss3_reference_scores() {
        // Scores from the FIRST CVSS v3.1 calculator and NVD.
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L", 7.3),
            ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", 5.4),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
            ("CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9),
            // Temporal metrics are ignored.
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O", 9.8),
        ];
        for (v, want) in cases {
            assert_eq!(cvss3_base_score(v), Some(want), "{v}");
        }
    }

    #[test]
    fn cvss3_rejects_bad_vectors() {
        for v in [
            "",
            "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A",
        ] {
            assert_eq!(cvss3_base_score(v), None, "{v}");
        }
    }

    fn one(json: &str) -> Parsed<Import> {
        parse("t.json", json.as_bytes())
    }

    #[test]
    fn levels_follow_the_rule() {
        let rec = |severity: &str, extra: &str, eco: &str, details: &str| {
            format!(
                r#"{{"id":"X-1","details":"{details}","severity":[{severity}],
                "affected":[{{"package":{{"ecosystem":"{eco}","name":"p"}},{extra}
                "ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}}]}}]}}]}}"#
            )
        };
        let level = |json: String| one(&json).value.advisories[0].level;
        let v3 = |v: &str| format!(r#"{{"type":"CVSS_V3","score":"{v}"}}"#);
        let crit = v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        let med = v3("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N");
        let low = v3("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N");
        assert_eq!(level(rec(&crit, "", "PyPI", "")), Level::High);
        assert_eq!(level(rec(&med, "", "PyPI", "")), Level::Medium);
        assert_eq!(level(rec(&low, "", "PyPI", "")), Level::Low);
        assert_eq!(level(rec("", "", "PyPI", "")), Level::Medium);
        // Debian urgency in ecosystem_specific.
        let urgency = |u: &str| format!(r#""ecosystem_specific":{{"urgency":"{u}"}},"#);
        assert_eq!(
            level(rec("", &urgency("high"), "Debian:12", "")),
            Level::High
        );
        assert_eq!(
            level(rec("", &urgency("unimportant"), "Debian:12", "")),
            Level::Low
        );
        assert_eq!(
            level(rec("", &urgency("not yet assigned"), "Debian:12", "")),
            Level::Medium
        );
        // A low score does not hide a high vendor label, nor the reverse.
        assert_eq!(
            level(rec(&low, &urgency("high"), "Debian:12", "")),
            Level::High
        );
        assert_eq!(
            level(rec(&crit, &urgency("low"), "Debian:12", "")),
            Level::High
        );
        // Ubuntu priority as a severity entry.
        let ubuntu = r#"{"type":"Ubuntu","score":"medium"}"#;
        assert_eq!(
            level(rec(ubuntu, "", "Ubuntu:22.04:LTS", "")),
            Level::Medium
        );
        // Code execution is high in an OS package, not by itself in a library.
        let rce = "allows remote code execution";
        assert_eq!(level(rec(&low, "", "Debian:12", rce)), Level::High);
        assert_eq!(level(rec(&low, "", "PyPI", rce)), Level::Low);
    }

    #[test]
    fn ghsa_database_severity_counts() {
        let p = one(
            r#"{"id":"GHSA-x","database_specific":{"severity":"MODERATE"},
            "affected":[{"package":{"ecosystem":"npm","name":"a"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#,
        );
        assert_eq!(p.value.advisories[0].level, Level::Medium);
    }

    #[test]
    fn ids_put_cves_after_the_record_id() {
        let p = one(
            r#"{"id":"PYSEC-1","aliases":["GHSA-a","CVE-2023-2"],"upstream":["CVE-2023-1","DEBIAN-CVE-2023-1"],
            "affected":[{"package":{"ecosystem":"PyPI","name":"A_B"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2"}]}]}]}"#,
        );
        let a = &p.value.advisories[0];
        assert_eq!(a.ids, ["PYSEC-1", "CVE-2023-1", "CVE-2023-2", "GHSA-a"]);
        assert_eq!(a.ranges[0].package, "a-b");
    }

    #[test]
    fn events_become_intervals() {
        let p = one(
            r#"{"id":"X","affected":[{"package":{"ecosystem":"PyPI","name":"flask"},"ranges":[
              {"type":"GIT","events":[{"introduced":"0"},{"fixed":"abc"}]},
              {"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.2.5"},{"introduced":"2.3.0"},{"fixed":"2.3.2"}]},
              {"type":"ECOSYSTEM","events":[{"introduced":"3.0"},{"last_affected":"3.1"}]},
              {"type":"ECOSYSTEM","events":[{"introduced":"4.0"},{"limit":"5.0"}]}]}]}"#,
        );
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        type Interval<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let got: Vec<Interval> = p.value.advisories[0]
            .ranges
            .iter()
            .map(|r| {
                (
                    r.introduced.as_str(),
                    r.fixed.as_deref(),
                    r.last_affected.as_deref(),
                    r.limit.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("0", Some("2.2.5"), None, None),
                ("2.3.0", Some("2.3.2"), None, None),
                ("3.0", None, Some("3.1"), None),
                ("4.0", None, None, Some("5.0")),
            ]
        );
    }

    #[test]
    fn versions_list_only_without_ranges() {
        let p = one(r#"{"id":"X","affected":[
              {"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"GIT","events":[{"introduced":"0"}]}],"versions":["1.0","1.1"]},
              {"package":{"ecosystem":"PyPI","name":"b"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2"}]}],"versions":["1.0","1.1"]}]}"#);
        let r = &p.value.advisories[0].ranges;
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].introduced.as_str(), r[0].last_affected.as_deref()),
            ("1.0", Some("1.0"))
        );
        assert_eq!(r[2].package, "b");
    }

    #[test]
    fn unsupported_and_withdrawn_are_counted_not_reported() {
        let p = parse(
            "many.json",
            br#"[
              {"id":"GO-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]},
              {"id":"W-1","withdrawn":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]},
              {"id":"N-1","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}
            ]"#,
        );
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        assert_eq!(p.value.withdrawn, 1);
        assert_eq!(p.value.ignored_affected, 1);
        assert_eq!(p.value.advisories.len(), 1);
        assert_eq!(p.value.advisories[0].ids, ["N-1"]);
        assert_eq!(
            p.value.advisories[0].ranges[0].ecosystem.family,
            Family::Npm
        );
    }

    #[test]
    fn bad_records_are_reported_with_file_and_id_and_skipped() {
        let p = parse(
            "dump.json",
            br#"[
              {"id":"BAD-1","affected":"not a list"},
              {"summary":"no id"},
              {"id":"BAD-2","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.0"}]}]}]},
              {"id":"OK-1","summary":"fine","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]},
              17
            ]"#,
        );
        assert_eq!(p.value.advisories.len(), 1);
        assert_eq!(p.value.advisories[0].ids, ["OK-1"]);
        let skipped: Vec<(&str, &str)> = p
            .skipped
            .iter()
            .map(|s| (s.file.as_str(), s.id.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("dump.json", "BAD-1"),
                ("dump.json", ""),
                ("dump.json", "BAD-2"),
                ("dump.json", "")
            ]
        );
        let p = parse("broken.json", b"{\"id\": \"X\", ");
        assert_eq!(p.skipped_total, 1);
        assert!(
            p.skipped[0].reason.starts_with("not JSON"),
            "{}",
            p.skipped[0].reason
        );
    }

    #[test]
    fn nulls_are_tolerated() {
        let p = one(
            r#"{"id":"X","aliases":null,"summary":null,"severity":null,"affected":[
              {"package":{"ecosystem":"crates.io","name":"c"},"versions":null,"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#,
        );
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        assert_eq!(p.value.advisories.len(), 1);
    }

    const GOOD: &str = r#"{"id":"G-1","affected":[{"package":{"ecosystem":"npm","name":"x"},
        "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#;

    #[test]
    fn trees_and_archives_go_on_past_bad_files() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("npm/nested")).unwrap();
        fs::write(root.join("npm/G-1.json"), GOOD).unwrap();
        fs::write(root.join("npm/nested/bad.json"), "{ nope").unwrap();
        fs::write(root.join("npm/README.md"), "not read").unwrap();
        let mut zip = zip::ZipWriter::new(fs::File::create(root.join("all.zip")).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("G-2.json", opts).unwrap();
        zip.write_all(GOOD.replace("G-1", "G-2").as_bytes())
            .unwrap();
        zip.start_file("notes.txt", opts).unwrap();
        zip.write_all(b"ignored").unwrap();
        zip.start_file("broken.json", opts).unwrap();
        zip.write_all(b"[{\"id\": 5}]").unwrap();
        zip.finish().unwrap();
        fs::write(root.join("fake.zip"), "not a zip").unwrap();

        let p = import_path(root).unwrap();
        let mut ids: Vec<&str> = p
            .value
            .advisories
            .iter()
            .map(|a| a.ids[0].as_str())
            .collect();
        ids.sort();
        assert_eq!(ids, ["G-1", "G-2"]);
        assert_eq!(
            p.value.files, 4,
            "two JSON files in the tree, two in the zip"
        );
        let mut files: Vec<String> = p.skipped.iter().map(|s| s.file.clone()).collect();
        files.sort();
        let zip_member = format!("{}/broken.json", root.join("all.zip").display());
        assert_eq!(files.len(), 3, "{:?}", p.skipped);
        assert!(files.contains(&"fake.zip".to_owned()), "{files:?}");
        assert!(
            files.contains(&"npm/nested/bad.json".to_owned()),
            "{files:?}"
        );
        assert!(
            files
                .iter()
                .any(|f| zip_member.ends_with(f.trim_start_matches('…'))),
            "{files:?}"
        );

        assert!(matches!(
            import_path(&root.join("missing")),
            Err(Error::Io { .. })
        ));
        assert!(matches!(
            import_path(&root.join("fake.zip")),
            Err(Error::Zip { .. })
        ));
        let single = import_path(&root.join("npm/G-1.json")).unwrap();
        assert_eq!(single.value.advisories.len(), 1);
    }

    #[test]
    fn summary_falls_back_to_the_first_sentence() {
        let p = one(
            r#"{"id":"X","details":"musl libc 0.9.13 through 1.2.5 has an\nout-of-bounds write. More text.",
            "affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"musl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#,
        );
        assert_eq!(
            p.value.advisories[0].summary,
            "musl libc 0.9.13 through 1.2.5 has an out-of-bounds write"
        );
    }
}
