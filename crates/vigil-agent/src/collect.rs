//! Reads this host's `/proc`, `/etc` and package databases and builds an [`Inventory`] with the
//! pure parsers of `vigil-collect`. Unreadable or malformed sources are counted, never fatal.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use vigil_collect::{accounts, ifaddr, net, os, packages, process};
use vigil_model::{Inventory, OsInfo, Package, ProcessInfo, Protocol};

/// Executables larger than this are not hashed (it would cost too much CPU for an idle agent).
const MAX_HASH_BYTES: u64 = 256 * 1024 * 1024;

/// Linux reports process start times in clock ticks; USER_HZ is 100 on every mainstream arch.
const CLOCK_TICKS: u64 = 100;

/// Collects inventories, remembering executable hashes between runs.
#[derive(Debug)]
pub struct Collector {
    root: PathBuf,
    hashes: HashMap<(String, u64, i64), String>,
    /// Sources skipped or unreadable in the last run, by name.
    pub skipped: HashMap<&'static str, usize>,
}

impl Collector {
    /// `root` is `/` on a live host; another directory for a mounted image.
    pub fn new(root: &Path) -> Collector {
        Collector {
            root: root.to_path_buf(),
            hashes: HashMap::new(),
            skipped: HashMap::new(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    fn read(&mut self, rel: &str) -> Option<String> {
        match std::fs::read(self.path(rel)) {
            Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            Err(_) => None,
        }
    }

    fn skip(&mut self, what: &'static str, n: usize) {
        if n > 0 {
            *self.skipped.entry(what).or_default() += n;
        }
    }

    /// The listening sockets with their owning processes (the `sockets` of a snapshot).
    pub fn listening_sockets(&mut self) -> Vec<vigil_model::ListeningSocket> {
        let os = self.os_info();
        let accounts = self.accounts();
        let users: HashMap<u32, String> =
            accounts.iter().map(|a| (a.uid, a.name.clone())).collect();
        let processes = self.processes(os.boot_time, &users);
        self.sockets(&processes)
    }

    /// A full snapshot stamped `now`.
    pub fn collect(&mut self, now: i64) -> Inventory {
        self.skipped.clear();
        let os = self.os_info();
        let accounts = self.accounts();
        let users: HashMap<u32, String> =
            accounts.iter().map(|a| (a.uid, a.name.clone())).collect();
        let processes = self.processes(os.boot_time, &users);
        let sockets = self.sockets(&processes);
        let packages = self.packages();
        Inventory {
            collected_at: now,
            os,
            processes,
            sockets,
            accounts,
            packages,
        }
    }

    pub fn os_info(&mut self) -> OsInfo {
        let rel = self
            .read("etc/os-release")
            .or_else(|| self.read("usr/lib/os-release"))
            .unwrap_or_default();
        let parsed = os::os_release(&rel);
        self.skip("os-release", parsed.skipped_total);
        let r = parsed.value;
        let (cpu_model, cpu_count) = os::cpuinfo(&self.read("proc/cpuinfo").unwrap_or_default());
        let mut ips: Vec<String> = Vec::new();
        if let Some(trie) = self.read("proc/net/fib_trie") {
            ips.extend(
                ifaddr::local_ipv4(&trie)
                    .into_iter()
                    .filter(|i| !i.is_loopback())
                    .map(|i| i.to_string()),
            );
        }
        if let Some(v6) = self.read("proc/net/if_inet6") {
            ips.extend(ifaddr::global_ipv6(&v6).into_iter().map(|i| i.to_string()));
        }
        OsInfo {
            id: r.id,
            version_id: r.version_id,
            pretty_name: r.pretty_name,
            codename: r.codename,
            id_like: r.id_like,
            kernel: self
                .read("proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            arch: std::env::consts::ARCH.to_string(),
            hostname: self
                .read("proc/sys/kernel/hostname")
                .unwrap_or_default()
                .trim()
                .to_string(),
            cpu_model,
            cpu_count,
            memory_total_kb: os::meminfo_total_kb(&self.read("proc/meminfo").unwrap_or_default())
                .unwrap_or(0),
            ips,
            boot_time: os::boot_time(&self.read("proc/stat").unwrap_or_default()).unwrap_or(0),
        }
    }

    fn accounts(&mut self) -> Vec<vigil_model::Account> {
        let Some(passwd) = self.read("etc/passwd") else {
            self.skip("passwd", 1);
            return Vec::new();
        };
        let shadow = self.read("etc/shadow");
        let group = self.read("etc/group");
        let parsed = accounts::accounts(&passwd, shadow.as_deref(), group.as_deref());
        self.skip("accounts", parsed.skipped_total);
        parsed.value
    }

    fn processes(&mut self, boot_time: i64, users: &HashMap<u32, String>) -> Vec<ProcessInfo> {
        let Ok(dir) = std::fs::read_dir(self.path("proc")) else {
            self.skip("proc", 1);
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let base = format!("proc/{pid}");
            // Processes exit while we look: a missing file just means it is gone.
            let Some(stat) = self
                .read(&format!("{base}/stat"))
                .and_then(|s| process::stat(&s))
            else {
                continue;
            };
            let uid = self
                .read(&format!("{base}/status"))
                .and_then(|s| process::status_uid(&s))
                .unwrap_or(0);
            let cmdline = std::fs::read(self.path(&format!("{base}/cmdline")))
                .map(|b| process::cmdline(&b))
                .unwrap_or_default();
            let exe_link = self.path(&format!("{base}/exe"));
            let exe = std::fs::read_link(&exe_link)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let exe_sha256 = if exe.is_empty() {
                String::new()
            } else {
                self.hash_exe(&exe_link, &exe)
            };
            out.push(ProcessInfo {
                pid,
                ppid: stat.ppid,
                uid,
                user: users.get(&uid).cloned().unwrap_or_else(|| uid.to_string()),
                name: stat.comm,
                exe,
                cmdline,
                exe_sha256,
                start_time: boot_time + (stat.start_ticks / CLOCK_TICKS) as i64,
                start_ticks: stat.start_ticks,
            });
        }
        out.sort_by_key(|p| p.pid);
        out
    }

    /// Hashes through `/proc/PID/exe`, which works even when the file was deleted or replaced,
    /// cached by path, size and modification time.
    fn hash_exe(&mut self, link: &Path, exe: &str) -> String {
        let Ok(meta) = std::fs::metadata(link) else {
            return String::new();
        };
        use std::os::unix::fs::MetadataExt;
        let key = (exe.to_string(), meta.len(), meta.mtime());
        if let Some(h) = self.hashes.get(&key) {
            return h.clone();
        }
        if meta.len() > MAX_HASH_BYTES {
            return String::new();
        }
        let Ok(mut f) = std::fs::File::open(link) else {
            return String::new();
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(_) => return String::new(),
            }
        }
        let h = hex::encode(hasher.finalize());
        if self.hashes.len() > 4096 {
            self.hashes.clear();
        }
        self.hashes.insert(key, h.clone());
        h
    }

    fn sockets(&mut self, processes: &[ProcessInfo]) -> Vec<vigil_model::ListeningSocket> {
        let mut out = Vec::new();
        for (file, proto) in [
            ("proc/net/tcp", Protocol::Tcp),
            ("proc/net/tcp6", Protocol::Tcp6),
            ("proc/net/udp", Protocol::Udp),
            ("proc/net/udp6", Protocol::Udp6),
        ] {
            if let Some(text) = self.read(file) {
                let parsed = net::proc_net(&text, proto);
                self.skip("proc/net", parsed.skipped_total);
                out.extend(parsed.value);
            }
        }
        if out.is_empty() {
            return out;
        }
        let wanted: HashMap<u64, usize> =
            out.iter().enumerate().map(|(i, s)| (s.inode, i)).collect();
        for p in processes {
            let Ok(fds) = std::fs::read_dir(self.path(&format!("proc/{}/fd", p.pid))) else {
                continue;
            };
            for fd in fds.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else {
                    continue;
                };
                let Some(inode) = net::socket_inode(&target.to_string_lossy()) else {
                    continue;
                };
                if let Some(&i) = wanted.get(&inode) {
                    if out[i].pid == 0 {
                        out[i].pid = p.pid;
                        out[i].process = p.name.clone();
                        out[i].exe = p.exe.clone();
                        out[i].start_ticks = p.start_ticks;
                    }
                }
            }
        }
        out.sort_by(|a, b| (a.port, a.protocol, &a.address).cmp(&(b.port, b.protocol, &b.address)));
        out
    }

    fn packages(&mut self) -> Vec<Package> {
        let mut out = Vec::new();
        if let Some(text) = self.read("var/lib/dpkg/status") {
            let parsed = packages::dpkg_status(&text);
            self.skip("dpkg", parsed.skipped_total);
            out.extend(parsed.value);
        }
        if let Some(text) = self.read("lib/apk/db/installed") {
            let parsed = packages::apk_installed(&text);
            self.skip("apk", parsed.skipped_total);
            out.extend(parsed.value);
        }
        out.extend(self.rpm_packages());
        out.sort();
        out
    }

    /// RPM databases are SQLite files on current distributions (RHEL 9, Fedora, SUSE 15.4+).
    fn rpm_packages(&mut self) -> Vec<Package> {
        let db = self.path("var/lib/rpm/rpmdb.sqlite");
        if !db.exists() {
            return Vec::new();
        }
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let result = rusqlite::Connection::open_with_flags(&db, flags).and_then(|c| {
            let mut st = c.prepare("SELECT blob FROM Packages")?;
            let blobs = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            blobs.collect::<rusqlite::Result<Vec<_>>>()
        });
        match result {
            Ok(blobs) => {
                let total = blobs.len();
                let pkgs: Vec<Package> = blobs
                    .iter()
                    .filter_map(|b| packages::rpm_header(b))
                    .collect();
                let pkgs: Vec<Package> = pkgs
                    .into_iter()
                    .filter(|p| p.name != "gpg-pubkey")
                    .collect();
                self.skip("rpm", total - pkgs.len());
                pkgs
            }
            Err(e) => {
                tracing::warn!(error = %e, db = %db.display(), "rpm database unreadable");
                self.skip("rpm", 1);
                Vec::new()
            }
        }
    }
}

/// Resident memory of this process in KiB, from `/proc/self/status`.
pub fn self_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The live host is the most real fixture there is; the checks are ones any Linux host
    /// running these tests satisfies.
    #[test]
    fn live_host_inventory() {
        let mut c = Collector::new(Path::new("/"));
        let inv = c.collect(42);
        assert_eq!(inv.collected_at, 42);
        assert!(!inv.os.kernel.is_empty());
        assert!(inv.os.cpu_count >= 1);
        assert!(inv.os.memory_total_kb > 0);
        assert!(inv.os.boot_time > 1_000_000_000);
        let me = inv
            .processes
            .iter()
            .find(|p| p.pid == std::process::id())
            .expect("own process");
        let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(me.exe_sha256, hex::encode(Sha256::digest(&own)));
        assert!(me.start_time >= inv.os.boot_time);
        assert!(inv
            .accounts
            .iter()
            .any(|a| a.name == "root" && a.uid == 0 && a.admin));

        // A socket this test opens is found, with this process as its owner.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inv = c.collect(43);
        let s = inv
            .sockets
            .iter()
            .find(|s| s.port == port)
            .expect("own listening socket");
        assert_eq!(
            (s.address.as_str(), s.pid),
            ("127.0.0.1", std::process::id())
        );
        if Path::new("/var/lib/dpkg/status").exists() {
            assert!(inv.packages.iter().any(|p| p.name == "dpkg"));
        }
    }

    #[test]
    fn empty_root_gives_empty_inventory_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Collector::new(dir.path());
        let inv = c.collect(1);
        assert!(inv.processes.is_empty() && inv.packages.is_empty() && inv.accounts.is_empty());
        assert!(c.skipped.contains_key("passwd"));
    }
}
