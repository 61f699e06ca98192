//! True- and false-positive cases for the matcher, each an OSV record, an installed package and
//! the expected finding (or none). `check` is the only caller of the code under test.

use vigil_vuln::{match_packages, osv, DbBuilder, Ecosystem, InstalledPackage, Level};

struct Case {
    name: &'static str,
    /// OSV records (a JSON array).
    osv: &'static str,
    /// os-release ID and VERSION_ID, or an OSV language ecosystem name.
    host: (&'static str, &'static str),
    /// name, version, source name, source version.
    installed: (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    ),
    /// Expected findings: ids and fixed version.
    want: &'static [(&'static [&'static str], Option<&'static str>)],
}

fn check(case: &Case) -> Vec<vigil_vuln::Finding> {
    let parsed = osv::parse(case.name, case.osv.as_bytes());
    assert!(
        parsed.skipped.is_empty(),
        "{}: {:?}",
        case.name,
        parsed.skipped
    );
    let mut b = DbBuilder::new();
    b.add_source("cases", 0, parsed.value.advisories);
    let db = b.build().unwrap();
    let ecosystem = Ecosystem::for_host(case.host.0, case.host.1)
        .or_else(|| Ecosystem::parse(case.host.0))
        .unwrap();
    let (name, version, source_name, source_version) = case.installed;
    let pkg = InstalledPackage {
        name: name.into(),
        version: version.into(),
        source_name: source_name.map(Into::into),
        source_version: source_version.map(Into::into),
    };
    let findings = match_packages(&db, &ecosystem, &[pkg]);
    let got: Vec<(Vec<&str>, Option<&str>)> = findings
        .iter()
        .map(|f| {
            (
                f.ids.iter().map(String::as_str).collect(),
                f.fixed.as_deref(),
            )
        })
        .collect();
    let want: Vec<(Vec<&str>, Option<&str>)> = case
        .want
        .iter()
        .map(|(ids, fixed)| (ids.to_vec(), *fixed))
        .collect();
    assert_eq!(got, want, "case {}", case.name);
    findings
}

const BACKPORT: &str = r#"[
  {"id":"DEBIAN-CVE-2024-1000","upstream":["CVE-2024-1000"],
   "affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},
     "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2-3+deb12u1"}]}]}]},
  {"id":"PYSEC-2024-1","aliases":["CVE-2024-1000"],
   "affected":[{"package":{"ecosystem":"PyPI","name":"foo"},
     "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.3"}]}]}]}
]"#;

const LAST_AFFECTED: &str = r#"[{"id":"GHSA-aaaa-bbbb-cccc",
  "affected":[{"package":{"ecosystem":"npm","name":"lib"},
    "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"last_affected":"2.0.0"}]}]}]}]"#;

const LATE_INTRODUCED: &str = r#"[{"id":"RUSTSEC-2024-0001",
  "affected":[{"package":{"ecosystem":"crates.io","name":"c"},
    "ranges":[{"type":"SEMVER","events":[{"introduced":"2.0.0"},{"fixed":"2.5.0"}]}]}]}]"#;

const EPOCH: &str = r#"[{"id":"DLA-1-1",
  "affected":[{"package":{"ecosystem":"Debian:12","name":"bar"},
    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.0-1"}]}]}]}]"#;

const TILDE: &str = r#"[{"id":"DEBIAN-CVE-2024-2",
  "affected":[{"package":{"ecosystem":"Debian:12","name":"baz"},
    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}]}]}]"#;

const VERSIONS_ONLY: &str = r#"[{"id":"OSV-2024-1",
  "affected":[{"package":{"ecosystem":"PyPI","name":"v"},
    "ranges":[{"type":"GIT","repo":"https://example.org/v","events":[{"introduced":"0"},{"fixed":"abc"}]}],
    "versions":["1.0","1.1"]}]}]"#;

const TWO_SOURCES_ONE_CVE: &str = r#"[
  {"id":"DEBIAN-CVE-2024-3","upstream":["CVE-2024-3"],"summary":"from OSV",
   "affected":[{"package":{"ecosystem":"Debian:12","name":"q"},"ecosystem_specific":{"urgency":"low"},
     "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0-1"}]}]}]},
  {"id":"CVE-2024-3","summary":"from the changelog",
   "affected":[{"package":{"ecosystem":"Debian:12","name":"q"},"ecosystem_specific":{"urgency":"high"},
     "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0-1+deb12u1"}]}]}]},
  {"id":"DEBIAN-CVE-2024-4","upstream":["CVE-2024-4"],
   "affected":[{"package":{"ecosystem":"Debian:12","name":"q"},
     "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}
]"#;

const OVERLAP: &str = r#"[{"id":"GHSA-1",
  "affected":[{"package":{"ecosystem":"npm","name":"o"},
    "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]},
              {"type":"SEMVER","events":[{"introduced":"1.5.0"},{"fixed":"2.5.0"}]}]}]}]"#;

const ROCKY: &str = r#"[{"id":"RLSA-2024:1","upstream":["CVE-2024-5"],
  "affected":[{"package":{"ecosystem":"Rocky Linux:9","name":"openssl"},
    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-27.el9"}]}]}]}]"#;

const UBUNTU_PRO: &str = r#"[{"id":"UBUNTU-CVE-2024-6","upstream":["CVE-2024-6"],
  "affected":[
    {"package":{"ecosystem":"Ubuntu:20.04:LTS","name":"curl"},
     "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]},
    {"package":{"ecosystem":"Ubuntu:Pro:20.04:LTS","name":"curl"},
     "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.68.0-1ubuntu2.22+esm1"}]}]}]}]"#;

#[rustfmt::skip]
const CASES: &[Case] = &[
    // The Debian package carries the backported fix; the upstream range alone would flag it.
    Case { name: "backport fixed", osv: BACKPORT, host: ("debian", "12"),
        installed: ("libfoo1", "1.2-3+deb12u1", Some("foo"), Some("1.2-3+deb12u1")), want: &[] },
    Case { name: "backport pending", osv: BACKPORT, host: ("debian", "12"),
        installed: ("libfoo1", "1.2-3", Some("foo"), Some("1.2-3")),
        want: &[(&["DEBIAN-CVE-2024-1000", "CVE-2024-1000"], Some("1.2-3+deb12u1"))] },
    // A binNMU: binary version +b1, source version is what the advisory speaks of.
    Case { name: "binnmu compares the source version", osv: BACKPORT, host: ("debian", "12"),
        installed: ("libfoo1", "1.2-3+deb12u1+b1", Some("foo"), Some("1.2-3+deb12u1")), want: &[] },
    Case { name: "binnmu of an old upload", osv: BACKPORT, host: ("debian", "12"),
        installed: ("libfoo1", "1.2-3+b2", Some("foo"), Some("1.2-3")),
        want: &[(&["DEBIAN-CVE-2024-1000", "CVE-2024-1000"], Some("1.2-3+deb12u1"))] },
    // No source recorded: the binary name and version are used.
    Case { name: "no source falls back to binary", osv: BACKPORT, host: ("debian", "12"),
        installed: ("foo", "1.1-1", None, None),
        want: &[(&["DEBIAN-CVE-2024-1000", "CVE-2024-1000"], Some("1.2-3+deb12u1"))] },
    // A binary whose source is another package is not matched by its own name.
    Case { name: "binary name is not the key", osv: BACKPORT, host: ("debian", "12"),
        installed: ("foo", "1.1-1", Some("other"), None), want: &[] },
    // The upstream PyPI range applies to the PyPI package.
    Case { name: "upstream range for the language package", osv: BACKPORT, host: ("PyPI", ""),
        installed: ("Foo", "1.2.9", None, None),
        want: &[(&["PYSEC-2024-1", "CVE-2024-1000"], Some("1.3"))] },
    Case { name: "last_affected inclusive", osv: LAST_AFFECTED, host: ("npm", ""),
        installed: ("lib", "2.0.0", None, None), want: &[(&["GHSA-aaaa-bbbb-cccc"], None)] },
    Case { name: "after last_affected", osv: LAST_AFFECTED, host: ("npm", ""),
        installed: ("lib", "2.0.1", None, None), want: &[] },
    Case { name: "pre-release of last_affected", osv: LAST_AFFECTED, host: ("npm", ""),
        installed: ("lib", "2.0.0-rc.1", None, None), want: &[(&["GHSA-aaaa-bbbb-cccc"], None)] },
    Case { name: "introduced after installed", osv: LATE_INTRODUCED, host: ("crates.io", ""),
        installed: ("c", "1.9.9", None, None), want: &[] },
    Case { name: "introduced exactly", osv: LATE_INTRODUCED, host: ("crates.io", ""),
        installed: ("c", "2.0.0", None, None), want: &[(&["RUSTSEC-2024-0001"], Some("2.5.0"))] },
    Case { name: "fixed exactly", osv: LATE_INTRODUCED, host: ("crates.io", ""),
        installed: ("c", "2.5.0", None, None), want: &[] },
    // An epoch in the fixed version outranks any upstream version without one.
    Case { name: "epoch in fixed", osv: EPOCH, host: ("debian", "12"),
        installed: ("bar", "2.0-1", None, None), want: &[(&["DLA-1-1"], Some("1:1.0-1"))] },
    Case { name: "epoch installed", osv: EPOCH, host: ("debian", "12"),
        installed: ("bar", "1:1.0-1", None, None), want: &[] },
    Case { name: "tilde sorts before the release", osv: TILDE, host: ("debian", "12"),
        installed: ("baz", "1.0~rc1", None, None), want: &[(&["DEBIAN-CVE-2024-2"], Some("1.0"))] },
    Case { name: "release is fixed", osv: TILDE, host: ("debian", "12"),
        installed: ("baz", "1.0", None, None), want: &[] },
    Case { name: "listed version", osv: VERSIONS_ONLY, host: ("PyPI", ""),
        installed: ("v", "1.1", None, None), want: &[(&["OSV-2024-1"], None)] },
    Case { name: "listed version, PEP 440 equal spelling", osv: VERSIONS_ONLY, host: ("PyPI", ""),
        installed: ("v", "1.1.0", None, None), want: &[(&["OSV-2024-1"], None)] },
    Case { name: "unlisted version", osv: VERSIONS_ONLY, host: ("PyPI", ""),
        installed: ("v", "1.2", None, None), want: &[] },
    // Not a version at all: not compared, not reported.
    Case { name: "invalid language version", osv: LATE_INTRODUCED, host: ("crates.io", ""),
        installed: ("c", "not a version", None, None), want: &[] },
    // Two sources naming the same CVE make one finding; the fix that satisfies both is kept.
    // An unfixed advisory is its own finding; high before low, then by id.
    Case { name: "one finding per vulnerability", osv: TWO_SOURCES_ONE_CVE, host: ("debian", "12"),
        installed: ("q", "1.0-1", None, None),
        want: &[
            (&["DEBIAN-CVE-2024-3", "CVE-2024-3"], Some("2.0-1+deb12u1")),
            (&["DEBIAN-CVE-2024-4", "CVE-2024-4"], None),
        ] },
    Case { name: "only the still-affected source", osv: TWO_SOURCES_ONE_CVE, host: ("debian", "12"),
        installed: ("q", "2.0-1", None, None),
        want: &[(&["CVE-2024-3"], Some("2.0-1+deb12u1")), (&["DEBIAN-CVE-2024-4", "CVE-2024-4"], None)] },
    // The lowest fix above the installed version that is not itself inside another range.
    Case { name: "fix inside another range is skipped", osv: OVERLAP, host: ("npm", ""),
        installed: ("o", "1.6.0", None, None), want: &[(&["GHSA-1"], Some("2.5.0"))] },
    Case { name: "past both ranges", osv: OVERLAP, host: ("npm", ""),
        installed: ("o", "2.5.0", None, None), want: &[] },
    Case { name: "rpm source rpm", osv: ROCKY, host: ("rocky", "9.3"),
        installed: ("openssl-libs", "1:3.0.7-25.el9_3", Some("openssl"), Some("1:3.0.7-25.el9_3")),
        want: &[(&["RLSA-2024:1", "CVE-2024-5"], Some("1:3.0.7-27.el9"))] },
    Case { name: "rpm fixed", osv: ROCKY, host: ("rocky", "9.3"),
        installed: ("openssl-libs", "1:3.0.7-27.el9", Some("openssl"), Some("1:3.0.7-27.el9")), want: &[] },
    Case { name: "other release", osv: ROCKY, host: ("rocky", "8.9"),
        installed: ("openssl-libs", "1:1.1.1k-9.el8", Some("openssl"), None), want: &[] },
    // Ubuntu Pro's fix belongs to the release; the host learns a fix exists under ESM.
    Case { name: "ubuntu pro fix", osv: UBUNTU_PRO, host: ("ubuntu", "20.04"),
        installed: ("libcurl4", "7.68.0-1ubuntu2.21", Some("curl"), None),
        want: &[(&["UBUNTU-CVE-2024-6", "CVE-2024-6"], Some("7.68.0-1ubuntu2.22+esm1"))] },
];

#[test]
fn cases() {
    for case in CASES {
        check(case);
    }
}

fn case(name: &str) -> &'static Case {
    CASES.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn finding_details() {
    let f = check(case("backport pending"));
    assert_eq!(f[0].package, "libfoo1");
    assert_eq!(f[0].source.as_deref(), Some("foo"));
    assert_eq!(f[0].installed, "1.2-3");
    assert_eq!(f[0].compared_version, "1.2-3");
    assert_eq!(
        f[0].fix_command.as_deref(),
        Some("apt-get install --only-upgrade libfoo1")
    );
    assert_eq!(f[0].level, Level::Medium);
    assert!(!f[0].needs_restart);

    let f = check(case("binnmu of an old upload"));
    assert_eq!(f[0].installed, "1.2-3+b2");
    assert_eq!(f[0].compared_version, "1.2-3");

    // The merged finding keeps the higher level.
    let f = check(case("one finding per vulnerability"));
    assert_eq!(f[0].level, Level::High);
    assert_eq!(f[0].summary, "from OSV");
    assert_eq!(f[1].level, Level::Medium);
    assert_eq!(f[1].fix_command, None, "no fix, no command");

    let f = check(case("rpm source rpm"));
    assert_eq!(f[0].fix_command.as_deref(), Some("yum update openssl-libs"));
    assert!(f[0].needs_restart);
}

#[test]
fn inventory_packages_convert() {
    let p = vigil_model::Package {
        format: vigil_model::PackageFormat::Dpkg,
        name: "libssl3".into(),
        version: "3.0.19-1~deb12u2".into(),
        arch: "amd64".into(),
        source: "openssl".into(),
        source_version: "3.0.19-1~deb12u2".into(),
    };
    let i = InstalledPackage::from(&p);
    assert_eq!(i.source_name.as_deref(), Some("openssl"));
    let empty = vigil_model::Package::default();
    assert_eq!(InstalledPackage::from(&empty).source_name, None);
}
