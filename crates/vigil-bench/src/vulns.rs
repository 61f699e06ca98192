//! `vigil-bench vulns`: the advisory database at the size of a real import. Writes a generated
//! OSV tree shaped like osv.dev's dumps (Debian and Ubuntu records spanning several releases,
//! PyPI and npm records with several intervals, version lists, aliases, CVSS vectors, GIT
//! ranges), then times the import, the compile, the file's load and matching 2,000 installed
//! packages of a Debian 12 host, and prints the database's size.
//!
//! Goals (release build): load < 1 s, match < 100 ms. Ends with one JSON line.

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigil_vuln::{match_packages, osv, Db, DbBuilder, Ecosystem, Family, InstalledPackage};

#[derive(Debug, clap::Args)]
pub struct VulnsArgs {
    /// Generate OSV records until they hold at least this many affected ranges.
    #[arg(long, default_value_t = 220_000)]
    pub ranges: usize,
    /// Installed packages matched (a Debian 12 host).
    #[arg(long, default_value_t = 2_000)]
    pub packages: usize,
    /// Load and match are repeated this many times; the median and the best are printed.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Keep the generated OSV tree and the database here instead of a temporary directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A small deterministic generator (xorshift64*), so every run measures the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const STEMS: [&str; 24] = [
    "lib", "python-", "golang-", "node-", "ruby-", "perl-", "php-", "gst-", "qt", "x11-", "gnome-",
    "kde-", "r-cran-", "haskell-", "ocaml-", "lua-", "tcl", "mesa-", "xserver-", "openjdk-",
    "llvm-", "rust-", "texlive-", "fonts-",
];
const WORDS: [&str; 20] = [
    "ssl", "xml", "png", "jpeg", "curl", "zip", "crypt", "json", "yaml", "http", "sql", "ldap",
    "ssh", "tiff", "gif", "archive", "magick", "image", "markdown", "template",
];

/// Distribution source packages: a few thousand names, as in Debian's security tracker.
fn source_name(i: u64) -> String {
    format!(
        "{}{}{}",
        STEMS[(i % 24) as usize],
        WORDS[((i / 24) % 20) as usize],
        i / 480
    )
}

/// The upstream version a distribution ships for source `i`, and its revision.
fn upstream(i: u64) -> (String, u64) {
    let epoch = if i.is_multiple_of(11) { "1:" } else { "" };
    (
        format!("{epoch}{}.{}.{}", 1 + i % 5, i % 17, i % 9),
        1 + i % 4,
    )
}

fn debian_fixed(i: u64, release: u64, update: u64) -> String {
    let (v, rev) = upstream(i);
    format!("{v}-{rev}+deb{release}u{update}")
}

fn ubuntu_fixed(i: u64, release: &str, update: u64) -> String {
    let (v, rev) = upstream(i);
    let tag = release.replace('.', "");
    format!("{v}-{rev}ubuntu0.{tag}.{update}")
}

fn cvss(rng: &mut Rng) -> Value {
    let pick = |rng: &mut Rng, xs: &[&'static str]| xs[rng.below(xs.len() as u64) as usize];
    let v = format!(
        "CVSS:3.1/AV:{}/AC:{}/PR:{}/UI:{}/S:U/C:{}/I:{}/A:{}",
        pick(rng, &["N", "A", "L"]),
        pick(rng, &["L", "H"]),
        pick(rng, &["N", "L", "H"]),
        pick(rng, &["N", "R"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
        pick(rng, &["H", "L", "N"]),
    );
    json!([{"type": "CVSS_V3", "score": v}])
}

fn details(rng: &mut Rng, what: &str) -> String {
    let effect = [
        "a denial of service",
        "information disclosure",
        "arbitrary code execution",
        "a heap-based buffer overflow",
        "privilege escalation",
    ][rng.below(5) as usize];
    format!(
        "A flaw was found in {what}. A remote attacker could use a crafted input to cause {effect}. \
         This issue affects versions before the fixed release; users are advised to upgrade."
    )
}

/// One OSV record; returns it with the number of affected ranges Vigil will import from it.
fn record(rng: &mut Rng, n: u64) -> (&'static str, String, Value, usize) {
    let cve = format!("CVE-{}-{}", 2016 + n % 10, 10_000 + n);
    match n % 20 {
        // Debian (30 %): one affected entry per release, open-ended where no fix was uploaded.
        0..=5 => {
            let src = rng.below(4_000);
            let package = source_name(src);
            let mut affected = Vec::new();
            let mut count = 0;
            for release in [11u64, 12, 13] {
                if rng.chance(15) {
                    continue;
                }
                let mut events = vec![json!({"introduced": "0"})];
                if !rng.chance(10) {
                    events.push(json!({"fixed": debian_fixed(src, release, 1 + rng.below(6))}));
                }
                let (v, rev) = upstream(src);
                affected.push(json!({
                    "package": {"name": package, "ecosystem": format!("Debian:{release}"),
                                "purl": format!("pkg:deb/debian/{package}?arch=source")},
                    "ranges": [{"type": "ECOSYSTEM", "events": events}],
                    "versions": [format!("{v}-{rev}"), format!("{v}-{rev}+deb{release}u1")],
                    "database_specific": {"source": format!("https://security-tracker.debian.org/tracker/{cve}")},
                }));
                count += 1;
            }
            let id = format!("DEBIAN-{cve}");
            let rec = json!({
                "schema_version": "1.7.3", "id": id, "modified": "2026-03-09T01:23:33Z",
                "upstream": [cve], "details": details(rng, &package), "affected": affected,
            });
            ("Debian", id, rec, count)
        }
        // Ubuntu (25 %): LTS releases and Pro streams, priorities in ecosystem_specific.
        6..=10 => {
            let src = rng.below(4_000);
            let package = source_name(src);
            let mut affected = Vec::new();
            let mut count = 0;
            for (eco, release) in [
                ("Ubuntu:20.04:LTS", "20.04"),
                ("Ubuntu:22.04:LTS", "22.04"),
                ("Ubuntu:24.04:LTS", "24.04"),
                ("Ubuntu:Pro:18.04:LTS", "18.04"),
            ] {
                if rng.chance(25) {
                    continue;
                }
                let mut events = vec![json!({"introduced": "0"})];
                if !rng.chance(15) {
                    events.push(json!({"fixed": ubuntu_fixed(src, release, 1 + rng.below(4))}));
                }
                affected.push(json!({
                    "package": {"name": package, "ecosystem": eco,
                                "purl": format!("pkg:deb/ubuntu/{package}?arch=source")},
                    "ranges": [{"type": "ECOSYSTEM", "events": events}],
                    "ecosystem_specific": {"binaries": [{"binary_name": format!("{package}-bin")}]},
                }));
                count += 1;
            }
            let id = format!("UBUNTU-{cve}");
            let priority = ["low", "medium", "high", "negligible"][rng.below(4) as usize];
            let rec = json!({
                "schema_version": "1.7.3", "id": id, "upstream": [cve],
                "details": details(rng, &package), "severity": cvss(rng),
                "database_specific": {"ubuntu_priority": priority}, "affected": affected,
            });
            ("Ubuntu", id, rec, count)
        }
        // PyPI (25 %): two or three intervals, a version list, a GIT range Vigil ignores.
        11..=15 => {
            let package = format!("py{}-{}", WORDS[rng.below(20) as usize], rng.below(6_000));
            let majors = 2 + rng.below(2);
            let mut ranges = Vec::new();
            for m in 0..majors {
                ranges.push(json!({"type": "ECOSYSTEM", "events": [
                    {"introduced": if m == 0 { "0".to_owned() } else { format!("{m}.0") }},
                    {"fixed": format!("{m}.{}.{}", 1 + rng.below(9), rng.below(9))}]}));
            }
            ranges.push(json!({"type": "GIT", "repo": format!("https://github.com/example/{package}"),
                               "events": [{"introduced": "0"}, {"fixed": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}]}));
            let id = format!("PYSEC-{}-{}", 2016 + n % 10, n);
            let rec = json!({
                "schema_version": "1.7.3", "id": id,
                "aliases": [cve, format!("GHSA-{:04x}-{:04x}-{:04x}", n % 65_536, (n / 7) % 65_536, (n / 13) % 65_536)],
                "details": details(rng, &package),
                "affected": [{"package": {"name": package, "ecosystem": "PyPI",
                                          "purl": format!("pkg:pypi/{package}")},
                              "ranges": ranges,
                              "versions": ["0.1", "0.2", "1.0", "1.0.1", "1.1"]}],
            });
            ("PyPI", id, rec, majors as usize)
        }
        // npm (20 %): GitHub advisories, SEMVER, sometimes last_affected, GHSA severity.
        _ => {
            let package = if rng.chance(30) {
                format!("@scope{}/{}", rng.below(200), WORDS[rng.below(20) as usize])
            } else {
                format!("{}-{}", WORDS[rng.below(20) as usize], rng.below(8_000))
            };
            let mut ranges = vec![json!({"type": "SEMVER", "events": [
                {"introduced": "0"}, {"fixed": format!("{}.{}.{}", rng.below(4), rng.below(20), rng.below(20))}]})];
            if rng.chance(20) {
                ranges.push(json!({"type": "SEMVER", "events": [
                    {"introduced": "5.0.0"}, {"last_affected": format!("5.{}.0", rng.below(9))}]}));
            }
            let count = ranges.len();
            let id = format!(
                "GHSA-{:04x}-{:04x}-{:04x}",
                (n * 31) % 65_536,
                (n * 17) % 65_536,
                n % 65_536
            );
            let severity = ["LOW", "MODERATE", "HIGH", "CRITICAL"][rng.below(4) as usize];
            let rec = json!({
                "schema_version": "1.7.3", "id": id, "aliases": [cve],
                "summary": format!("Prototype pollution in {package}"),
                "details": details(rng, &package), "severity": cvss(rng),
                "affected": [{"package": {"name": package, "ecosystem": "npm"}, "ranges": ranges}],
                "database_specific": {"severity": severity, "github_reviewed": true, "cwe_ids": ["CWE-1321"]},
            });
            ("npm", id, rec, count)
        }
    }
}

/// Writes one JSON file per record under `dir/ECOSYSTEM/`, as osv.dev's dumps unpack.
fn generate(dir: &Path, target_ranges: usize) -> Result<(usize, usize, u64)> {
    for eco in ["Debian", "Ubuntu", "PyPI", "npm"] {
        fs::create_dir_all(dir.join(eco)).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let (mut records, mut ranges, mut bytes) = (0usize, 0usize, 0u64);
    let mut n = 0u64;
    while ranges < target_ranges {
        let (eco, id, rec, count) = record(&mut rng, n);
        n += 1;
        if count == 0 {
            continue;
        }
        let text = serde_json::to_vec_pretty(&rec)?;
        bytes += text.len() as u64;
        fs::write(dir.join(eco).join(format!("{id}.json")), text)?;
        records += 1;
        ranges += count;
    }
    Ok((records, ranges, bytes))
}

/// A Debian 12 host: about a third of its packages come from sources the advisories name,
/// at versions below, between and above the fixes; the rest are unknown to them.
fn host_packages(count: usize) -> Vec<InstalledPackage> {
    let mut rng = Rng(0xfeed_beef_1234_5678);
    (0..count)
        .map(|i| {
            if i % 3 == 0 {
                let src = rng.below(4_000);
                let source = source_name(src);
                let version = match rng.below(3) {
                    0 => {
                        let (v, rev) = upstream(src);
                        format!("{v}-{rev}")
                    }
                    1 => debian_fixed(src, 12, 1 + rng.below(3)),
                    _ => debian_fixed(src, 12, 9),
                };
                InstalledPackage {
                    name: format!("{source}-bin"),
                    version: version.clone(),
                    source_name: Some(source),
                    source_version: Some(version),
                }
            } else {
                InstalledPackage {
                    name: format!("unrelated-package-{i}"),
                    version: format!("{}.{}-1", i % 7, i % 13),
                    source_name: None,
                    source_version: None,
                }
            }
        })
        .collect()
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn run(args: VulnsArgs) -> Result<()> {
    ensure!(args.rounds > 0, "--rounds must be at least 1");
    let tmp = tempfile::tempdir()?;
    let base = args.out.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let osv_dir = base.join("osv");
    let db_path = base.join("vulndb.bin");
    if cfg!(debug_assertions) {
        println!("note: a debug build; the goals are for `cargo run --release -p vigil-bench`");
    }

    let (generated, gen_time) = timed(|| generate(&osv_dir, args.ranges));
    let (records, generated_ranges, json_bytes) = generated?;
    println!(
        "generated {records} OSV records ({generated_ranges} affected ranges, {:.0} MB of JSON) in {:.1} s",
        json_bytes as f64 / 1e6,
        gen_time.as_secs_f64()
    );

    let (parsed, import_time) = timed(|| osv::import_path(&osv_dir));
    let parsed = parsed.context("importing the generated tree")?;
    ensure!(
        parsed.skipped_total == 0,
        "generated records were skipped: {:?}",
        parsed.skipped.first()
    );
    let advisories = parsed.value.advisories;
    let imported_ranges: usize = advisories.iter().map(|a| a.ranges.len()).sum();
    let (db, build_time) = timed(|| {
        let mut b = DbBuilder::new();
        b.add_source("osv", 1_795_000_000, advisories);
        b.build()
    });
    let db = db?;
    let (saved, save_time) = timed(|| db.save(&db_path));
    saved?;
    let size = fs::metadata(&db_path)?.len();
    drop(db);

    let mut loads = Vec::new();
    let mut db = None;
    for _ in 0..args.rounds {
        let (loaded, t) = timed(|| Db::load(&db_path));
        loads.push(t);
        db = Some(loaded?);
    }
    let db = db.context("no round ran")?;

    let host = Ecosystem::new(Family::Debian, Some("12"));
    let installed = host_packages(args.packages);
    let mut matches = Vec::new();
    let mut findings = 0;
    for _ in 0..args.rounds {
        let (f, t) = timed(|| match_packages(&db, &host, &installed));
        matches.push(t);
        findings = f.len();
    }

    let (load_med, load_best) = (
        median(loads.clone()),
        loads.iter().min().copied().unwrap_or_default(),
    );
    let (match_med, match_best) = (
        median(matches.clone()),
        matches.iter().min().copied().unwrap_or_default(),
    );
    println!(
        "import (parse {} files): {:>8.0} ms   ({:.0} records/s)",
        records,
        ms(import_time),
        records as f64 / import_time.as_secs_f64()
    );
    println!(
        "compile:                 {:>8.0} ms   {} advisories, {} ranges",
        ms(build_time),
        db.advisory_count(),
        db.range_count()
    );
    println!("save:                    {:>8.0} ms", ms(save_time));
    println!(
        "file size:               {:>8.1} MB   ({:.1} bytes per range; the JSON was {:.0} MB)",
        size as f64 / 1e6,
        size as f64 / db.range_count().max(1) as f64,
        json_bytes as f64 / 1e6
    );
    let verdict = |d: Duration, goal_ms: f64| if ms(d) < goal_ms { "ok" } else { "MISSED" };
    println!(
        "load:                    {:>8.1} ms   median of {} (best {:.1} ms); goal < 1000 ms: {}",
        ms(load_med),
        args.rounds,
        ms(load_best),
        verdict(load_med, 1000.0)
    );
    println!(
        "match {} packages:     {:>8.2} ms   median of {} (best {:.2} ms), {findings} findings; goal < 100 ms: {}",
        installed.len(),
        ms(match_med),
        args.rounds,
        ms(match_best),
        verdict(match_med, 100.0)
    );
    if args.out.is_some() {
        println!("kept: {} and {}", osv_dir.display(), db_path.display());
    }
    println!(
        "{}",
        json!({
            "bench": "vulns",
            "records": records,
            "ranges_generated": generated_ranges,
            "ranges_imported": imported_ranges,
            "advisories": db.advisory_count(),
            "import_ms": ms(import_time),
            "build_ms": ms(build_time),
            "save_ms": ms(save_time),
            "size_bytes": size,
            "load_ms": ms(load_med),
            "packages": installed.len(),
            "match_ms": ms(match_med),
            "findings": findings,
        })
    );
    Ok(())
}
