//! Simulated agent traffic: the events a fleet's agents report, varied per host and batch.

use vigil_model::{
    Account, AccountPassword, Event, EventBody, ListeningSocket, OsInfo, Package, PackageFormat,
    Protocol,
};

const PACKAGES: &[(&str, &str)] = &[
    ("openssl", "openssl"),
    ("libssl3", "openssl"),
    ("curl", "curl"),
    ("libcurl4", "curl"),
    ("nginx", "nginx"),
    ("openssh-server", "openssh"),
    ("bash", "bash"),
    ("sudo", "sudo"),
    ("systemd", "systemd"),
    ("libc6", "glibc"),
    ("python3.11", "python3.11"),
    ("tzdata", "tzdata"),
];

const PROCESSES: &[&str] = &[
    "nginx",
    "sshd",
    "postgres",
    "node",
    "java",
    "redis-server",
    "python3",
];

fn package(name_idx: usize, version: u64) -> Package {
    let (name, source) = PACKAGES[name_idx % PACKAGES.len()];
    let v = format!(
        "{}.{}.{}-1+deb12u{}",
        1 + version % 4,
        version % 17,
        version % 9,
        version % 5
    );
    Package {
        format: PackageFormat::Dpkg,
        name: name.to_string(),
        version: v.clone(),
        arch: "amd64".into(),
        source: source.to_string(),
        source_version: v,
    }
}

fn account(agent: usize, n: u64) -> Account {
    let uid = 1000 + (n % 500) as u32;
    Account {
        name: format!("user{agent}x{n}"),
        uid,
        gid: uid,
        home: format!("/home/user{agent}x{n}"),
        shell: "/bin/bash".into(),
        password: AccountPassword::HasPassword,
        admin: false,
        login_shell: true,
    }
}

fn socket(agent: usize, n: u64, wildcard: bool) -> ListeningSocket {
    let process = PROCESSES[(n as usize + agent) % PROCESSES.len()];
    ListeningSocket {
        protocol: if n % 3 == 1 {
            Protocol::Tcp6
        } else {
            Protocol::Tcp
        },
        address: if wildcard {
            "0.0.0.0".into()
        } else {
            "127.0.0.1".into()
        },
        port: 1024 + ((agent as u64 * 31 + n * 7) % 60_000) as u16,
        inode: 100_000 + n * 13 + agent as u64,
        uid: 33,
        pid: 1000 + ((n * 17) % 30_000) as u32,
        process: process.to_string(),
        exe: format!("/usr/sbin/{process}"),
        start_ticks: 0,
    }
}

/// `count` events for batch `seq` of agent `agent`: mostly package and port changes, some
/// account changes, and about one in a hundred that raises an alert (a port opened on every
/// interface), as a fleet under normal churn produces.
pub fn batch_events(agent: usize, seq: u64, count: usize, time: i64) -> Vec<Event> {
    (0..count)
        .map(|i| {
            let n = seq * count as u64 + i as u64;
            let body = match n % 10 {
                0..=2 => EventBody::PackageChanged {
                    before: package(i + agent, n),
                    after: package(i + agent, n + 1),
                },
                3 => EventBody::PackageInstalled {
                    package: package(i * 7 + agent, n),
                },
                4 => EventBody::PackageRemoved {
                    package: package(i * 5 + agent, n),
                },
                5 | 6 => EventBody::PortOpened {
                    socket: socket(agent, n, n % 100 == 5),
                },
                7 => EventBody::PortClosed {
                    socket: socket(agent, n, false),
                },
                8 => EventBody::AccountAdded {
                    account: account(agent, n),
                },
                _ => {
                    let before = account(agent, n);
                    let mut after = before.clone();
                    after.shell = "/usr/bin/zsh".into();
                    EventBody::AccountChanged { before, after }
                }
            };
            Event { time, body }
        })
        .collect()
}

/// OS facts a simulated host enrolls with.
pub fn os_info(agent: usize) -> OsInfo {
    OsInfo {
        id: "debian".into(),
        version_id: "12".into(),
        pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        codename: "bookworm".into(),
        id_like: Vec::new(),
        kernel: "6.1.0-18-amd64".into(),
        arch: "x86_64".into(),
        hostname: format!("bench-{agent:05}"),
        cpu_model: "Simulated CPU".into(),
        cpu_count: 4,
        memory_total_kb: 8 * 1024 * 1024,
        ips: vec![format!(
            "10.{}.{}.{}",
            agent / 65536 % 256,
            agent / 256 % 256,
            agent % 256
        )],
        boot_time: 1_700_000_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_mix_kinds_and_some_alert() {
        let events = batch_events(3, 1, 100, 1000);
        assert_eq!(events.len(), 100);
        let kinds: std::collections::BTreeSet<&str> =
            events.iter().map(|e| e.body.kind()).collect();
        assert!(kinds.len() >= 6, "{kinds:?}");
        let alerts = vigil_detect::asset_rules::evaluate(
            &events,
            &vigil_content::Content::embedded().assets,
        );
        assert!(!alerts.is_empty() && alerts.len() <= 5, "{}", alerts.len());
    }
}
