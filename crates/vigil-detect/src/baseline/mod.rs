//! The security baseline (SPEC R-BL): checks as data, judged purely over collected [`Facts`].
//!
//! A [`Check`] names what it examines with one [`Test`] from a small closed set (an sshd
//! keyword, a kernel setting, a key in a configuration file, a file's mode and owner, lines in
//! files, mount options, a package, a service, accounts, listening ports, a path, a kernel
//! module) and a pass condition ([`Cond`]). [`evaluate`] gives each check a [`Status`] with the
//! evidence and the file it comes from; [`Check::wanted`] says which paths the collector must
//! read. Every check carries passing and failing fixtures ([`Fixture`]) that the tests of the
//! content pack run.

mod eval;
pub mod facts;
mod services;
pub mod sshd;

pub use eval::evaluate_check;
pub use facts::{AccountScan, CredentialScan, Facts, FileFact};
pub use services::CREDENTIAL_SOURCES;

use std::collections::{BTreeMap, BTreeSet};

/// The families of checks, as the console groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Category {
    IdentityAuthentication,
    AccessControl,
    NetworkServices,
    ServiceConfiguration,
    FileRights,
    SecurityAudit,
    AttackDefense,
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::IdentityAuthentication => "identity_authentication",
            Category::AccessControl => "access_control",
            Category::NetworkServices => "network_services",
            Category::ServiceConfiguration => "service_configuration",
            Category::FileRights => "file_rights",
            Category::SecurityAudit => "security_audit",
            Category::AttackDefense => "attack_defense",
            Category::Other => "other",
        }
    }
}

/// How much a failed check matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// What a check found (the model's [`vigil_model::CheckStatus`]).
pub use vigil_model::CheckStatus as Status;

/// A pass condition on one value (text, a number, or a comma-separated list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Cond {
    /// Passes when the value is one of these (case-insensitive).
    pub one_of: Option<Vec<String>>,
    /// Passes when the value is none of these (case-insensitive).
    pub not_one_of: Option<Vec<String>>,
    /// Passes when the value's leading number is at most this.
    pub at_most: Option<i64>,
    /// Passes when the value's leading number is at least this.
    pub at_least: Option<i64>,
    /// Passes when no item of the value (split at commas and spaces) is one of these
    /// (case-insensitive).
    pub none_of: Option<Vec<String>>,
    /// Passes when every item of the value (split at commas and spaces) is one of these.
    pub each_in: Option<Vec<String>>,
}

/// Whether something must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Presence {
    Present,
    Absent,
}

/// What a check judges when the value it reads is not set anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Missing {
    #[default]
    Fail,
    Pass,
    NotApplicable,
}

/// How a configuration file separates keys from values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Separator {
    /// `KEY value` (login.defs).
    #[default]
    Space,
    /// `key = value` or `key=value` (pwquality.conf, journald.conf, sysctl.conf).
    Equals,
    /// `key: value`, YAML's flat form (mongod.conf, elasticsearch.yml); the key is the last
    /// component, indentation ignored.
    Colon,
}

/// The built-in account rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AccountRule {
    /// No account but root has uid 0.
    OnlyRootUid0,
    /// No account in `/etc/shadow` has an empty password field.
    NoEmptyPassword,
    /// System accounts (uid below 1000, but root, sync, shutdown and halt) have no login shell.
    SystemAccountsNoLogin,
    /// Every group an account in `/etc/passwd` names exists in `/etc/group`.
    GroupsExist,
    /// No two accounts share a uid.
    UniqueUids,
}

/// What a check examines and how it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)
)]
pub enum Test {
    /// An sshd keyword's effective value, globally and in every `Match` block; with
    /// `explicit`, an unset keyword fails even when OpenSSH's default would pass (defaults
    /// differ across OpenSSH versions and distribution builds, and a tree does not say which).
    Sshd {
        key: String,
        is: Cond,
        #[cfg_attr(feature = "serde", serde(default))]
        explicit: bool,
    },
    /// A kernel setting: in force (on a running host) and as configured in `sysctl.d`; it must
    /// be configured, so that it holds after a reboot whatever the kernel's default.
    Sysctl {
        key: String,
        is: Cond,
    },
    /// A key in configuration files (globs, read in order; the last value wins).
    Setting {
        files: Vec<String>,
        key: String,
        #[cfg_attr(feature = "serde", serde(default))]
        separator: Separator,
        is: Cond,
        #[cfg_attr(feature = "serde", serde(default))]
        missing: Missing,
        /// The program's own default, judged when no file sets the key.
        #[cfg_attr(feature = "serde", serde(default))]
        default: Option<String>,
        /// What to judge when none of `files` is there (the program is not installed); by
        /// default the same as an unset key.
        #[cfg_attr(feature = "serde", serde(default))]
        no_file: Option<Missing>,
    },
    /// A file's permission bits (none beyond `max`, octal) and owner and group (by name); with
    /// a `*` in `path`, every file it matches (none: not applicable).
    Mode {
        path: String,
        max: String,
        #[cfg_attr(feature = "serde", serde(default))]
        owner: Option<Vec<String>>,
        #[cfg_attr(feature = "serde", serde(default))]
        group: Option<Vec<String>>,
    },
    /// A line whose first whitespace-separated words are `words`, in any of `files`.
    Line {
        files: Vec<String>,
        words: Vec<String>,
        must: Presence,
    },
    /// A mount point in `/etc/fstab` with each of `options`; `missing` judges a mount point
    /// that is not there.
    Mount {
        mount: String,
        options: Vec<String>,
        #[cfg_attr(feature = "serde", serde(default))]
        missing: Missing,
    },
    /// An installed package (needs the package list of a running host or a tree's dpkg status).
    Package {
        name: String,
        must: Presence,
    },
    /// A systemd unit enabled (linked in a `.wants` directory under `/etc/systemd/system`).
    Service {
        unit: String,
        enabled: bool,
    },
    Accounts {
        rule: AccountRule,
    },
    /// None of `ports` listens on every interface (needs a running host).
    Ports {
        ports: Vec<u16>,
    },
    /// When `port` listens (on any address), `with` listens too: a web server on 80 without
    /// HTTPS on 443 (needs a running host).
    PortPair {
        port: u16,
        with: u16,
    },
    /// Every listening socket's program belongs to an installed package (or starts with one of
    /// `allow`); programs in containers are not judged (needs a running host).
    UnpackagedListeners {
        #[cfg_attr(feature = "serde", serde(default))]
        allow: Vec<String>,
    },
    /// What the weak-password scan of one source found (`system` accounts, `redis`, `mysql`,
    /// `mysql_remote_root`, `wordpress`); not applicable when the scan did not run or the source
    /// is not on the host.
    Credentials {
        source: String,
    },
    /// The certificates the configuration of nginx, Apache and Postfix names (and `paths`),
    /// none expiring within `days` of the run.
    Certificates {
        #[cfg_attr(feature = "serde", serde(default))]
        paths: Vec<String>,
        days: u32,
    },
    /// A path (file or directory) there or not.
    Exists {
        path: String,
        must: Presence,
    },
    /// A kernel module that cannot be loaded (`install NAME /bin/false` or `blacklist NAME` in
    /// modprobe.d) and is not loaded now.
    ModuleDisabled {
        name: String,
    },
    /// Passes when any of `tests` passes (chrony or systemd-timesyncd).
    AnyOf {
        tests: Vec<Test>,
    },
}

/// A file in a fixture: its text (mode 0644, root) or the full form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
pub enum FixtureFile {
    Text(String),
    Full {
        #[cfg_attr(feature = "serde", serde(default))]
        text: String,
        /// Octal, as `0640`.
        #[cfg_attr(feature = "serde", serde(default = "default_mode"))]
        mode: String,
        #[cfg_attr(feature = "serde", serde(default))]
        uid: u32,
        #[cfg_attr(feature = "serde", serde(default))]
        gid: u32,
    },
}

#[cfg(feature = "serde")]
fn default_mode() -> String {
    "0644".into()
}

/// A host in miniature: files, and the facts only a running host has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Fixture {
    pub files: BTreeMap<String, FixtureFile>,
    /// Directories by path with their mode (octal, root-owned); others are 0755.
    pub dirs: BTreeMap<String, String>,
    pub packages: Option<Vec<String>>,
    pub sysctl: Option<BTreeMap<String, String>>,
    /// Listening sockets as `tcp 0.0.0.0:6379`, optionally followed by the program's path.
    pub listening: Option<Vec<String>>,
    /// The programs (of `listening`) that belong to a package; the others belong to none.
    pub packaged: Option<Vec<String>>,
    pub modules: Option<Vec<String>>,
    /// Weak-password scans by source: each account as `name` (not weak) or `name: why`.
    pub credentials: Option<BTreeMap<String, Vec<String>>>,
    /// The time of the run (Unix seconds), for certificate expiry.
    pub now: Option<i64>,
}

impl Fixture {
    /// The facts this fixture stands for (parent directories listed as a collector would).
    pub fn facts(&self) -> Facts {
        let mut f = Facts::default();
        let mut dirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, file) in &self.files {
            let fact = match file {
                FixtureFile::Text(text) => FileFact::File {
                    text: text.clone(),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
                FixtureFile::Full {
                    text,
                    mode,
                    uid,
                    gid,
                } => FileFact::File {
                    text: text.clone(),
                    mode: u32::from_str_radix(mode.trim_start_matches("0o"), 8).unwrap_or(0o644),
                    uid: *uid,
                    gid: *gid,
                },
            };
            f.files.insert(path.clone(), fact);
            let mut p = path.as_str();
            while let Some((dir, name)) = p.rsplit_once('/') {
                let dir = if dir.is_empty() { "/" } else { dir };
                dirs.entry(dir.to_string())
                    .or_default()
                    .insert(name.to_string());
                if dir == "/" {
                    break;
                }
                p = dir;
            }
        }
        for d in self.dirs.keys() {
            dirs.entry(d.clone()).or_default();
        }
        for (d, entries) in dirs {
            let mode = self
                .dirs
                .get(&d)
                .and_then(|m| u32::from_str_radix(m.trim_start_matches("0o"), 8).ok())
                .unwrap_or(0o755);
            f.files.entry(d).or_insert(FileFact::Dir {
                mode,
                uid: 0,
                gid: 0,
                entries: entries.into_iter().collect(),
            });
        }
        f.packages = self.packages.as_ref().map(|p| p.iter().cloned().collect());
        f.sysctl = self.sysctl.clone();
        f.modules = self.modules.as_ref().map(|m| m.iter().cloned().collect());
        f.sockets = self
            .listening
            .as_ref()
            .map(|l| l.iter().filter_map(|s| eval::parse_listening(s)).collect());
        f.credentials = self.credentials.as_ref().map(|c| {
            c.iter()
                .map(|(source, accounts)| (source.clone(), CredentialScan::from_fixture(accounts)))
                .collect()
        });
        f.now = self.now;
        if let Some(sockets) = &f.sockets {
            let packaged = self.packaged.clone().unwrap_or_default();
            f.exe_packaged = Some(
                sockets
                    .iter()
                    .filter(|s| !s.exe.is_empty())
                    .map(|s| (s.exe.clone(), packaged.contains(&s.exe)))
                    .collect(),
            );
        }
        f
    }
}

/// One baseline check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Check {
    /// Stable, dotted: `ssh.permit-root-login`.
    pub id: String,
    pub title: String,
    pub category: Category,
    pub level: Severity,
    /// What is examined, in a sentence.
    pub examines: String,
    pub test: Test,
    pub remediation: String,
    /// CIS benchmark items and SCAP Security Guide rule ids.
    #[cfg_attr(feature = "serde", serde(default))]
    pub refs: Vec<String>,
    /// Hosts on which the check passes, and on which it fails.
    #[cfg_attr(feature = "serde", serde(default))]
    pub pass: Vec<Fixture>,
    #[cfg_attr(feature = "serde", serde(default))]
    pub fail: Vec<Fixture>,
}

/// What one check found on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub id: String,
    pub status: Status,
    /// Why, in words; never a secret.
    pub evidence: String,
    /// The file (and line) the evidence comes from, when there is one.
    pub file: String,
}

/// Paths every run reads besides what the checks name (owner and group names).
pub const ALWAYS_READ: &[&str] = &["/etc/passwd", "/etc/group"];

impl Check {
    /// The paths (with `*` globs) this check reads.
    pub fn wanted(&self) -> Vec<String> {
        eval::wanted(&self.test)
    }

    /// Judges this check on `facts`.
    pub fn evaluate(&self, facts: &Facts) -> CheckResult {
        let (status, evidence, file) = evaluate_check(&self.test, facts);
        CheckResult {
            id: self.id.clone(),
            status,
            evidence,
            file,
        }
    }
}

/// Every path a set of checks reads, deduplicated.
pub fn wanted(checks: &[Check]) -> Vec<String> {
    let mut out: BTreeSet<String> = ALWAYS_READ.iter().map(|s| s.to_string()).collect();
    for c in checks {
        out.extend(c.wanted());
    }
    out.into_iter().collect()
}

/// Judges every check on `facts`, in order.
pub fn evaluate(checks: &[Check], facts: &Facts) -> Vec<CheckResult> {
    checks.iter().map(|c| c.evaluate(facts)).collect()
}

/// Why a set of checks cannot be used: the first problem found.
pub fn validate(checks: &[Check]) -> Result<(), String> {
    let mut ids = BTreeSet::new();
    for c in checks {
        let bad = |why: &str| Err(format!("check {:?}: {why}", c.id));
        if c.id.is_empty()
            || !c
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        {
            return bad("the id must be lowercase letters, digits, '-', '_' and '.'");
        }
        if !ids.insert(c.id.clone()) {
            return bad("the id is used twice");
        }
        if c.title.trim().is_empty()
            || c.remediation.trim().is_empty()
            || c.examines.trim().is_empty()
        {
            return bad("title, examines and remediation must all be written");
        }
        if c.pass.is_empty() || c.fail.is_empty() {
            return bad("it needs at least one passing and one failing fixture");
        }
        if let Err(e) = eval::check_test(&c.test) {
            return bad(&e);
        }
    }
    Ok(())
}
