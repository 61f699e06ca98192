//! A database of the size of a full Debian + language-ecosystem import (200,000 ranges) and a
//! host with 2,000 packages: load and match must give the right answers, and the timings are
//! printed (`cargo test --release -p vigil-vuln --test scale -- --nocapture`).
//!
//! Timings are only asserted when `VIGIL_VULN_TIMING=1` (goals: load < 1 s, match < 100 ms, in
//! a release build); unit tests otherwise never fail on a slow machine.

use std::time::{Duration, Instant};

use vigil_vuln::{
    match_packages, Advisory, AffectedRange, Db, DbBuilder, Ecosystem, Family, InstalledPackage,
    Level,
};

const PACKAGES: usize = 20_000;
const ADVISORIES: usize = 100_000;

fn generate() -> Vec<Advisory> {
    let deb12 = Ecosystem::new(Family::Debian, Some("12"));
    let deb11 = Ecosystem::new(Family::Debian, Some("11"));
    (0..ADVISORIES)
        .map(|i| {
            let package = format!("src{}", i % PACKAGES);
            // Each package gets five advisories, fixed in successive uploads.
            let upload = i / PACKAGES + 1;
            let range = |ecosystem: &Ecosystem, fixed: String| AffectedRange {
                ecosystem: ecosystem.clone(),
                package: package.clone(),
                introduced: "0".into(),
                fixed: Some(fixed),
                last_affected: None,
                limit: None,
            };
            Advisory {
                ids: vec![
                    format!("DEBIAN-CVE-2024-{i:05}"),
                    format!("CVE-2024-{i:05}"),
                ],
                summary: format!("flaw number {i} in {package}"),
                level: if i % 3 == 0 {
                    Level::High
                } else {
                    Level::Medium
                },
                rce: i % 7 == 0,
                ranges: vec![
                    range(&deb12, format!("1.{}-1+deb12u{upload}", i % PACKAGES)),
                    range(&deb11, format!("1.{}-1+deb11u{upload}", i % PACKAGES)),
                ],
            }
        })
        .collect()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    eprintln!("{what}: {took:?}");
    (out, took)
}

#[test]
fn two_hundred_thousand_ranges() {
    let advisories = generate();
    let (db, _) = timed("build", || {
        let mut b = DbBuilder::new();
        b.add_source("synthetic", 0, advisories);
        b.build().unwrap()
    });
    assert_eq!(db.range_count(), 2 * ADVISORIES);
    let bytes = db.to_bytes();
    eprintln!("file size: {} bytes", bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.vdb");
    db.save(&path).unwrap();
    drop(db);
    let (db, load) = timed("load 200,000 ranges", || Db::load(&path).unwrap());

    // 2,000 installed packages: every 10th source, at upload 3 of 5 (two advisories fixed,
    // three pending), as two binaries each.
    let installed: Vec<InstalledPackage> = (0..1_000)
        .flat_map(|k| {
            let n = k * 10;
            let version = format!("1.{n}-1+deb12u3");
            ["lib", "bin"].map(|prefix| InstalledPackage {
                name: format!("{prefix}{n}"),
                version: version.clone(),
                source_name: Some(format!("src{n}")),
                source_version: Some(version.clone()),
            })
        })
        .collect();
    assert_eq!(installed.len(), 2_000);
    let host = Ecosystem::for_host("debian", "12").unwrap();
    let (findings, matching) = timed("match 2,000 packages", || {
        match_packages(&db, &host, &installed)
    });
    // Uploads 4 and 5 are above u3: two findings per binary.
    assert_eq!(findings.len(), 2 * 2_000);
    assert!(findings.iter().all(|f| f
        .fixed
        .as_deref()
        .is_some_and(|v| v.ends_with("u4") || v.ends_with("u5"))));

    if std::env::var("VIGIL_VULN_TIMING").as_deref() == Ok("1") {
        assert!(load < Duration::from_secs(1), "load took {load:?}");
        assert!(
            matching < Duration::from_millis(100),
            "match took {matching:?}"
        );
    }
}
