//! What a baseline is judged on: the files the checks name, as read from a host or a tree, and
//! what only a running host can tell (kernel settings in force, listening sockets, installed
//! packages, loaded modules). Built by the agent or `vigil scan baseline`, or from a check's
//! fixture in tests; the checks never read anything else.

use std::collections::{BTreeMap, BTreeSet};
use vigil_model::ListeningSocket;

/// One path as the collector found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFact {
    /// A regular file: its text (read lossily, at most the collector's size bound), permission
    /// bits, owner and group.
    File {
        text: String,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// A directory: its mode, owner and group, and the names in it.
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
        entries: Vec<String>,
    },
    /// Present but not readable, too large, or not a regular file: why.
    Unreadable { reason: String },
}

/// Everything a baseline run is judged on. Absent keys mean "not there"; `None` for the
/// host-only facts means "not known" (a tree, not a running host), and the checks that need
/// them are `not_applicable`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Absolute path (as on the host) → what is there.
    pub files: BTreeMap<String, FileFact>,
    /// Installed package names.
    pub packages: Option<BTreeSet<String>>,
    /// Kernel settings in force (`/proc/sys`, as `net.ipv4.ip_forward`).
    pub sysctl: Option<BTreeMap<String, String>>,
    pub sockets: Option<Vec<ListeningSocket>>,
    /// Loaded kernel modules.
    pub modules: Option<BTreeSet<String>>,
    /// Weak-password scans by source (`system`, `redis`, …); `None` when none ran.
    pub credentials: Option<BTreeMap<String, CredentialScan>>,
    /// When the facts were collected (Unix seconds); certificate expiry needs it.
    pub now: Option<i64>,
    /// The listening programs of this host's own mount namespace (not containers'): whether a
    /// package owns each.
    pub exe_packaged: Option<BTreeMap<String, bool>>,
}

/// What the weak-password scan of one source found. It never holds a password: only which
/// accounts are weak and why ("same as user name", "in common-password list").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialScan {
    /// Where the accounts come from (`/etc/shadow`, `redis 127.0.0.1:6379`).
    pub location: String,
    pub accounts: Vec<AccountScan>,
    /// Why the source could not be examined (fully): unreachable, refused, time bound.
    pub error: Option<String>,
}

/// One account of a [`CredentialScan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountScan {
    pub account: String,
    /// Why the password is weak; `None` when no guess matched.
    pub weak: Option<String>,
    /// Guesses tried, and how many there were to try (the budget may stop short).
    pub guesses: u64,
    pub of: u64,
}

impl CredentialScan {
    /// A fixture's accounts: `name` (no guess matched) or `name: why`.
    pub fn from_fixture(accounts: &[String]) -> CredentialScan {
        CredentialScan {
            location: "fixture".into(),
            accounts: accounts
                .iter()
                .map(|a| match a.split_once(':') {
                    Some((name, why)) => AccountScan {
                        account: name.trim().into(),
                        weak: Some(why.trim().into()),
                        guesses: 1,
                        of: 1,
                    },
                    None => AccountScan {
                        account: a.trim().into(),
                        weak: None,
                        guesses: 1,
                        of: 1,
                    },
                })
                .collect(),
            error: None,
        }
    }
}

impl Facts {
    /// The text of a regular file.
    pub fn text(&self, path: &str) -> Option<&str> {
        match self.files.get(path) {
            Some(FileFact::File { text, .. }) => Some(text),
            _ => None,
        }
    }

    /// Paths matching `pattern`, where `*` in a component matches any name of a directory the
    /// collector listed, sorted (the order sshd and sysctl read a directory in).
    pub fn glob(&self, pattern: &str) -> Vec<String> {
        if !pattern.contains('*') {
            return if self.files.contains_key(pattern) {
                vec![pattern.to_string()]
            } else {
                Vec::new()
            };
        }
        let mut found = vec![String::new()];
        for part in pattern.split('/').filter(|p| !p.is_empty()) {
            let mut next = Vec::new();
            for base in &found {
                if part.contains('*') {
                    if let Some(FileFact::Dir { entries, .. }) = self.files.get(dir_key(base)) {
                        for e in entries {
                            if wildcard(part, e) {
                                next.push(format!("{base}/{e}"));
                            }
                        }
                    }
                } else {
                    next.push(format!("{base}/{part}"));
                }
            }
            found = next;
        }
        let mut out: Vec<String> = found
            .into_iter()
            .filter(|p| self.files.contains_key(p))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The account name of a uid, from `/etc/passwd` (uid 0 is `root` even without one).
    pub fn user_name(&self, uid: u32) -> Option<String> {
        self.id_name("/etc/passwd", uid)
            .or_else(|| (uid == 0).then(|| "root".to_string()))
    }

    /// The group name of a gid, from `/etc/group` (gid 0 is `root` even without one).
    pub fn group_name(&self, gid: u32) -> Option<String> {
        self.id_name("/etc/group", gid)
            .or_else(|| (gid == 0).then(|| "root".to_string()))
    }

    fn id_name(&self, file: &str, id: u32) -> Option<String> {
        self.text(file)?.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _ = f.next()?;
            (f.next()?.parse::<u32>().ok()? == id).then(|| name.to_string())
        })
    }
}

fn dir_key(base: &str) -> &str {
    if base.is_empty() {
        "/"
    } else {
        base
    }
}

/// Shell-style `*` matching (no other wildcard).
pub fn wildcard(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Patterns the files already read name for reading too (sshd's `Include`s, the certificates
/// web and mail servers name), absolute. The
/// collector reads those it has not read yet and asks again, until nothing new comes.
pub fn includes_wanted(facts: &Facts) -> Vec<String> {
    let mut out = super::sshd::include_patterns(facts);
    out.extend(super::services::named_certificates(facts));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "50-cloud.conf"));
        assert!(!wildcard("*.conf", "50-cloud.conf.bak"));
        assert!(wildcard("a*b*c", "aXbYc"));
        assert!(!wildcard("a*b*c", "aXc"));
        assert!(wildcard("*", ""));
        assert!(wildcard("x", "x") && !wildcard("x", "y"));
    }

    #[test]
    fn globs_read_listed_directories_in_order() {
        let mut f = Facts::default();
        let dir = |entries: &[&str]| FileFact::Dir {
            mode: 0o755,
            uid: 0,
            gid: 0,
            entries: entries.iter().map(|s| s.to_string()).collect(),
        };
        let file = || FileFact::File {
            text: String::new(),
            mode: 0o644,
            uid: 0,
            gid: 0,
        };
        f.files.insert(
            "/etc/sysctl.d".into(),
            dir(&["99-z.conf", "10-a.conf", "x.txt"]),
        );
        f.files.insert("/etc/sysctl.d/99-z.conf".into(), file());
        f.files.insert("/etc/sysctl.d/10-a.conf".into(), file());
        f.files.insert("/etc/sysctl.d/x.txt".into(), file());
        assert_eq!(
            f.glob("/etc/sysctl.d/*.conf"),
            vec!["/etc/sysctl.d/10-a.conf", "/etc/sysctl.d/99-z.conf"]
        );
        assert!(f.glob("/etc/missing/*.conf").is_empty());
        f.files.insert(
            "/etc/passwd".into(),
            FileFact::File {
                text:
                    "root:x:0:0::/root:/bin/bash\nsshd:x:104:65534::/run/sshd:/usr/sbin/nologin\n"
                        .into(),
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
        );
        assert_eq!(f.user_name(104).as_deref(), Some("sshd"));
        assert_eq!(f.user_name(7), None);
    }
}
