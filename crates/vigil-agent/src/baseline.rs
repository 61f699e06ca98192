//! Collecting what a baseline is judged on, from this host or from a system tree: the files
//! the checks name (globs expanded, sshd `Include`s followed), bounded in size and count, with
//! links resolved inside the tree; and on a running host the kernel settings in force, the
//! loaded modules and the listening sockets. The judging itself is pure
//! (`vigil_detect::baseline`).

use crate::tree::resolve_in_root;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use vigil_detect::baseline::{self, Check, Facts, FileFact, Test};

/// A configuration file larger than this is reported, not read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The package database may be large.
const MAX_DPKG_STATUS_BYTES: u64 = 64 << 20;
/// Names listed per directory at most.
const MAX_DIR_ENTRIES: usize = 10_000;
/// Paths read per run at most (globs over huge directories stop here).
const MAX_PATHS: usize = 20_000;
/// Rounds of following what read files include.
const MAX_ROUNDS: usize = 8;
const DPKG_STATUS: &str = "/var/lib/dpkg/status";

/// What to read: a tree, and whether it is the running host (`/` with its kernel).
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub root: &'a Path,
    /// True for the running host: also read `/proc/sys`, `/proc/modules` and the sockets.
    pub live: bool,
}

/// Reads everything `checks` need from `source`.
pub fn collect(source: &Source<'_>, checks: &[Check]) -> Facts {
    let mut c = Collecting {
        root: source.root,
        facts: Facts::default(),
        read: 0,
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = baseline::wanted(checks);
    for _ in 0..MAX_ROUNDS {
        let fresh: Vec<String> = todo
            .into_iter()
            .filter(|p| done.insert(p.clone()))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for pattern in &fresh {
            c.expand(pattern);
        }
        todo = baseline::facts::includes_wanted(&c.facts);
    }
    c.facts.now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    if source.live {
        c.facts.sysctl = Some(sysctl_values(source.root, checks));
        c.facts.modules = Some(loaded_modules(source.root));
        let mut inventory = crate::collect::Collector::new(source.root);
        let sockets = inventory.listening_sockets();
        c.facts.exe_packaged = packaged_programs(source.root, &sockets);
        c.facts.sockets = Some(sockets);
    }
    c.facts
}

struct Collecting<'a> {
    root: &'a Path,
    facts: Facts,
    read: usize,
}

impl Collecting<'_> {
    /// Reads the paths `pattern` matches (`*` in any component).
    fn expand(&mut self, pattern: &str) {
        let mut bases = vec![String::new()];
        for part in pattern.split('/').filter(|p| !p.is_empty()) {
            let mut next = Vec::new();
            for base in &bases {
                if part.contains('*') {
                    let dir = if base.is_empty() { "/" } else { base.as_str() };
                    self.read_path(dir);
                    if let Some(FileFact::Dir { entries, .. }) = self.facts.files.get(dir) {
                        for e in entries {
                            if baseline::facts::wildcard(part, e) {
                                next.push(format!("{base}/{e}"));
                            }
                        }
                    }
                } else {
                    next.push(format!("{base}/{part}"));
                }
            }
            bases = next;
        }
        for path in bases {
            self.read_path(&path);
        }
    }

    /// Records what is at `path` (absolute, as on the host), once.
    fn read_path(&mut self, path: &str) {
        if self.facts.files.contains_key(path) || self.read >= MAX_PATHS {
            return;
        }
        self.read += 1;
        let real = match resolve_in_root(self.root, path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.unreadable(path, e.to_string());
                return;
            }
        };
        let meta = match fs::metadata(&real) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.unreadable(path, e.to_string());
                return;
            }
        };
        let (mode, uid, gid) = (meta.mode() & 0o7777, meta.uid(), meta.gid());
        if meta.is_dir() {
            let mut entries: Vec<String> = match fs::read_dir(&real) {
                Ok(rd) => rd
                    .flatten()
                    .take(MAX_DIR_ENTRIES)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(e) => {
                    self.unreadable(path, e.to_string());
                    return;
                }
            };
            entries.sort();
            self.facts.files.insert(
                path.to_string(),
                FileFact::Dir {
                    mode,
                    uid,
                    gid,
                    entries,
                },
            );
            return;
        }
        if !meta.is_file() {
            self.unreadable(path, "not a regular file".into());
            return;
        }
        if path == DPKG_STATUS {
            self.dpkg_status(&real);
            return;
        }
        if meta.len() > MAX_FILE_BYTES {
            self.unreadable(
                path,
                format!("{} bytes, more than the {MAX_FILE_BYTES} read", meta.len()),
            );
            return;
        }
        match read_capped(&real, MAX_FILE_BYTES) {
            Ok(bytes) => {
                self.facts.files.insert(
                    path.to_string(),
                    FileFact::File {
                        text: String::from_utf8_lossy(&bytes).into_owned(),
                        mode,
                        uid,
                        gid,
                    },
                );
            }
            Err(e) => self.unreadable(path, e.to_string()),
        }
    }

    fn unreadable(&mut self, path: &str, reason: String) {
        self.facts
            .files
            .insert(path.to_string(), FileFact::Unreadable { reason });
    }

    /// The installed packages, from the dpkg database (not kept as text).
    fn dpkg_status(&mut self, real: &Path) {
        let Ok(bytes) = read_capped(real, MAX_DPKG_STATUS_BYTES) else {
            return;
        };
        let parsed = vigil_collect::packages::dpkg_status(&String::from_utf8_lossy(&bytes));
        let names: BTreeSet<String> = parsed.value.into_iter().map(|p| p.name).collect();
        self.facts.packages = Some(names);
    }
}

pub(crate) fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?.take(cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The kernel settings the checks name, as in force (`/proc/sys`).
fn sysctl_values(root: &Path, checks: &[Check]) -> BTreeMap<String, String> {
    fn keys(t: &Test, out: &mut BTreeSet<String>) {
        match t {
            Test::Sysctl { key, .. } => {
                out.insert(key.clone());
            }
            Test::AnyOf { tests } => tests.iter().for_each(|t| keys(t, out)),
            _ => {}
        }
    }
    let mut wanted = BTreeSet::new();
    for c in checks {
        keys(&c.test, &mut wanted);
    }
    wanted
        .into_iter()
        .filter(|k| {
            k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .filter_map(|k| {
            let path = root.join("proc/sys").join(k.replace('.', "/"));
            let v = fs::read_to_string(path).ok()?;
            Some((k, v.split_whitespace().collect::<Vec<_>>().join(" ")))
        })
        .collect()
}

/// The other spellings of a path under merged `/usr` (dpkg may list `/bin/x` for `/usr/bin/x`).
fn usr_aliases(exe: &str) -> Vec<String> {
    let mut out = vec![exe.to_string()];
    if let Some(rest) = exe.strip_prefix("/usr") {
        if ["/bin/", "/sbin/", "/lib/"]
            .iter()
            .any(|p| rest.starts_with(p))
        {
            out.push(rest.to_string());
        }
    } else if ["/bin/", "/sbin/", "/lib/"]
        .iter()
        .any(|p| exe.starts_with(p))
    {
        out.push(format!("/usr{exe}"));
    }
    out
}

/// Whether a package owns each listening program of the host's own mount namespace (those in
/// containers are left out: their paths are the container's). Vigil's own executable counts as
/// owned. `None` without a dpkg database.
fn packaged_programs(
    root: &Path,
    sockets: &[vigil_model::ListeningSocket],
) -> Option<BTreeMap<String, bool>> {
    let info = root.join("var/lib/dpkg/info");
    let lists = fs::read_dir(&info).ok()?;
    let host_ns = fs::read_link(root.join("proc/1/ns/mnt")).ok();
    let me = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut wanted: BTreeMap<String, bool> = BTreeMap::new();
    for s in sockets.iter().filter(|s| !s.exe.is_empty() && s.pid > 0) {
        let ns = fs::read_link(root.join(format!("proc/{}/ns/mnt", s.pid))).ok();
        if host_ns.is_some() && ns != host_ns {
            continue;
        }
        wanted.insert(s.exe.clone(), s.exe == me);
    }
    if wanted.values().all(|&owned| owned) {
        return Some(wanted);
    }
    let mut by_path: BTreeMap<String, String> = BTreeMap::new();
    for exe in wanted.keys() {
        for alias in usr_aliases(exe) {
            by_path.insert(alias, exe.clone());
        }
    }
    for entry in lists.flatten().take(MAX_DIR_ENTRIES) {
        let name = entry.file_name();
        if !name.to_string_lossy().ends_with(".list") {
            continue;
        }
        let Ok(bytes) = read_capped(&entry.path(), MAX_FILE_BYTES * 16) else {
            continue;
        };
        for line in String::from_utf8_lossy(&bytes).lines() {
            if let Some(exe) = by_path.get(line) {
                wanted.insert(exe.clone(), true);
            }
        }
    }
    Some(wanted)
}

fn loaded_modules(root: &Path) -> BTreeSet<String> {
    fs::read_to_string(root.join("proc/modules"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|m| m.replace('_', "-"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    #[test]
    fn a_tree_is_read_as_root_with_globs_includes_and_links_inside_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let w = |rel: &str, text: &str| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, text).unwrap();
        };
        w(
            "etc/ssh/sshd_config",
            "Include /etc/ssh/extra/*.conf\nPermitRootLogin no\n",
        );
        w("etc/ssh/extra/10-a.conf", "MaxAuthTries 3\n");
        w("etc/sysctl.d/90-x.conf", "net.ipv4.ip_forward = 0\n");
        w("real/shadow", "root:*:1::::::\n");
        fs::set_permissions(root.join("real/shadow"), fs::Permissions::from_mode(0o640)).unwrap();
        // An absolute link inside the tree reads the tree's file, not the host's.
        symlink("/real/shadow", root.join("etc/shadow")).unwrap();
        symlink("/etc/hostname-of-the-host", root.join("etc/escape")).unwrap();
        let check = |test: Test| Check {
            id: "t".into(),
            title: "t".into(),
            category: baseline::Category::Other,
            level: baseline::Severity::Low,
            examines: "t".into(),
            test,
            remediation: "t".into(),
            refs: vec![],
            pass: vec![],
            fail: vec![],
        };
        let checks = vec![
            check(Test::Sshd {
                explicit: false,
                key: "MaxAuthTries".into(),
                is: baseline::Cond {
                    at_most: Some(4),
                    ..Default::default()
                },
            }),
            check(Test::Sysctl {
                key: "net.ipv4.ip_forward".into(),
                is: baseline::Cond {
                    one_of: Some(vec!["0".into()]),
                    ..Default::default()
                },
            }),
            check(Test::Mode {
                path: "/etc/shadow".into(),
                max: "0640".into(),
                owner: None,
                group: None,
            }),
            check(Test::Exists {
                path: "/etc/escape".into(),
                must: baseline::Presence::Absent,
            }),
        ];
        let facts = collect(&Source { root, live: false }, &checks);
        assert!(facts.sysctl.is_none() && facts.sockets.is_none());
        assert!(
            facts.files.contains_key("/etc/ssh/extra/10-a.conf"),
            "{:?}",
            facts.files.keys()
        );
        let results = baseline::evaluate(&checks, &facts);
        let statuses: Vec<_> = results.iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![baseline::Status::Passed; 4], "{results:#?}");
        assert!(results[0].file.ends_with("10-a.conf:1"), "{:?}", results[0]);
    }
}
