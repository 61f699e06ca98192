//! Deterministic fuzzing of every parser of untrusted input: mutated and truncated fixtures,
//! random bytes, and randomly assembled OSV-shaped JSON. Nothing may panic, skip lists stay
//! bounded, and whatever the OSV importer accepts must compile into a database and match.
//!
//! The generator is seeded, so a failure reproduces; `VIGIL_FUZZ_ROUNDS` raises the effort.

use std::io::Cursor;

use vigil_vuln::debian;
use vigil_vuln::lockfiles::{self, LockfileKind};
use vigil_vuln::{
    match_packages, osv, Db, DbBuilder, Ecosystem, Family, InstalledPackage, Parsed, MAX_SKIPS,
};

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
        .as_slice()
    };
}

const FIXTURES: &[&[u8]] = &[
    fixture!("osv/DLA-3008-1.json"),
    fixture!("osv/GHSA-whgm-jr23-g3j9.json"),
    fixture!("osv/PYSEC-2023-62.json"),
    fixture!("osv/ALPINE-CVE-2025-26519.json"),
    fixture!("debian/openssl.changelog"),
    fixture!("debian/jq.changelog"),
    fixture!("debian/bookworm-security_Packages"),
    fixture!("lockfiles/package-lock.v3.json"),
    fixture!("lockfiles/poetry.lock"),
    fixture!("lockfiles/Cargo.lock"),
];

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn rounds(default: usize) -> usize {
    std::env::var("VIGIL_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn check_bounded<T>(p: &Parsed<T>) {
    assert!(p.skipped.len() <= MAX_SKIPS);
    assert_eq!(p.skipped.len(), p.skipped_total.min(MAX_SKIPS));
    for s in &p.skipped {
        assert!(
            !s.reason.contains('\n') || s.reason.len() < 2000,
            "{:?}",
            s.reason
        );
        assert!(s.file.chars().count() <= 121 && s.id.chars().count() <= 61);
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b":",
        b",",
        b"null",
        b"0",
        b"\n",
        b"\n\n",
        b" (",
        b")",
        b"; urgency=",
        b"CVE-",
        b"CVE-2024-",
        b"GHSA-",
        b"\xff\xfe",
        b"\\",
        b"\"introduced\":",
        b"\"fixed\":",
        b"\"ranges\":",
        b"\"events\":",
        b"\"versions\":",
        b" -- ",
        b"Source: ",
        b"[[package]]\n",
        b"==",
        b"node_modules/",
        b"\"\"",
    ];
    let mut out = input.to_vec();
    for _ in 0..=rng.below(8) {
        if out.is_empty() {
            let token: &&[u8] = rng.pick(TOKENS);
            out.extend(token.iter().copied());
            continue;
        }
        let at = rng.below(out.len());
        match rng.below(6) {
            0 => out[at] = rng.next() as u8,
            1 => out.truncate(at),
            2 => {
                let t = rng.pick(TOKENS);
                out.splice(at..at, t.iter().copied());
            }
            3 => {
                let end = (at + rng.below(64)).min(out.len());
                out.drain(at..end);
            }
            4 => {
                let end = (at + rng.below(256)).min(out.len());
                let chunk = out[at..end].to_vec();
                let to = rng.below(out.len());
                out.splice(to..to, chunk);
            }
            _ => out[at] ^= 1 << rng.below(8),
        }
    }
    out
}

/// Every parser on one input. Returns the OSV advisories it yielded.
fn run_all(bytes: &[u8]) -> usize {
    let p = osv::parse("fuzz.json", bytes);
    check_bounded(&p);
    let advisories = p.value.advisories;
    let n = advisories.len();
    if n > 0 {
        // Whatever was accepted must compile, round-trip and match without panicking.
        let mut b = DbBuilder::new();
        b.add_source("fuzz", 0, advisories.clone());
        let db = b.build().unwrap();
        let back = Db::from_bytes(&db.to_bytes()).unwrap();
        for a in &advisories {
            for r in &a.ranges {
                let pkg = InstalledPackage {
                    name: r.package.clone(),
                    version: r.introduced.clone(),
                    source_name: None,
                    source_version: None,
                };
                let _ = match_packages(&back, &r.ecosystem, &[pkg]);
            }
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let c = debian::parse_changelog(&text);
    check_bounded(&c);
    let _ = debian::pending(&c.value, "1.0-1");
    let _ = debian::changelog_advisories(&c.value, "12");
    let idx = debian::parse_packages(&text);
    check_bounded(&idx);
    let _ = debian::source_updates(&idx.value);
    for kind in [
        LockfileKind::Requirements,
        LockfileKind::PoetryLock,
        LockfileKind::PackageLock,
        LockfileKind::CargoLock,
    ] {
        check_bounded(&lockfiles::parse(kind, &text));
    }
    let _ = Db::from_bytes(bytes);
    n
}

#[test]
fn fixtures_mutated_and_truncated() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for fixture in FIXTURES {
        run_all(fixture);
        for cut in (0..fixture.len()).step_by(fixture.len() / 97 + 1) {
            run_all(&fixture[..cut]);
        }
        for _ in 0..rounds(150) {
            run_all(&mutate(&mut rng, fixture));
        }
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    for _ in 0..rounds(300) {
        let len = rng.below(2048);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        run_all(&bytes);
    }
    // Huge lines and deep nesting.
    run_all(&vec![b'a'; 1 << 20]);
    run_all(&[b'['; 100_000]);
    run_all(format!("{}{}", "[".repeat(120), "]".repeat(120)).as_bytes());
}

/// OSV-shaped JSON with random types and values in the places the importer reads.
fn random_json(rng: &mut Rng, depth: usize) -> String {
    const VERSIONS: &[&str] = &[
        "0",
        "1.0",
        "1.0~rc1",
        "1:2.0-1",
        "2.0.0-rc.1",
        "",
        "*",
        "v1",
        "1.2.4_git2023-r5",
        "\u{202e}9",
    ];
    const ECOSYSTEMS: &[&str] = &[
        "Debian:12",
        "npm",
        "PyPI",
        "crates.io",
        "Alpine:v3.19",
        "Rocky Linux:9",
        "Go",
        "Debian",
        "Ubuntu:Pro:20.04:LTS",
        "",
    ];
    const VECTORS: &[&str] = &[
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "garbage",
    ];
    let scalar = |rng: &mut Rng| -> String {
        match rng.below(6) {
            0 => "null".into(),
            1 => rng.next().to_string(),
            2 => "true".into(),
            3 => format!("{:?}", rng.pick(VERSIONS)),
            4 => "[]".into(),
            _ => "{}".into(),
        }
    };
    if depth > 3 {
        return scalar(rng);
    }
    let event = |rng: &mut Rng| -> String {
        let key = rng.pick(&["introduced", "fixed", "last_affected", "limit", "other"]);
        if rng.below(8) == 0 {
            format!(r#"{{"{key}":{}}}"#, scalar(rng))
        } else {
            format!(r#"{{"{key}":{:?}}}"#, rng.pick(VERSIONS))
        }
    };
    let range = |rng: &mut Rng| -> String {
        let events: Vec<String> = (0..rng.below(5)).map(|_| event(rng)).collect();
        let kind = rng.pick(&["ECOSYSTEM", "SEMVER", "GIT", "x"]);
        format!(r#"{{"type":"{kind}","events":[{}]}}"#, events.join(","))
    };
    let affected = |rng: &mut Rng| -> String {
        let ranges: Vec<String> = (0..rng.below(3)).map(|_| range(rng)).collect();
        let versions: Vec<String> = (0..rng.below(3))
            .map(|_| format!("{:?}", rng.pick(VERSIONS)))
            .collect();
        format!(
            r#"{{"package":{{"ecosystem":{:?},"name":{:?}}},"ranges":[{}],"versions":[{}],"ecosystem_specific":{{"urgency":{:?}}}}}"#,
            rng.pick(ECOSYSTEMS),
            rng.pick(&["p", "Flask_X", "", "@s/x"]),
            ranges.join(","),
            versions.join(","),
            rng.pick(&["high", "low", "unimportant", "x"]),
        )
    };
    let affected_list: Vec<String> = (0..rng.below(4)).map(|_| affected(rng)).collect();
    let id = if rng.below(10) == 0 {
        scalar(rng)
    } else {
        format!("\"X-{}\"", rng.below(100))
    };
    let severity = format!(r#"[{{"type":"CVSS_V3","score":{:?}}}]"#, rng.pick(VECTORS));
    let inner = if rng.below(4) == 0 {
        random_json(rng, depth + 1)
    } else {
        "1".into()
    };
    let alias = if rng.below(10) == 0 {
        scalar(rng)
    } else {
        "\"GHSA-xxxx\"".into()
    };
    format!(
        r#"{{"id":{id},"aliases":["CVE-2024-1",{}],"summary":{:?},"severity":{severity},"affected":[{}],"database_specific":{{"severity":"HIGH","nested":{inner}}}}}"#,
        alias,
        rng.pick(&["remote code execution", "", "x\n\u{0}y"]),
        affected_list.join(","),
    )
}

#[test]
fn osv_shaped_json() {
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    let mut accepted = 0;
    for _ in 0..rounds(1500) {
        let doc = random_json(&mut rng, 0);
        accepted += run_all(doc.as_bytes());
        let array = format!("[{doc},{}]", random_json(&mut rng, 0));
        accepted += run_all(array.as_bytes());
    }
    // The generator is not so hostile that nothing gets through.
    assert!(accepted > 100, "only {accepted} advisories accepted");
}

#[test]
fn mutated_zip_archives() {
    let zip = fixture!("osv-zip/all.zip");
    let mut rng = Rng(0x5eed_1234_abcd_0004);
    let ok = osv::import_zip("all.zip", Cursor::new(zip)).unwrap();
    assert_eq!(ok.value.advisories.len(), 4);
    for _ in 0..rounds(300) {
        let bytes = mutate(&mut rng, zip);
        if let Ok(p) = osv::import_zip("all.zip", Cursor::new(bytes)) {
            check_bounded(&p);
        }
    }
}

#[test]
fn hostile_but_valid_osv() {
    // A record whose events are all in the wrong order and whose versions are odd.
    let json = br#"{"id":"ODD-1","affected":[{"package":{"ecosystem":"Debian:12","name":"p"},
      "ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"2"},{"introduced":"3"},{"fixed":"1"},{"introduced":"0"},{"limit":"9"},{"last_affected":"5"}]}]}]}"#;
    let p = osv::parse("odd.json", json);
    check_bounded(&p);
    let mut b = DbBuilder::new();
    b.add_source("odd", 0, p.value.advisories);
    let db = b.build().unwrap();
    let eco = Ecosystem::new(Family::Debian, Some("12"));
    let found = |v: &str| {
        !match_packages(
            &db,
            &eco,
            &[InstalledPackage {
                name: "p".into(),
                version: v.into(),
                ..Default::default()
            }],
        )
        .is_empty()
    };
    // Sorted: 0 introduced, 1 fixed, 2 fixed, 3 introduced, 5 last_affected; limit 9.
    assert!(found("0.5"));
    assert!(!found("1.5"));
    assert!(found("3"));
    assert!(found("5"));
    assert!(!found("6"));
}
