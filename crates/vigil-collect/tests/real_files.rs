//! Parsers against real files captured from a Debian 12 host, checked against system tools.
//!
//! Where a literal below is not obviously from the fixture, its comment names the tool that gave
//! it on the same snapshot (see `fixtures/README.md`).

use std::collections::BTreeSet;

use vigil_collect::{accounts, net, os, packages, process};
use vigil_model::{AccountPassword, Package, PackageFormat, Protocol};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}
macro_rules! fixture_bytes {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}

#[test]
fn os_release_debian_real() {
    let p = os::os_release(fixture!("os-release/debian12"));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    assert_eq!(
        p.value,
        os::OsRelease {
            id: "debian".into(),
            version_id: "12".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            codename: "bookworm".into(),
            id_like: vec![],
        }
    );
}

#[test]
fn os_release_debian_without_codename_uses_version() {
    let text: String = fixture!("os-release/debian12")
        .lines()
        .filter(|l| !l.starts_with("VERSION_CODENAME"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(os::os_release(&text).value.codename, "bookworm");
}

#[test]
fn os_release_other_distributions() {
    let alpine = os::os_release(fixture!("os-release/alpine319"));
    assert!(alpine.skipped.is_empty());
    assert_eq!(
        alpine.value,
        os::OsRelease {
            id: "alpine".into(),
            version_id: "3.19.1".into(),
            pretty_name: "Alpine Linux v3.19".into(),
            codename: String::new(),
            id_like: vec![],
        }
    );

    let rocky = os::os_release(fixture!("os-release/rocky9"));
    assert!(rocky.skipped.is_empty());
    assert_eq!(
        rocky.value,
        os::OsRelease {
            id: "rocky".into(),
            version_id: "9.3".into(),
            pretty_name: "Rocky Linux 9.3 (Blue Onyx)".into(),
            codename: "Blue Onyx".into(),
            id_like: vec!["rhel".into(), "centos".into(), "fedora".into()],
        }
    );

    let ubuntu = os::os_release(fixture!("os-release/ubuntu2204"));
    assert!(ubuntu.skipped.is_empty());
    assert_eq!(
        ubuntu.value,
        os::OsRelease {
            id: "ubuntu".into(),
            version_id: "22.04".into(),
            pretty_name: "Ubuntu 22.04.3 LTS".into(),
            codename: "jammy".into(),
            id_like: vec!["debian".into()],
        }
    );
}

#[test]
fn hardware_facts_real() {
    // `grep MemTotal /proc/meminfo`, `nproc` and `grep btime /proc/stat` on the same host.
    assert_eq!(
        os::meminfo_total_kb(fixture!("proc/meminfo")),
        Some(24_683_656)
    );
    assert_eq!(
        os::cpuinfo(fixture!("proc/cpuinfo")),
        ("AMD EPYC".to_owned(), 2)
    );
    assert_eq!(os::boot_time(fixture!("proc/stat")), Some(1_795_430_824));
    // Each file answers only its own question.
    assert_eq!(os::meminfo_total_kb(fixture!("proc/stat")), None);
    assert_eq!(os::boot_time(fixture!("proc/meminfo")), None);
    assert_eq!(os::cpuinfo(fixture!("proc/meminfo")), (String::new(), 0));
}

/// The `Name:` and `PPid:` lines of a status file: the kernel's own view of what stat holds.
fn status_name_ppid(status: &str) -> (String, u32) {
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .expect("field present")
            .to_owned()
    };
    (
        field("Name:"),
        field("PPid:").parse().expect("numeric ppid"),
    )
}

#[test]
fn processes_real() {
    struct Case {
        stat: &'static str,
        status: &'static str,
        cmdline: &'static [u8],
        pid: u32,
        comm: &'static str,
        start_ticks: u64,
        uid: u32,
        args: &'static str,
    }
    let cases = [
        Case {
            stat: fixture!("proc/pid-weird/stat"),
            status: fixture!("proc/pid-weird/status"),
            cmdline: fixture_bytes!("proc/pid-weird/cmdline"),
            pid: 6888,
            comm: "a b)c",
            start_ticks: 37941,
            uid: 0,
            args: "/tmp/a b)c 300",
        },
        Case {
            stat: fixture!("proc/pid-kthreadd/stat"),
            status: fixture!("proc/pid-kthreadd/status"),
            cmdline: fixture_bytes!("proc/pid-kthreadd/cmdline"),
            pid: 2,
            comm: "kthreadd",
            start_ticks: 14,
            uid: 0,
            args: "",
        },
        Case {
            stat: fixture!("proc/pid-postgres/stat"),
            status: fixture!("proc/pid-postgres/status"),
            cmdline: fixture_bytes!("proc/pid-postgres/cmdline"),
            pid: 2198,
            comm: "postgres",
            start_ticks: 3022,
            uid: 101,
            args: "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main \
                   -c config_file=/etc/postgresql/15/main/postgresql.conf",
        },
        Case {
            stat: fixture!("proc/pid-redis/stat"),
            status: fixture!("proc/pid-redis/status"),
            cmdline: fixture_bytes!("proc/pid-redis/cmdline"),
            pid: 2218,
            comm: "redis-server",
            start_ticks: 3252,
            uid: 0,
            // redis rewrites its title and pads the old argv area with NULs.
            args: "redis-server 127.0.0.1:6379",
        },
        Case {
            stat: fixture!("proc/pid-mariadb/stat"),
            status: fixture!("proc/pid-mariadb/status"),
            cmdline: fixture_bytes!("proc/pid-mariadb/cmdline"),
            pid: 3777,
            comm: "mariadbd",
            start_ticks: 5982,
            uid: 107,
            args: "/usr/sbin/mariadbd",
        },
        Case {
            stat: fixture!("proc/pid-nats/stat"),
            status: fixture!("proc/pid-nats/status"),
            cmdline: fixture_bytes!("proc/pid-nats/cmdline"),
            pid: 2962,
            comm: "nats-server",
            start_ticks: 4359,
            uid: 0,
            args: "/usr/sbin/nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server \
                   -l /var/log/nats-server.log",
        },
        Case {
            stat: fixture!("proc/pid-bash/stat"),
            status: fixture!("proc/pid-bash/status"),
            cmdline: fixture_bytes!("proc/pid-bash/cmdline"),
            pid: 5237,
            comm: "bash",
            start_ticks: 34438,
            uid: 0,
            args: "bash /dev/fd/3",
        },
    ];
    for c in cases {
        let s = process::stat(c.stat).expect(c.comm);
        assert_eq!(s.pid, c.pid);
        assert_eq!(s.comm, c.comm);
        assert_eq!(s.state, 'S', "{}", c.comm);
        assert_eq!(s.start_ticks, c.start_ticks, "{}", c.comm);
        assert_eq!((s.comm.clone(), s.ppid), status_name_ppid(c.status));
        assert_eq!(process::status_uid(c.status), Some(c.uid), "{}", c.comm);
        assert_eq!(process::cmdline(c.cmdline), c.args);
    }
}

fn endpoints(sockets: &[vigil_model::ListeningSocket]) -> BTreeSet<(String, u16)> {
    sockets
        .iter()
        .map(|s| (s.address.clone(), s.port))
        .collect()
}

fn set(items: &[(&str, u16)]) -> BTreeSet<(String, u16)> {
    items.iter().map(|(a, p)| ((*a).to_owned(), *p)).collect()
}

#[test]
fn tcp_listeners_match_ss() {
    // `ss -ltnH` on the same snapshot (fixtures/proc/ss-ltn.txt): 9 IPv4 and 4 IPv6 listeners.
    let v4 = net::proc_net(fixture!("proc/net_tcp"), Protocol::Tcp);
    assert!(v4.skipped.is_empty(), "{:?}", v4.skipped);
    assert_eq!(
        endpoints(&v4.value),
        set(&[
            ("127.0.0.1", 25672),
            ("0.0.0.0", 2024),
            ("127.0.0.1", 3306),
            ("127.0.0.1", 1883),
            ("127.0.0.1", 6379),
            ("127.0.0.1", 4222),
            ("127.0.0.1", 4369),
            ("127.0.0.1", 5672),
            ("127.0.0.1", 5432),
        ])
    );
    assert_eq!(v4.value.len(), 9);
    let pg = v4.value.iter().find(|s| s.port == 5432).expect("postgres");
    assert_eq!((pg.uid, pg.inode), (101, 3846));
    assert!(v4
        .value
        .iter()
        .all(|s| s.protocol == Protocol::Tcp && s.pid == 0 && s.process.is_empty()));
    assert_eq!(v4.value.iter().filter(|s| s.is_wildcard()).count(), 1);

    let v6 = net::proc_net(fixture!("proc/net_tcp6"), Protocol::Tcp6);
    assert!(v6.skipped.is_empty(), "{:?}", v6.skipped);
    // ss prints `*` for `::` and brackets the rest.
    assert_eq!(
        endpoints(&v6.value),
        set(&[
            ("::", 40057),
            ("::1", 6379),
            ("::1", 4369),
            ("::ffff:127.0.0.1", 40056),
        ])
    );
    assert_eq!(v6.value.len(), 4);
    assert!(v6.value.iter().all(|s| s.protocol == Protocol::Tcp6));
}

#[test]
fn udp_sockets_match_ss() {
    // `ss -lunH` on the same snapshot (fixtures/proc/ss-lun.txt). The connected UDP socket in
    // net_udp (state 01) is not listed by ss and must not be kept.
    let v4 = net::proc_net(fixture!("proc/net_udp"), Protocol::Udp);
    assert!(v4.skipped.is_empty(), "{:?}", v4.skipped);
    assert_eq!(endpoints(&v4.value), set(&[("127.0.0.1", 40053)]));
    assert_eq!(v4.value[0].inode, 13850);

    let v6 = net::proc_net(fixture!("proc/net_udp6"), Protocol::Udp6);
    assert!(v6.skipped.is_empty(), "{:?}", v6.skipped);
    assert_eq!(endpoints(&v6.value), set(&[("::", 40054), ("::1", 40055)]));
}

#[test]
fn proc_net_with_the_wrong_family_skips_every_row() {
    let p = net::proc_net(fixture!("proc/net_tcp"), Protocol::Tcp6);
    assert!(p.value.is_empty());
    // 17 rows in the table, header excluded.
    assert_eq!(p.skipped_total, 17);
}

#[test]
fn accounts_real() {
    let p = accounts::accounts(
        fixture!("etc/passwd"),
        Some(fixture!("etc/shadow")),
        Some(fixture!("etc/group")),
    );
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    // `getent passwd | wc -l` on the same host.
    assert_eq!(p.value.len(), 30);
    let by = |name: &str| {
        p.value
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let root = by("root");
    assert_eq!((root.uid, root.gid, root.home.as_str()), (0, 0, "/root"));
    assert!(root.admin && root.login_shell);
    assert_eq!(root.password, AccountPassword::HasPassword);
    assert_eq!(by("cloudsdk").password, AccountPassword::HasPassword);
    assert_eq!(by("sync").password, AccountPassword::NoPassword);
    assert!(!by("sync").login_shell);
    for locked in [
        "daemon",
        "redis",
        "epmd",
        "nats",
        "messagebus",
        "systemd-network",
    ] {
        assert_eq!(by(locked).password, AccountPassword::Locked, "{locked}");
    }
    // Not in the fixture shadow.
    assert_eq!(by("rabbitmq").password, AccountPassword::Unknown);
    assert_eq!(by("mysql").password, AccountPassword::Unknown);
    assert!(!by("mysql").login_shell);

    // The host's sudo group is empty, so only uid 0 is admin.
    let admins: Vec<&str> = p
        .value
        .iter()
        .filter(|a| a.admin)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(admins, ["root"]);
    let logins: Vec<&str> = p
        .value
        .iter()
        .filter(|a| a.login_shell)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(logins, ["root", "cloudsdk", "postgres"]);
    let count = |state| p.value.iter().filter(|a| a.password == state).count();
    assert_eq!(count(AccountPassword::HasPassword), 2);
    assert_eq!(count(AccountPassword::NoPassword), 1);
    assert_eq!(count(AccountPassword::Unknown), 2);
    assert_eq!(count(AccountPassword::Locked), 25);
}

#[test]
fn accounts_real_with_added_sudoer() {
    // The real group file with `cloudsdk` added to sudo, as `usermod -aG sudo cloudsdk` would.
    let group = fixture!("etc/group").replace("sudo:x:27:\n", "sudo:x:27:cloudsdk\n");
    assert_ne!(group, fixture!("etc/group"));
    let p = accounts::accounts(fixture!("etc/passwd"), None, Some(&group));
    let admins: Vec<&str> = p
        .value
        .iter()
        .filter(|a| a.admin)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(admins, ["root", "cloudsdk"]);
    assert!(p
        .value
        .iter()
        .all(|a| a.password == AccountPassword::Unknown));
}

#[test]
fn dpkg_status_matches_dpkg_query() {
    let p = packages::dpkg_status(fixture!("dpkg/status"));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    // `dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t
    // ${source:Package}\t${source:Version}\n'` over the same packages, before the fixture
    // packages were purged. `ii` and `hi` are installed; `rc` is removed with config files left.
    let oracle: Vec<Package> = fixture!("dpkg/dpkg-query.txt")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let installed = matches!(f[0].trim(), "ii" | "hi");
            installed.then(|| Package {
                format: PackageFormat::Dpkg,
                name: f[1].into(),
                version: f[2].into(),
                arch: f[3].into(),
                source: f[4].into(),
                source_version: f[5].into(),
            })
        })
        .collect();
    assert_eq!(oracle.len(), 31);
    let mut got = p.value.clone();
    got.sort();
    let mut want = oracle;
    want.sort();
    assert_eq!(got, want);

    let held = p
        .value
        .iter()
        .find(|p| p.name == "vigil-fixture-held")
        .expect("held package kept");
    assert_eq!(
        (held.source.as_str(), held.source_version.as_str()),
        ("vigil-fixture-src", "3:2.0-5")
    );
    assert!(p.value.iter().all(|p| p.name != "vigil-fixture-conf"));
}

#[test]
fn apk_installed_sample() {
    let p = packages::apk_installed(fixture!("apk/installed"));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    let got: Vec<(&str, &str, &str, &str)> = p
        .value
        .iter()
        .map(|p| {
            assert_eq!(p.format, PackageFormat::Apk);
            assert_eq!(p.arch, "x86_64");
            assert_eq!(p.source_version, p.version);
            (
                p.name.as_str(),
                p.version.as_str(),
                p.source.as_str(),
                p.arch.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("musl", "1.2.4_git20230717-r4", "musl", "x86_64"),
            ("busybox", "1.36.1-r15", "busybox", "x86_64"),
            ("ssl_client", "1.36.1-r15", "busybox", "x86_64"),
            ("libcrypto3", "3.1.4-r5", "openssl", "x86_64"),
            (
                "alpine-baselayout-data",
                "3.4.3-r2",
                "alpine-baselayout",
                "x86_64"
            ),
            ("zlib", "1.3.1-r0", "zlib", "x86_64"),
        ]
    );
}

fn rpm_expected() -> [Package; 2] {
    [
        Package {
            format: PackageFormat::Rpm,
            name: "vigil-hello".into(),
            version: "1.2.3-4.vg1".into(),
            arch: "noarch".into(),
            source: "vigil-hello".into(),
            source_version: "1.2.3-4.vg1".into(),
        },
        Package {
            format: PackageFormat::Rpm,
            name: "vigil-epoch".into(),
            version: "2:0.9-1.el9".into(),
            arch: "noarch".into(),
            source: "vigil-epoch".into(),
            source_version: "2:0.9-1.el9".into(),
        },
    ]
}

#[test]
fn rpm_headers_from_sqlite_rpmdb() {
    let [hello, epoch] = rpm_expected();
    assert_eq!(
        packages::rpm_header(fixture_bytes!("rpm/vigil-hello.hdr")),
        Some(hello)
    );
    assert_eq!(
        packages::rpm_header(fixture_bytes!("rpm/vigil-epoch.hdr")),
        Some(epoch)
    );
}

#[test]
fn rpm_qa_output_matches_headers() {
    let p = packages::rpm_qa(fixture!("rpm/rpm-qa.txt"));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    assert_eq!(p.value, rpm_expected());
}

#[test]
fn rpm_queryformat_is_the_captured_one() {
    // The fixture was captured with this exact argument; a change here needs a new capture.
    assert_eq!(
        packages::RPM_QUERYFORMAT,
        "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n"
    );
}

#[test]
fn socket_inode_from_fd_links() {
    assert_eq!(net::socket_inode("socket:[3846]"), Some(3846));
    assert_eq!(net::socket_inode("anon_inode:[eventpoll]"), None);
}
