//! The `vigil` binary's vulnerability commands as an operator runs them: `vulndb import` of
//! osv.dev records (vigil-vuln's fixtures), `vulndb status`, `scan vulns` of a fake system tree
//! with application lock files, the errors a missing or damaged database or package database
//! give, and `vulndb update --source apt` for real against this machine's apt security suite.

use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vigil-vuln/tests/fixtures")
}

fn vigil(args: &[&str]) -> Output {
    Command::new(VIGIL)
        .args(args)
        // The default data directory must not leak in from the environment.
        .env_remove("VIGIL_DATA")
        .output()
        .expect("run vigil")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    o
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The fields the issue asks for (plus the lock file), so the comparison is exact on them.
fn essentials(v: &Value) -> Value {
    let mut out = json!({});
    for k in [
        "record",
        "ecosystem",
        "package",
        "installed",
        "fixed",
        "ids",
        "level",
        "fix",
        "path",
    ] {
        if let Some(x) = v.get(k) {
            out[k] = x.clone();
        }
    }
    out
}

const DEBIAN_9_STATUS: &str = "\
Package: openssl
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 1.1.0l-1~deb9u5
Description: Secure Sockets Layer toolkit
 This package contains the openssl binary.

Package: libssl1.1
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 1.1.0l-1~deb9u6

Package: bash
Status: install ok installed
Architecture: amd64
Version: 4.4-5

Package: old-removed
Status: deinstall ok config-files
Architecture: amd64
Source: openssl
Version: 1.0.0-1

";

/// A Debian 9 tree (its os-release reached through an absolute symlink, as on real systems)
/// and an application directory with an npm and a pip lock file, plus a symlink to a lock file
/// outside it that must not be followed.
fn fake_system(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("root");
    for d in ["etc", "usr/lib", "var/lib/dpkg"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(
        root.join("usr/lib/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 9 (stretch)\"\nID=debian\nVERSION_ID=\"9\"\nVERSION_CODENAME=stretch\n",
    )
    .unwrap();
    symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
    fs::write(root.join("var/lib/dpkg/status"), DEBIAN_9_STATUS).unwrap();

    let app = dir.join("app");
    fs::create_dir_all(app.join("web")).unwrap();
    fs::create_dir_all(app.join("api")).unwrap();
    fs::copy(
        fixtures().join("lockfiles/package-lock.v3.json"),
        app.join("web/package-lock.json"),
    )
    .unwrap();
    fs::write(
        app.join("api/requirements.txt"),
        "flask==2.2.4\nrequests>=2\n",
    )
    .unwrap();
    let outside = dir.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("requirements.txt"), "flask==0.1\n").unwrap();
    symlink(&outside, app.join("linked")).unwrap();
    (root, app)
}

fn expected_findings(app: &Path) -> Vec<Value> {
    vec![
        // openssl below the DLA's fixed version; libssl1.1 (same source) at the backported fix
        // and the removed package are not findings.
        json!({"record":"vuln","ecosystem":"Debian:9","package":"openssl","installed":"1.1.0l-1~deb9u5",
               "fixed":"1.1.0l-1~deb9u6","ids":["DLA-3008-1","CVE-2022-1292"],"level":"medium",
               "fix":"apt-get install --only-upgrade openssl"}),
        json!({"record":"vuln","ecosystem":"PyPI","package":"flask","installed":"2.2.4","fixed":"2.2.5",
               "ids":["PYSEC-2023-62","CVE-2023-30861","GHSA-m2qf-hxjv-5gpq"],"level":"medium",
               "fix":"pip install 'flask>=2.2.5'","path": s(&app.join("api/requirements.txt"))}),
        json!({"record":"vuln","ecosystem":"npm","package":"ansi-html","installed":"0.0.7","fixed":"0.0.8",
               "ids":["GHSA-whgm-jr23-g3j9","CVE-2021-23424"],"level":"high",
               "fix":"npm install ansi-html@0.0.8","path": s(&app.join("web/package-lock.json"))}),
    ]
}

#[test]
fn import_status_and_scan_a_fake_system() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/vulndb.bin");
    let osv = fixtures().join("osv");

    let out = stdout(&ok(vigil(&["vulndb", "import", s(&osv), "--db", s(&db)])));
    assert!(
        out.starts_with("imported 4 advisories (13 affected ranges) from 4 JSON file(s)"),
        "{out}"
    );
    assert!(out.contains("skipped: 0"), "{out}");

    // Importing the same records as osv.dev's zip replaces each family: no duplicates.
    let zip = fixtures().join("osv-zip/all.zip");
    ok(vigil(&["vulndb", "import", s(&zip), "--db", s(&db)]));
    let status = json_lines(&ok(vigil(&["vulndb", "status", "--json", "--db", s(&db)])));
    assert_eq!(status.len(), 1);
    let st = &status[0];
    assert_eq!(st["record"], "vulndb");
    assert_eq!(st["format"], 1);
    assert_eq!(
        (st["advisories"].as_u64(), st["ranges"].as_u64()),
        (Some(4), Some(13))
    );
    assert_eq!(
        st["size_bytes"].as_u64(),
        Some(fs::metadata(&db).unwrap().len())
    );
    let names: Vec<&str> = st["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["osv:Debian", "osv:Alpine", "osv:PyPI", "osv:npm"]);
    let alpine = &st["sources"][1];
    assert_eq!(
        (alpine["advisories"].as_u64(), alpine["ranges"].as_u64()),
        (Some(1), Some(9))
    );
    assert_eq!(alpine["stale"], false);
    assert!(alpine["age_secs"].as_i64().unwrap() < 600);
    let human = stdout(&ok(vigil(&["vulndb", "status", "--db", s(&db)])));
    assert!(human.contains("format 1"), "{human}");
    assert!(human.contains("osv:npm"), "{human}");

    // The default path is the data directory's vulndb.bin, as for `vigil up --data`.
    let data = dir.path().join("data");
    ok(vigil(&["vulndb", "status", "--data", s(&data)]));

    let (root, app) = fake_system(dir.path());
    let scan = ok(vigil(&[
        "scan",
        "vulns",
        "--root",
        s(&root),
        "--app-path",
        s(&app),
        "--data",
        s(&data),
        "--json",
    ]));
    let findings = json_lines(&scan);
    let got: Vec<Value> = findings.iter().map(essentials).collect();
    assert_eq!(got, expected_findings(&app));
    assert_eq!(findings[0]["source"], "openssl");
    assert_eq!(findings[0]["restart"], true);
    assert!(findings.iter().all(|f| f["rce"] == false));
    // The pip line without a pin is noted, not an error.
    assert!(stderr(&scan).contains("requests>=2"), "{}", stderr(&scan));

    // The readable report: grouped by level, the fix commands, the restart note, a summary.
    let human = ok(vigil(&[
        "scan",
        "vulns",
        "--root",
        s(&root),
        "--app-path",
        s(&app),
        "--db",
        s(&db),
    ]));
    let text = stdout(&human);
    let high = text
        .find("HIGH: 1 finding(s) in 1 package(s)")
        .expect(&text);
    let medium = text
        .find("MEDIUM: 2 finding(s) in 2 package(s)")
        .expect(&text);
    assert!(high < medium, "{text}");
    assert!(
        text.contains("  apt-get install --only-upgrade openssl\n"),
        "{text}"
    );
    assert!(text.contains("npm install ansi-html@0.0.8"), "{text}");
    assert!(
        text.contains("restart: running programs keep the old code of openssl"),
        "{text}"
    );
    assert_eq!(
        text.lines().last(),
        Some("summary: 3 finding(s) in 3 of 8 packages: 1 high, 2 medium, 0 low"),
        "{text}"
    );

    // An OSV directory or zip works as --db directly, with the same findings.
    for direct in [&osv, &zip] {
        let o = ok(vigil(&[
            "scan",
            "vulns",
            "--root",
            s(&root),
            "--app-path",
            s(&app),
            "--db",
            s(direct),
            "--json",
        ]));
        let got: Vec<Value> = json_lines(&o).iter().map(essentials).collect();
        assert_eq!(got, expected_findings(&app), "{}", direct.display());
    }
}

#[test]
fn alpine_tree_and_a_lock_file_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::write(
        root.join("etc/os-release"),
        "ID=alpine\nVERSION_ID=3.19.1\n",
    )
    .unwrap();
    fs::write(
        root.join("lib/apk/db/installed"),
        "P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\n\nP:musl-utils\nV:1.2.4_git20230717-r5\no:musl\n\n",
    )
    .unwrap();
    let req = dir.path().join("requirements.txt");
    fs::write(&req, "Flask==2.3.2\n").unwrap();
    let db = fixtures().join("osv");
    let o = ok(vigil(&[
        "scan",
        "vulns",
        "--root",
        s(&root),
        "--app-path",
        s(&req),
        "--db",
        s(&db),
        "--json",
    ]));
    let got: Vec<Value> = json_lines(&o).iter().map(essentials).collect();
    assert_eq!(
        got,
        [
            json!({"record":"vuln","ecosystem":"Alpine:v3.19","package":"musl",
                "installed":"1.2.4_git20230717-r4","fixed":"1.2.4_git20230717-r5",
                "ids":["ALPINE-CVE-2025-26519","CVE-2025-26519"],"level":"high",
                "fix":"apk upgrade musl"})
        ]
    );
}

#[test]
fn missing_and_damaged_databases_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = fake_system(dir.path());
    let db = dir.path().join("vulndb.bin");

    for args in [
        vec!["scan", "vulns", "--root", s(&root), "--db", s(&db)],
        vec!["vulndb", "status", "--db", s(&db)],
    ] {
        let o = vigil(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("no advisory database at {}", db.display())),
            "{err}"
        );
        assert!(err.contains("vigil vulndb update --source apt"), "{err}");
        assert!(err.contains("vigil vulndb import"), "{err}");
    }

    ok(vigil(&[
        "vulndb",
        "import",
        s(&fixtures().join("osv")),
        "--db",
        s(&db),
    ]));
    let good = fs::read(&db).unwrap();

    // A failed import (no OSV record in the directory) leaves the database as it was.
    let not_osv = dir.path().join("not-osv");
    fs::create_dir(&not_osv).unwrap();
    fs::write(not_osv.join("x.json"), "{\"hello\": 1}").unwrap();
    let o = vigil(&["vulndb", "import", s(&not_osv), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("x.json: not an OSV record"), "{err}");
    assert!(err.contains("the database is unchanged"), "{err}");
    assert_eq!(fs::read(&db).unwrap(), good);

    // One flipped byte: the checksum catches it.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x20;
    fs::write(&db, &bad).unwrap();
    for args in [
        vec![
            "scan",
            "vulns",
            "--root",
            s(&root),
            "--db",
            s(&db),
            "--json",
        ],
        vec!["vulndb", "status", "--db", s(&db)],
    ] {
        let o = vigil(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "{}: advisory database checksum mismatch",
                db.display()
            )),
            "{err}"
        );
        assert!(err.contains("rebuild it with"), "{err}");
    }
    // Cut short, and not a database at all.
    fs::write(&db, &good[..good.len() / 2]).unwrap();
    let err = stderr(&vigil(&["vulndb", "status", "--db", s(&db)]));
    assert!(err.contains("truncated"), "{err}");
    fs::write(&db, "VIGILVD").unwrap();
    assert!(stderr(&vigil(&["vulndb", "status", "--db", s(&db)])).contains("truncated"));
    fs::write(&db, "hello world, not a database").unwrap();
    let err = stderr(&vigil(&["vulndb", "status", "--db", s(&db)]));
    assert!(err.contains("not a Vigil advisory database"), "{err}");

    // An import does not throw away a database it cannot read (its other sources).
    let o = vigil(&[
        "vulndb",
        "import",
        s(&fixtures().join("osv")),
        "--db",
        s(&db),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("move it away"), "{}", stderr(&o));
}

#[test]
fn damaged_package_databases_are_reported_with_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = fake_system(dir.path());
    let status = root.join("var/lib/dpkg/status");
    let osv = fixtures().join("osv");

    // Cut in the middle of the `bash` entry's Version line.
    let cut = DEBIAN_9_STATUS.find("Version: 4.4-5").unwrap() + "Version: 4.".len();
    fs::write(&status, &DEBIAN_9_STATUS[..cut]).unwrap();
    let o = vigil(&[
        "scan",
        "vulns",
        "--root",
        s(&root),
        "--db",
        s(&osv),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:18 (package bash): the file ends in the middle of a line: truncated?",
            status.display()
        )),
        "{err}"
    );
    assert!(err.contains("findings may be incomplete"), "{err}");
    // What could be read is still reported.
    let got: Vec<Value> = json_lines(&o).iter().map(essentials).collect();
    assert_eq!(got[..], expected_findings(Path::new("/"))[..1]);

    // A stanza without its Version.
    fs::write(
        &status,
        "Package: openssl\nStatus: install ok installed\nVersion: 1.1.0l-1~deb9u5\n\nPackage: zlib1g\nStatus: install ok installed\n\n",
    )
    .unwrap();
    let o = vigil(&["scan", "vulns", "--root", s(&root), "--db", s(&osv)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:5 (package zlib1g): installed stanza without Package or Version",
            status.display()
        )),
        "{err}"
    );

    // No package database at all where os-release says Debian.
    fs::remove_file(&status).unwrap();
    let o = vigil(&["scan", "vulns", "--root", s(&root), "--db", s(&osv)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("var/lib/dpkg/status is missing"),
        "{}",
        stderr(&o)
    );

    // Nothing to scan is an error, not "no vulnerabilities".
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let o = vigil(&["scan", "vulns", "--root", s(&empty), "--db", s(&osv)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nothing to check"), "{}", stderr(&o));
}

/// The security suite's binary package names `apt list --upgradable` reports on this machine.
fn apt_security_upgrades() -> Vec<String> {
    let out = Command::new("apt")
        .args(["list", "--upgradable"])
        .env("LC_ALL", "C")
        .output()
        .expect("run apt list");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("-security"))
        .filter_map(|l| l.split('/').next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `vulndb update --source apt` against this machine's apt lists and mirror, for real. CI runs
/// on this machine, whose apt sources include the security suite: a missing index is a failure,
/// not a skip. Two changelogs are downloaded (the smallest packages), the other pending sources
/// get index-only advisories; every security upgrade apt knows must then be a finding.
#[test]
fn apt_source_on_this_machine() {
    let started = Instant::now();
    let lists = fs::read_dir("/var/lib/apt/lists").expect("/var/lib/apt/lists");
    let index: Vec<String> = lists
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-security") && n.contains("_Packages"))
        .collect();
    assert!(
        !index.is_empty(),
        "no security suite Packages index under /var/lib/apt/lists: run `apt-get update` with the security suite in apt's sources"
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vulndb.bin");
    // A source already in the database is kept.
    ok(vigil(&[
        "vulndb",
        "import",
        s(&fixtures().join("osv/PYSEC-2023-62.json")),
        "--db",
        s(&db),
    ]));
    let o = ok(vigil(&[
        "vulndb",
        "update",
        "--source",
        "apt",
        "--max-downloads",
        "2",
        "--db",
        s(&db),
    ]));
    let out = stdout(&o);
    let err = stderr(&o);
    let pending: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("this host: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pending count in\n{out}"));
    let fetched = pending.min(2);
    assert!(
        out.contains(&format!("from {fetched} changelog(s)")),
        "{out}\n{err}"
    );
    if fetched > 0 {
        assert!(
            err.contains(&format!("changelogs: {fetched}/{fetched} source packages")),
            "{err}"
        );
    }

    let status = json_lines(&ok(vigil(&["vulndb", "status", "--json", "--db", s(&db)])));
    let names: Vec<&str> = status[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].contains("-security:"), "{names:?}");
    assert_eq!(names[1], "osv:PyPI");

    let scan = ok(vigil(&["scan", "vulns", "--db", s(&db), "--json"]));
    let findings = json_lines(&scan);
    let found: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["package"].as_str())
        .collect();
    let apt = apt_security_upgrades();
    let missing: Vec<&String> = apt.iter().filter(|p| !found.contains(p.as_str())).collect();
    assert!(
        missing.is_empty(),
        "security upgrades apt lists that the scan does not report: {missing:?}"
    );
    if fetched > 0 {
        assert!(
            findings.iter().any(|f| f["ids"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i.as_str().unwrap().starts_with("CVE-"))),
            "the fetched changelogs named no CVE: {out}"
        );
    }
    eprintln!(
        "apt source: {} security upgrades in apt, {} findings in {} packages, {:.1} s",
        apt.len(),
        findings.len(),
        found.len(),
        started.elapsed().as_secs_f64()
    );
}
