//! Unit tests of `vigil vulndb` and `vigil scan vulns`: apt index names and sizes, pending
//! sources, advisories per source, family split, tree resolution, dpkg problems, fix commands.

use super::apt::{index_sizes, is_security_index, pending_sources, source_advisories, suite_of};
use super::import::split_by_family;
use super::report::{fix_commands, Row};
use super::tree::{dpkg_problems, resolve_in_root};
use super::*;
use std::io;
use vigil_collect::packages;
use vigil_model::Package;
use vigil_vuln::debian::{self, SourceUpdate};
use vigil_vuln::{osv, Ecosystem, Family, Finding};

#[test]
fn security_index_names() {
    for yes in [
        "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
        "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
        "security.ubuntu.com_ubuntu_dists_jammy-security_universe_binary-amd64_Packages.gz",
    ] {
        assert!(is_security_index(yes), "{yes}");
    }
    for no in [
        "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
        "deb.debian.org_debian-security_dists_bookworm-security_InRelease",
        "deb.debian.org_debian-security_dists_bookworm-security_main_source_Sources.xz",
        "deb.debian.org_debian-security_dists_bookworm-security_main_i18n_Translation-en",
    ] {
        assert!(!is_security_index(no), "{no}");
    }
    assert_eq!(
        suite_of(
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4"
        )
        .as_deref(),
        Some("bookworm-security")
    );
    assert_eq!(suite_of("nodists"), None);
}

#[test]
fn sizes_from_the_index() {
    let text = "Package: a\nVersion: 1\nInstalled-Size: 33\nSize: 10\n\nPackage: b\nVersion: 2\n\nPackage: c\nSize: 7\nVersion: 3";
    let s = index_sizes(text);
    assert_eq!(s.len(), 2);
    let a = s[&("a".to_owned(), "1".to_owned())];
    assert_eq!((a.bytes, a.installed_kib), (10, 33));
    assert_eq!(s[&("c".to_owned(), "3".to_owned())].bytes, 7);
}

fn installed(name: &str, source: &str, version: &str, source_version: &str) -> Package {
    Package {
        format: vigil_model::PackageFormat::Dpkg,
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: source.into(),
        source_version: source_version.into(),
    }
}

#[test]
fn pending_sources_compare_source_versions_and_order_by_size() {
    let text = "\
Package: linux-image-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 13
Size: 1500

Package: linux-image-6.1.0-41-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 400000
Size: 70000000

Package: libssl3
Source: openssl
Version: 3.0.22-1~deb12u2
Size: 2000000

Package: openssl
Version: 3.0.22-1~deb12u2
Size: 1400000

Package: jq
Version: 1.6-2.1+deb12u3
Size: 64000
";
    let index = debian::parse_packages(text).value;
    let updates = debian::source_updates(&index);
    let sizes = index_sizes(text);
    let host = [
        installed(
            "linux-image-amd64",
            "linux-signed-amd64",
            "6.1.76-1",
            "6.1.76+1",
        ),
        installed("libssl3", "openssl", "3.0.19-1~deb12u2", "3.0.19-1~deb12u2"),
        installed("openssl", "openssl", "3.0.22-1~deb12u2", "3.0.22-1~deb12u2"),
        // Up to date: nothing pending.
        installed("jq", "jq", "1.6-2.1+deb12u3", "1.6-2.1+deb12u3"),
    ];
    let p = pending_sources(&updates, &index, &host, &sizes);
    let names: Vec<&str> = p.iter().map(|x| x.source.as_str()).collect();
    assert_eq!(
        names,
        ["openssl", "linux-signed-amd64"],
        "smallest download first"
    );
    assert_eq!(
        p[1].candidates,
        [
            (
                "linux-image-6.1.0-41-amd64".to_owned(),
                "6.1.192-2".to_owned()
            ),
            ("linux-image-amd64".to_owned(), "6.1.192-2".to_owned()),
        ],
        "a metapackage (a few KiB installed) has no changelog of its own: last"
    );
    assert_eq!(p[1].installed, "6.1.76+1");
    assert_eq!(p[0].binaries, ["libssl3"]);
    assert_eq!(p[0].candidates[0].0, "openssl", "the smaller binary first");
}

#[test]
fn an_upload_without_cve_still_covers_the_suite_version() {
    let changelog = "\
foo (1.0-1+deb12u2) bookworm; urgency=medium

  * Fix a crash.

 -- A <a@b>  Mon, 01 Jan 2024 10:00:00 +0100

foo (1.0-1+deb12u1) bookworm-security; urgency=high

  * CVE-2024-0001

 -- A <a@b>  Sun, 31 Dec 2023 10:00:00 +0100
";
    let entries = debian::parse_changelog(changelog).value;
    let u = SourceUpdate {
        source: "foo".into(),
        version: "1.0-1+deb12u2".into(),
        binaries: vec!["foo".into()],
    };
    let advs = source_advisories(&u, &entries, "12");
    let ids: Vec<&str> = advs.iter().map(|a| a.ids[0].as_str()).collect();
    assert_eq!(ids, ["CVE-2024-0001", "DEBSEC-foo-1.0-1+deb12u2"]);
    // When the top entry names a CVE, no index advisory is added.
    let entries = &entries[1..];
    let u = SourceUpdate {
        version: "1.0-1+deb12u1".into(),
        ..u
    };
    assert_eq!(source_advisories(&u, entries, "12").len(), 1);
}

#[test]
fn families_split() {
    let osv = r#"{"id":"GHSA-x","affected":[
            {"package":{"name":"a","ecosystem":"npm"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]},
            {"package":{"name":"b","ecosystem":"PyPI"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}]}"#;
    let imp = osv::parse("x.json", osv.as_bytes()).value;
    let split = split_by_family(imp.advisories);
    let families: Vec<Family> = split.keys().copied().collect();
    assert_eq!(families, [Family::PyPI, Family::Npm]);
    assert!(split
        .values()
        .all(|v| v.len() == 1 && v[0].ranges.len() == 1));
}

#[test]
fn root_resolution_stays_inside() {
    use std::os::unix::fs::symlink;
    let dir = std::env::temp_dir().join(format!("vigil-vulns-root-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let root = dir.join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    fs::write(root.join("usr/lib/os-release"), "ID=inside\n").unwrap();
    fs::write(dir.join("outside"), "ID=outside\n").unwrap();
    symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
    symlink("../../../outside", root.join("etc/escape")).unwrap();
    symlink("loop", root.join("etc/loop")).unwrap();
    let read = |rel: &str| fs::read_to_string(resolve_in_root(&root, rel).unwrap()).unwrap();
    assert_eq!(read("etc/os-release"), "ID=inside\n");
    // `..` stops at the root: ../../../outside is ROOT/outside, which does not exist.
    assert_eq!(
        resolve_in_root(&root, "etc/escape").unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    assert!(resolve_in_root(&root, "etc/loop").is_err());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dpkg_problems_name_file_line_and_package() {
    let text = "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok installed\n\nPackage: c\nStatus: install ok installed\nVers";
    let parsed = packages::dpkg_status(text);
    let p = dpkg_problems("S", text, &parsed);
    assert_eq!(
        p,
        [
            "S:5 (package b): installed stanza without Package or Version",
            "S:10 (package c): no ':' in 'Vers'",
            "S:8 (package c): installed stanza without Package or Version",
            "S:10 (package c): the file ends in the middle of a line: truncated? (that entry may be incomplete)",
        ]
    );
    assert!(dpkg_problems("S", "", &packages::dpkg_status(""))[0].contains("empty"));
}

#[test]
fn fix_commands_merge_per_tool() {
    let row = |pkg: &str, cmd: Option<&str>, lock: Option<&str>| Row {
        ecosystem: Ecosystem::new(Family::Debian, Some("12")),
        lockfile: lock.map(str::to_owned),
        finding: Finding {
            ids: vec!["CVE-1".into()],
            package: pkg.into(),
            source: None,
            installed: "1".into(),
            compared_version: "1".into(),
            fixed: Some("2".into()),
            level: vigil_vuln::Level::High,
            rce: false,
            summary: String::new(),
            fix_command: cmd.map(str::to_owned),
            needs_restart: false,
        },
    };
    let rows = [
        row(
            "libssl3",
            Some("apt-get install --only-upgrade libssl3"),
            None,
        ),
        row(
            "openssl",
            Some("apt-get install --only-upgrade openssl"),
            None,
        ),
        row(
            "libssl3",
            Some("apt-get install --only-upgrade libssl3"),
            None,
        ),
        row(
            "flask",
            Some("pip install 'flask>=2.2.5'"),
            Some("app/requirements.txt"),
        ),
        row("weird", None, None),
    ];
    assert_eq!(
        fix_commands(&rows),
        [
            "apt-get install --only-upgrade libssl3 openssl",
            "pip install 'flask>=2.2.5'   # app/requirements.txt"
        ]
    );
}

#[test]
fn ages_and_sizes_read_well() {
    assert_eq!(human_age(30), "30 s");
    assert_eq!(human_age(3_600), "60 min");
    assert_eq!(human_age(10_800), "3 h");
    assert_eq!(human_age(9 * 86_400), "9 d");
    assert_eq!(human_bytes(1_234_567), "1.2 MB");
}
