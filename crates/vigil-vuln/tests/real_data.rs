//! Importers, database and matcher end to end on real data: the Debian 12 security suite's index
//! and changelogs, osv.dev records, and lock files written by npm, poetry and cargo.
//!
//! `fixtures/README.md` says where each file came from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vigil_vuln::debian::{self, Urgency};
use vigil_vuln::lockfiles::{self, LockfileKind};
use vigil_vuln::{
    match_packages, osv, Db, DbBuilder, Ecosystem, Family, Finding, InstalledPackage, Level,
};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}

fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

const CHANGELOGS: [&str; 5] = [
    fixture!("debian/openssl.changelog"),
    fixture!("debian/nss.changelog"),
    fixture!("debian/jq.changelog"),
    fixture!("debian/unzip.changelog"),
    fixture!("debian/xz-utils.changelog"),
];

/// `dpkg-query` output captured on the host with the pending security upgrades.
fn installed_debian() -> Vec<InstalledPackage> {
    fixture!("debian/dpkg-query.txt")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f[0].trim(), "ii", "{l}");
            InstalledPackage {
                name: f[1].into(),
                version: f[2].into(),
                source_name: Some(f[3].into()),
                source_version: Some(f[4].into()),
            }
        })
        .collect()
}

/// The apt source as the agent would assemble it: changelog advisories for the sources whose
/// changelog was fetched, index-only advisories for the others.
fn debian_db() -> Db {
    let index = debian::parse_packages(fixture!("debian/bookworm-security_Packages"));
    assert!(index.skipped.is_empty(), "{:?}", index.skipped);
    let updates = debian::source_updates(&index.value);
    let mut advisories = Vec::new();
    let mut with_changelog = Vec::new();
    for text in CHANGELOGS {
        let parsed = debian::parse_changelog(text);
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        let entries = parsed.value;
        // The changelog's top entry is the version the security suite ships.
        let top = &entries[0];
        let update = updates
            .iter()
            .find(|u| u.source == top.package)
            .expect("source in index");
        assert_eq!(update.version, top.version);
        with_changelog.push(top.package.clone());
        advisories.extend(debian::changelog_advisories(&entries, "12"));
    }
    for u in &updates {
        if !with_changelog.contains(&u.source) {
            advisories.push(debian::index_advisory(u, "12"));
        }
    }
    let mut b = DbBuilder::new();
    b.add_source("debian-security:bookworm", 1_795_000_000, advisories);
    b.build().unwrap()
}

fn by_package(findings: &[Finding]) -> BTreeMap<&str, Vec<&Finding>> {
    let mut m: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        m.entry(f.package.as_str()).or_default().push(f);
    }
    m
}

#[test]
fn packages_index_real() {
    let p = debian::parse_packages(fixture!("debian/bookworm-security_Packages"));
    assert!(p.skipped.is_empty());
    assert_eq!(p.value.len(), 20);
    let kernel = p
        .value
        .iter()
        .find(|x| x.name == "linux-image-amd64")
        .unwrap();
    assert_eq!(kernel.source, "linux-signed-amd64");
    assert_eq!(kernel.source_version, "6.1.192+2");
    assert_eq!(kernel.version, "6.1.192-2");
    let updates = debian::source_updates(&p.value);
    let names: Vec<&str> = updates.iter().map(|u| u.source.as_str()).collect();
    assert_eq!(
        names,
        [
            "expat",
            "jq",
            "linux",
            "linux-signed-amd64",
            "nss",
            "openssl",
            "unzip",
            "xz-utils"
        ]
    );
    let nss = updates.iter().find(|u| u.source == "nss").unwrap();
    assert_eq!(nss.version, "2:3.87.1-1+deb12u4");
    assert_eq!(nss.binaries, ["libnss3", "libnss3-dev", "libnss3-tools"]);
}

#[test]
fn changelog_pending_matches_the_host() {
    // openssl 3.0.19-1~deb12u2 is installed; the suite has 3.0.22-1~deb12u2.
    let entries = debian::parse_changelog(fixture!("debian/openssl.changelog")).value;
    assert_eq!(entries.len(), 8);
    let p = debian::pending(&entries, "3.0.19-1~deb12u2");
    assert_eq!(
        p.versions,
        [
            "3.0.22-1~deb12u2",
            "3.0.22-1~deb12u1",
            "3.0.20-1~deb12u2",
            "3.0.20-1~deb12u1"
        ]
    );
    assert_eq!(p.cves.len(), 6 + 6 + 9);
    assert_eq!(p.cves[0], "CVE-2026-84782");
    assert!(
        !p.cves.contains(&"CVE-2026-28387".to_owned()),
        "fixed in the installed version"
    );
    assert_eq!(p.urgency, Some(Urgency::High));

    // nss carries an epoch in every version.
    let nss = debian::parse_changelog(fixture!("debian/nss.changelog")).value;
    let p = debian::pending(&nss, "2:3.87.1-1+deb12u2");
    assert_eq!(
        p.cves,
        [
            "CVE-2026-16389",
            "CVE-2026-6766",
            "CVE-2026-6767",
            "CVE-2026-6772",
            "CVE-2026-12318"
        ]
    );
    assert_eq!(p.urgency, Some(Urgency::Medium));
    // Without the epoch the installed version sorts below every entry.
    assert_eq!(
        debian::pending(&nss, "3.87.1-1+deb12u9").versions.len(),
        nss.len()
    );
}

#[test]
fn debian_host_end_to_end() {
    let db = debian_db();
    let host = Ecosystem::for_host("debian", "12").unwrap();
    let findings = match_packages(&db, &host, &installed_debian());
    let m = by_package(&findings);

    // openssl and libssl3 share the source: 21 pending CVEs each.
    for pkg in ["openssl", "libssl3"] {
        let f = &m[pkg];
        assert_eq!(f.len(), 21, "{pkg}");
        assert!(f.iter().all(|x| x.source.as_deref() == Some("openssl")));
        assert!(f.iter().all(|x| x.needs_restart), "{pkg}");
        assert!(f.iter().all(|x| x.fix_command.as_deref()
            == Some(format!("apt-get install --only-upgrade {pkg}").as_str())));
    }
    let dtls = m["openssl"]
        .iter()
        .find(|x| x.ids == ["CVE-2026-84782"])
        .unwrap();
    assert_eq!(dtls.fixed.as_deref(), Some("3.0.22-1~deb12u2"));
    assert_eq!(dtls.level, Level::High, "urgency=high upload");
    assert_eq!(dtls.installed, "3.0.19-1~deb12u2");
    let asn1 = m["openssl"]
        .iter()
        .find(|x| x.ids == ["CVE-2026-7383"])
        .unwrap();
    assert_eq!(asn1.fixed.as_deref(), Some("3.0.20-1~deb12u2"));
    assert_eq!(asn1.level, Level::Medium);

    // nss: epoch versions, five CVEs newer than deb12u2.
    assert_eq!(m["libnss3"].len(), 5);

    // jq: CVE-2026-32316 is named again by deb12u3, so its fix moved there.
    assert_eq!(m["jq"].len(), 15);
    assert_eq!(m["libjq1"].len(), 15);
    let repeat = m["jq"]
        .iter()
        .find(|x| x.ids == ["CVE-2026-32316"])
        .unwrap();
    assert_eq!(repeat.fixed.as_deref(), Some("1.6-2.1+deb12u3"));
    assert_eq!(repeat.level, Level::High);
    assert!(!findings
        .iter()
        .any(|f| f.ids.contains(&"CVE-2025-48060".to_owned())));

    // unzip's security upload names no CVE (only CAN- ids): one synthetic advisory.
    let unzip: Vec<&Vec<String>> = m["unzip"].iter().map(|f| &f.ids).collect();
    assert_eq!(unzip, [&vec!["DEBSEC-unzip-6.0-28+deb12u1".to_owned()]]);

    // xz-utils: deb12u1 names a CVE; deb12u2 only a GHSA; 5.4.1-1 is what is installed.
    for pkg in ["xz-utils", "liblzma5"] {
        let mut ids: Vec<&str> = m[pkg].iter().map(|f| f.ids[0].as_str()).collect();
        ids.sort();
        assert_eq!(
            ids,
            ["CVE-2026-34743", "DEBSEC-xz-utils-5.4.1-1+deb12u2"],
            "{pkg}"
        );
    }
    let ghsa = m["xz-utils"]
        .iter()
        .find(|f| f.ids[0].starts_with("DEBSEC"))
        .unwrap();
    assert_eq!(ghsa.ids[1], "GHSA-5qpq-xqfv-j9pg");

    // Sources without a fetched changelog: the index alone says an upgrade is pending.
    assert_eq!(m["libexpat1"][0].ids, ["DEBSEC-expat-2.5.0-1+deb12u5"]);
    assert_eq!(m["linux-libc-dev"][0].ids, ["DEBSEC-linux-6.1.192-2"]);
    assert!(!m["linux-libc-dev"][0].needs_restart);

    // Every installed package had a pending security upgrade: none is missing.
    assert_eq!(m.len(), installed_debian().len());
    // High findings come first.
    assert!(findings.windows(2).all(|w| w[0].level >= w[1].level));

    // After the upgrade nothing is left.
    let upgraded: Vec<InstalledPackage> = installed_debian()
        .into_iter()
        .map(|mut p| {
            let index = debian::parse_packages(fixture!("debian/bookworm-security_Packages")).value;
            let new = index.iter().find(|x| x.name == p.name).unwrap();
            p.version = new.version.clone();
            p.source_version = Some(new.source_version.clone());
            p
        })
        .collect();
    assert_eq!(match_packages(&db, &host, &upgraded), []);

    // The same database does not apply to another release.
    let bullseye = Ecosystem::for_host("debian", "11").unwrap();
    assert_eq!(match_packages(&db, &bullseye, &installed_debian()), []);
}

#[test]
fn debian_db_survives_the_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("advisories.vdb");
    let db = debian_db();
    db.save(&path).unwrap();
    let loaded = Db::load(&path).unwrap();
    let host = Ecosystem::for_host("debian", "12").unwrap();
    assert_eq!(
        match_packages(&loaded, &host, &installed_debian()),
        match_packages(&db, &host, &installed_debian())
    );
    assert_eq!(loaded.sources()[0].name, "debian-security:bookworm");
    assert_eq!(loaded.sources()[0].imported_at, 1_795_000_000);
}

fn osv_import() -> osv::Import {
    let p = osv::import_path(&fixture_path("osv")).unwrap();
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    p.value
}

#[test]
fn osv_directory_and_zip_agree() {
    let dir = osv_import();
    assert_eq!(dir.files, 4);
    let mut ids: Vec<&str> = dir.advisories.iter().map(|a| a.ids[0].as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "ALPINE-CVE-2025-26519",
            "DLA-3008-1",
            "GHSA-whgm-jr23-g3j9",
            "PYSEC-2023-62"
        ]
    );

    let zip = osv::import_path(&fixture_path("osv-zip/all.zip")).unwrap();
    assert!(zip.skipped.is_empty(), "{:?}", zip.skipped);
    assert_eq!(zip.value.files, 4);
    let mut a = dir.advisories.clone();
    let mut b = zip.value.advisories.clone();
    a.sort_by(|x, y| x.ids.cmp(&y.ids));
    b.sort_by(|x, y| x.ids.cmp(&y.ids));
    assert_eq!(a, b);
}

#[test]
fn osv_records_normalised() {
    let import = osv_import();
    let get = |id: &str| import.advisories.iter().find(|a| a.ids[0] == id).unwrap();

    let dla = get("DLA-3008-1");
    assert_eq!(dla.ids, ["DLA-3008-1", "CVE-2022-1292"]);
    assert_eq!(dla.summary, "openssl - security update");
    assert_eq!(dla.level, Level::Medium, "no severity data: medium");
    assert_eq!(dla.ranges.len(), 1, "the versions list repeats the range");
    assert_eq!(dla.ranges[0].ecosystem.to_string(), "Debian:9");
    assert_eq!(dla.ranges[0].fixed.as_deref(), Some("1.1.0l-1~deb9u6"));

    let ghsa = get("GHSA-whgm-jr23-g3j9");
    assert_eq!(ghsa.ids, ["GHSA-whgm-jr23-g3j9", "CVE-2021-23424"]);
    assert_eq!(ghsa.level, Level::High, "CVSS 7.5 and GHSA HIGH");
    assert!(!ghsa.rce);

    let pysec = get("PYSEC-2023-62");
    assert_eq!(
        pysec.ids,
        ["PYSEC-2023-62", "CVE-2023-30861", "GHSA-m2qf-hxjv-5gpq"]
    );
    assert_eq!(
        pysec.ranges.len(),
        2,
        "GIT range ignored, two ECOSYSTEM intervals"
    );
    assert!(pysec
        .summary
        .starts_with("Flask is a lightweight WSGI web application framework"));

    let alpine = get("ALPINE-CVE-2025-26519");
    assert_eq!(alpine.ids, ["ALPINE-CVE-2025-26519", "CVE-2025-26519"]);
    assert_eq!(alpine.ranges.len(), 9);
    assert_eq!(alpine.level, Level::High, "CVSS 7.0");
    assert!(alpine
        .ranges
        .iter()
        .all(|r| r.introduced == "0.9.13" && r.package == "musl"));
}

fn osv_db() -> Db {
    let mut b = DbBuilder::new();
    b.add_source("osv", 1_795_000_000, osv_import().advisories);
    b.build().unwrap()
}

fn pkg(name: &str, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        version: version.into(),
        source_name: None,
        source_version: None,
    }
}

#[test]
fn npm_lockfile_against_ghsa() {
    let db = osv_db();
    for text in [
        fixture!("lockfiles/package-lock.v3.json"),
        fixture!("lockfiles/package-lock.v2.json"),
    ] {
        let p = lockfiles::parse(LockfileKind::PackageLock, text);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        let names: Vec<(&str, &str)> = p
            .value
            .iter()
            .map(|x| (x.name.as_str(), x.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("@types/node", "20.11.0"),
                ("ansi-html", "0.0.7"),
                ("left-pad", "1.3.0"),
                ("undici-types", "5.26.5")
            ]
        );
        let f = match_packages(&db, &LockfileKind::PackageLock.ecosystem(), &p.value);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].ids, ["GHSA-whgm-jr23-g3j9", "CVE-2021-23424"]);
        assert_eq!(f[0].fixed.as_deref(), Some("0.0.8"));
        assert_eq!(
            f[0].fix_command.as_deref(),
            Some("npm install ansi-html@0.0.8")
        );
        assert!(!f[0].needs_restart);
        assert_eq!(f[0].source, None);
    }
    let fixed = [pkg("ansi-html", "0.0.8")];
    assert_eq!(
        match_packages(&db, &Ecosystem::new(Family::Npm, None), &fixed),
        []
    );
}

#[test]
fn poetry_and_requirements_against_pysec() {
    let db = osv_db();
    let pypi = Ecosystem::new(Family::PyPI, None);
    let p = lockfiles::poetry_lock(fixture!("lockfiles/poetry.lock"));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    let names: Vec<(&str, &str)> = p
        .value
        .iter()
        .map(|x| (x.name.as_str(), x.version.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("click", "8.5.1"),
            ("flask", "2.2.2"),
            ("itsdangerous", "2.2.0"),
            ("jinja2", "3.1.2"),
            ("markupsafe", "3.0.4"),
            ("werkzeug", "3.1.9"),
        ]
    );
    let f = match_packages(&db, &pypi, &p.value);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].package, "flask");
    assert_eq!(f[0].fixed.as_deref(), Some("2.2.5"));
    assert_eq!(
        f[0].fix_command.as_deref(),
        Some("pip install 'flask>=2.2.5'")
    );

    // Names as people write them; the second interval; pre-releases before `introduced`.
    let req = lockfiles::requirements_txt("Flask==2.3.1\n");
    let f = match_packages(&db, &pypi, &req.value);
    assert_eq!(f[0].fixed.as_deref(), Some("2.3.2"));
    assert_eq!(
        f[0].fix_command.as_deref(),
        Some("pip install 'Flask>=2.3.2'")
    );
    for safe in ["2.2.5", "2.3.2", "3.0.0", "2.3.0rc1"] {
        let f = match_packages(&db, &pypi, &[pkg("flask", safe)]);
        assert_eq!(f, [], "{safe}");
    }
    let f = match_packages(&db, &pypi, &[pkg("flask", "2.2.5rc1")]);
    assert_eq!(f.len(), 1, "a pre-release of the fix is still before it");
}

#[test]
fn alpine_by_origin() {
    let db = osv_db();
    let host = Ecosystem::for_host("alpine", "3.19.1").unwrap();
    let musl = |version: &str| InstalledPackage {
        name: "musl-utils".into(),
        version: version.into(),
        source_name: Some("musl".into()),
        source_version: Some(version.into()),
    };
    let f = match_packages(&db, &host, &[musl("1.2.4_git20230717-r4")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].fixed.as_deref(), Some("1.2.4_git20230717-r5"));
    assert_eq!(f[0].fix_command.as_deref(), Some("apk upgrade musl-utils"));
    assert_eq!(
        match_packages(&db, &host, &[musl("1.2.4_git20230717-r5")]),
        []
    );
    // Before the flaw was introduced.
    assert_eq!(match_packages(&db, &host, &[musl("0.9.12-r0")]), []);
    // Another release's fixed version does not apply.
    let edge_of_3_16 = Ecosystem::for_host("alpine", "3.16.9").unwrap();
    assert_eq!(match_packages(&db, &edge_of_3_16, &[musl("1.2.3-r4")]), []);
    assert_eq!(
        match_packages(&db, &edge_of_3_16, &[musl("1.2.3-r3")]).len(),
        1
    );
}

#[test]
fn cargo_lock_real() {
    let p = lockfiles::cargo_lock(fixture!("lockfiles/Cargo.lock"));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    // 28 packages in the cut, one of them a workspace member without a source.
    assert_eq!(p.value.len(), 27);
    assert!(p.value.iter().all(|x| !x.name.starts_with("vigil-")));
    assert!(p.value.iter().any(|x| x.name == "zip"));
}
