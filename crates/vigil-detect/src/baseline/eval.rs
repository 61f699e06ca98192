//! Judging one [`Test`] on [`Facts`]: the value it reads, where it comes from, and whether it
//! passes; and the paths each test reads.

use super::facts::{Facts, FileFact};
use super::sshd::SshdConfig;
use super::{AccountRule, Cond, Missing, Presence, Separator, Status, Test};
use vigil_model::{ListeningSocket, Protocol};

pub(super) type Judged = (Status, String, String);

const SYSCTL_DIRS: &[&str] = &[
    "/usr/lib/sysctl.d/*.conf",
    "/lib/sysctl.d/*.conf",
    "/run/sysctl.d/*.conf",
    "/etc/sysctl.d/*.conf",
];
const MODPROBE: &[&str] = &[
    "/lib/modprobe.d/*.conf",
    "/usr/lib/modprobe.d/*.conf",
    "/etc/modprobe.d/*.conf",
];

pub(super) fn pass(evidence: String, file: String) -> Judged {
    (Status::Passed, evidence, file)
}

pub(super) fn fail(evidence: String, file: String) -> Judged {
    (Status::Failed, evidence, file)
}

pub(super) fn not_applicable(why: &str) -> Judged {
    (Status::NotApplicable, why.to_string(), String::new())
}

/// The leading integer of a value (`10:30:100` → 10, `120s` → 120).
fn leading_number(v: &str) -> Option<i64> {
    let v = v.trim();
    let end = v
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map_or(v.len(), |(i, _)| i);
    v[..end].parse().ok()
}

impl Cond {
    /// `None` when `value` passes; otherwise what is wrong with it.
    pub fn problem(&self, value: &str) -> Option<String> {
        let v = value.trim();
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if let Some(list) = &self.one_of {
            if !list.iter().any(|x| eq(x, v)) {
                return Some(format!("it is {v:?}, expected one of {}", list.join(", ")));
            }
        }
        if let Some(list) = &self.not_one_of {
            if list.iter().any(|x| eq(x, v)) {
                return Some(format!("it is {v:?}"));
            }
        }
        if self.at_most.is_some() || self.at_least.is_some() {
            let Some(n) = leading_number(v) else {
                return Some(format!("{v:?} is not a number"));
            };
            if let Some(max) = self.at_most.filter(|m| n > *m) {
                return Some(format!("it is {n}, at most {max} expected"));
            }
            if let Some(min) = self.at_least.filter(|m| n < *m) {
                return Some(format!("it is {n}, at least {min} expected"));
            }
        }
        if let Some(list) = &self.none_of {
            let bad: Vec<&str> = items(v)
                .filter(|item| list.iter().any(|x| eq(x, item)))
                .collect();
            if !bad.is_empty() {
                return Some(format!("it allows {}", bad.join(", ")));
            }
        }
        if let Some(list) = &self.each_in {
            let bad: Vec<&str> = items(v)
                .filter(|item| !list.iter().any(|x| eq(x, item)))
                .collect();
            if !bad.is_empty() {
                return Some(format!(
                    "{} is not one of {}",
                    bad.join(", "),
                    list.join(", ")
                ));
            }
        }
        None
    }

    fn is_empty(&self) -> bool {
        *self == Cond::default()
    }
}

/// The items of a list value: split at commas and white space.
fn items(v: &str) -> impl Iterator<Item = &str> {
    v.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|i| !i.is_empty())
}

/// Checks a test's own settings (an empty condition, a bad mode).
pub(super) fn check_test(t: &Test) -> Result<(), String> {
    let cond = match t {
        Test::Sshd { is, .. } | Test::Sysctl { is, .. } | Test::Setting { is, .. } => Some(is),
        _ => None,
    };
    if cond.is_some_and(Cond::is_empty) {
        return Err("its condition `is` names no test".into());
    }
    match t {
        Test::Mode { max, .. } if u32::from_str_radix(max, 8).is_err() => {
            Err(format!("mode max {max:?} is not octal"))
        }
        Test::Setting { files, .. } | Test::Line { files, .. } if files.is_empty() => {
            Err("it names no file".into())
        }
        Test::Line { words, .. } if words.is_empty() => Err("it names no words".into()),
        Test::AnyOf { tests } if tests.is_empty() => Err("any_of names no test".into()),
        Test::AnyOf { tests } => tests.iter().try_for_each(check_test),
        Test::Credentials { source } if !super::CREDENTIAL_SOURCES.contains(&source.as_str()) => {
            Err(format!(
                "credential source {source:?} is not one of {}",
                super::CREDENTIAL_SOURCES.join(", ")
            ))
        }
        Test::Certificates { days: 0, .. } => Err("certificates: days must be above 0".into()),
        _ => Ok(()),
    }
}

/// The paths a test reads.
pub(super) fn wanted(t: &Test) -> Vec<String> {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match t {
        Test::Sshd { .. } => v(&["/etc/ssh/sshd_config"]),
        Test::Sysctl { .. } => {
            let mut out = v(SYSCTL_DIRS);
            out.push("/etc/sysctl.conf".into());
            out
        }
        Test::Setting { files, .. } | Test::Line { files, .. } => files.clone(),
        Test::Mode { path, .. } | Test::Exists { path, .. } => vec![path.clone()],
        Test::Mount { .. } => v(&["/etc/fstab"]),
        Test::Package { .. } => v(&["/var/lib/dpkg/status"]),
        Test::Service { unit, .. } => vec![format!("/etc/systemd/system/*.wants/{unit}")],
        Test::Accounts { .. } => v(&["/etc/passwd", "/etc/shadow", "/etc/group"]),
        Test::Ports { .. }
        | Test::PortPair { .. }
        | Test::Credentials { .. }
        | Test::UnpackagedListeners { .. } => Vec::new(),
        Test::Certificates { paths, .. } => super::services::certificate_configs(paths),
        Test::ModuleDisabled { .. } => v(MODPROBE),
        Test::AnyOf { tests } => tests.iter().flat_map(wanted).collect(),
    }
}

/// Judges `t` on `facts`: status, evidence and the file the evidence comes from.
pub fn evaluate_check(t: &Test, facts: &Facts) -> Judged {
    match t {
        Test::Sshd { key, is, explicit } => sshd(facts, key, is, *explicit),
        Test::Sysctl { key, is } => sysctl(facts, key, is),
        Test::Setting {
            files,
            key,
            separator,
            is,
            missing,
            default,
            no_file,
        } => {
            if no_file.is_some() && files.iter().all(|f| facts.glob(f).is_empty()) {
                return absent_files(files, key, no_file.unwrap_or_default());
            }
            setting(
                facts,
                files,
                key,
                *separator,
                is,
                *missing,
                default.as_deref(),
            )
        }
        Test::Mode {
            path,
            max,
            owner,
            group,
        } => mode(facts, path, max, owner.as_deref(), group.as_deref()),
        Test::Line { files, words, must } => line(facts, files, words, *must),
        Test::Mount {
            mount,
            options,
            missing,
        } => mount_options(facts, mount, options, *missing),
        Test::Package { name, must } => package(facts, name, *must),
        Test::Service { unit, enabled } => service(facts, unit, *enabled),
        Test::Accounts { rule } => accounts(facts, *rule),
        Test::Ports { ports } => listening(facts, ports),
        Test::Exists { path, must } => exists(facts, path, *must),
        Test::ModuleDisabled { name } => module(facts, name),
        Test::AnyOf { tests } => any_of(facts, tests),
        Test::PortPair { port, with } => super::services::port_pair(facts, *port, *with),
        Test::UnpackagedListeners { allow } => super::services::unpackaged(facts, allow),
        Test::Credentials { source } => super::services::credentials(facts, source),
        Test::Certificates { paths, days } => super::services::certificates(facts, paths, *days),
    }
}

fn sshd(facts: &Facts, key: &str, is: &Cond, explicit: bool) -> Judged {
    let Some(cfg) = SshdConfig::read(facts) else {
        return not_applicable("no /etc/ssh/sshd_config: the SSH server is not configured here");
    };
    let Some((value, at)) = cfg.value(key) else {
        return (
            Status::Error,
            format!("{key} is not set and has no known default"),
            String::new(),
        );
    };
    if explicit && !cfg.global.contains_key(&key.to_ascii_lowercase()) {
        return fail(
            format!(
                "{key} is not set (OpenSSH's default here is {value}); the baseline wants it stated, since defaults differ across OpenSSH versions and builds"
            ),
            "/etc/ssh/sshd_config".into(),
        );
    }
    if let Some(p) = is.problem(&value) {
        return fail(format!("{key} {value}: {p}"), at);
    }
    let lower = key.to_ascii_lowercase();
    for m in cfg.matched.get(&lower).into_iter().flatten() {
        if let Some(p) = is.problem(&SshdConfig::normalized(key, &m.value)) {
            return fail(
                format!("{key} {} in `Match {}`: {p}", m.value, m.condition),
                m.at.clone(),
            );
        }
    }
    let mut evidence = format!("{key} {value}");
    if !cfg.problems.is_empty() {
        evidence.push_str(&format!(" (while reading: {})", cfg.problems.join("; ")));
    }
    pass(evidence, at)
}

/// The configured value of a kernel setting: systemd-sysctl's order (files by name, `/etc`
/// over `/run` over `/usr/lib`, then `/etc/sysctl.conf`), the last assignment winning.
fn sysctl_configured(facts: &Facts, key: &str) -> Option<(String, String)> {
    let mut by_name: std::collections::BTreeMap<String, String> = Default::default();
    for dir in SYSCTL_DIRS {
        for path in facts.glob(dir) {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            by_name.insert(name, path);
        }
    }
    let mut files: Vec<String> = by_name.into_values().collect();
    files.push("/etc/sysctl.conf".into());
    let norm = |k: &str| k.trim().replace('/', ".");
    let want = norm(key);
    let mut found = None;
    for path in files {
        let Some(text) = facts.text(&path) else {
            continue;
        };
        for (n, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            if let Some((k, v)) = l.split_once('=') {
                let k = k.trim().trim_start_matches('-');
                if norm(k) == want {
                    found = Some((v.trim().to_string(), format!("{path}:{}", n + 1)));
                }
            }
        }
    }
    found
}

fn sysctl(facts: &Facts, key: &str, is: &Cond) -> Judged {
    if let Some(running) = facts.sysctl.as_ref().and_then(|s| s.get(key)) {
        if let Some(p) = is.problem(running) {
            return fail(
                format!("{key} = {running} in the running kernel: {p}"),
                format!("/proc/sys/{}", key.replace('.', "/")),
            );
        }
    }
    match sysctl_configured(facts, key) {
        Some((v, at)) => match is.problem(&v) {
            Some(p) => fail(format!("{key} = {v} is configured: {p}"), at),
            None => pass(format!("{key} = {v}"), at),
        },
        None => fail(
            format!("{key} is not set in /etc/sysctl.conf or any sysctl.d file"),
            String::new(),
        ),
    }
}

/// Strips a trailing comment and splits `key value` / `key = value`.
fn key_value(line: &str, sep: Separator) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') || line.starts_with('[') {
        return None;
    }
    let line = line.split(" #").next().unwrap_or(line).trim();
    match sep {
        Separator::Space => {
            let mut it = line.splitn(2, char::is_whitespace);
            Some((it.next()?, it.next().unwrap_or("").trim()))
        }
        Separator::Equals => {
            let (k, v) = line.split_once('=')?;
            Some((k.trim(), v.trim()))
        }
        Separator::Colon => {
            let (k, v) = line.split_once(':')?;
            let k = k.trim().trim_start_matches("- ");
            Some((k, v.trim().trim_matches(['"', '\''])))
        }
    }
}

/// A setting whose program is not installed (none of its files is there).
fn absent_files(files: &[String], key: &str, judge: Missing) -> Judged {
    let why = format!("none of {} is there, so {key} is not set", files.join(", "));
    match judge {
        Missing::Pass => pass(why, String::new()),
        Missing::NotApplicable => not_applicable(&why),
        Missing::Fail => fail(why, String::new()),
    }
}

#[allow(clippy::too_many_arguments)]
fn setting(
    facts: &Facts,
    files: &[String],
    key: &str,
    sep: Separator,
    is: &Cond,
    missing: Missing,
    default: Option<&str>,
) -> Judged {
    let mut found: Option<(String, String)> = None;
    let mut any_file = false;
    for pattern in files {
        for path in facts.glob(pattern) {
            let Some(text) = facts.text(&path) else {
                continue;
            };
            any_file = true;
            for (n, l) in text.lines().enumerate() {
                if let Some((k, v)) = key_value(l, sep) {
                    if k.eq_ignore_ascii_case(key) {
                        found = Some((v.to_string(), format!("{path}:{}", n + 1)));
                    }
                }
            }
        }
    }
    let (value, at) = match (found, default) {
        (Some(f), _) => f,
        (None, Some(d)) => (d.to_string(), "default".to_string()),
        (None, None) => {
            let where_ = files.join(", ");
            return match missing {
                Missing::Pass => pass(format!("{key} is not set in {where_}"), String::new()),
                Missing::NotApplicable => not_applicable(&format!("{key} is not set in {where_}")),
                Missing::Fail if !any_file => fail(
                    format!("{where_}: not there, so {key} is not set"),
                    String::new(),
                ),
                Missing::Fail => fail(format!("{key} is not set in {where_}"), String::new()),
            };
        }
    };
    match is.problem(&value) {
        Some(p) => fail(format!("{key} {value}: {p}"), at),
        None => pass(format!("{key} {value}"), at),
    }
}

fn mode(
    facts: &Facts,
    path: &str,
    max: &str,
    owner: Option<&[String]>,
    group: Option<&[String]>,
) -> Judged {
    if path.contains('*') {
        let paths = facts.glob(path);
        if paths.is_empty() {
            return not_applicable(&format!("nothing matches {path}"));
        }
        let mut shown = Vec::new();
        for p in &paths {
            let r = mode(facts, p, max, owner, group);
            if r.0 != Status::Passed {
                return r;
            }
            shown.push(r.1);
        }
        return pass(shown.join("; "), path.to_string());
    }
    let (m, uid, gid) = match facts.files.get(path) {
        None => return not_applicable(&format!("{path} is not there")),
        Some(FileFact::File { mode, uid, gid, .. })
        | Some(FileFact::Dir { mode, uid, gid, .. }) => (*mode, *uid, *gid),
        Some(FileFact::Unreadable { reason }) => {
            return (Status::Error, format!("{path}: {reason}"), path.to_string())
        }
    };
    let max = u32::from_str_radix(max, 8).unwrap_or(0);
    let user = facts.user_name(uid).unwrap_or_else(|| uid.to_string());
    let grp = facts.group_name(gid).unwrap_or_else(|| gid.to_string());
    let shown = format!("{path} is {:04o} {user}:{grp}", m & 0o7777);
    if m & 0o7777 & !max != 0 {
        return fail(format!("{shown}: at most {max:04o} expected"), path.into());
    }
    if let Some(want) = owner.filter(|w| !w.contains(&user)) {
        return fail(
            format!("{shown}: owner {} expected", want.join(" or ")),
            path.into(),
        );
    }
    if let Some(want) = group.filter(|w| !w.contains(&grp)) {
        return fail(
            format!("{shown}: group {} expected", want.join(" or ")),
            path.into(),
        );
    }
    pass(shown, path.into())
}

fn line(facts: &Facts, files: &[String], words: &[String], must: Presence) -> Judged {
    let wanted = words.join(" ");
    for pattern in files {
        for path in facts.glob(pattern) {
            let Some(text) = facts.text(&path) else {
                continue;
            };
            for (n, l) in text.lines().enumerate() {
                let l = l.trim();
                if l.starts_with('#') {
                    continue;
                }
                let toks: Vec<&str> = l.split_whitespace().collect();
                if toks.len() >= words.len() && toks.iter().zip(words).all(|(a, b)| a == b) {
                    let at = format!("{path}:{}", n + 1);
                    return match must {
                        Presence::Present => pass(format!("{l:?}"), at),
                        Presence::Absent => fail(format!("{l:?} is there"), at),
                    };
                }
            }
        }
    }
    let where_ = files.join(", ");
    match must {
        Presence::Present => fail(format!("no line \"{wanted} …\" in {where_}"), String::new()),
        Presence::Absent => pass(format!("no line \"{wanted} …\" in {where_}"), String::new()),
    }
}

fn mount_options(facts: &Facts, mount: &str, options: &[String], missing: Missing) -> Judged {
    let Some(text) = facts.text("/etc/fstab") else {
        return not_applicable("no /etc/fstab");
    };
    for (n, l) in text.lines().enumerate() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if l.trim_start().starts_with('#') || f.len() < 4 || f[1] != mount {
            continue;
        }
        let have: Vec<&str> = f[3].split(',').collect();
        let lacking: Vec<&str> = options
            .iter()
            .map(String::as_str)
            .filter(|o| !have.contains(o))
            .collect();
        let at = format!("/etc/fstab:{}", n + 1);
        return if lacking.is_empty() {
            pass(format!("{mount} is mounted with {}", f[3]), at)
        } else {
            fail(
                format!(
                    "{mount} is mounted with {}, without {}",
                    f[3],
                    lacking.join(",")
                ),
                at,
            )
        };
    }
    let why = format!("{mount} is not a separate mount in /etc/fstab");
    match missing {
        Missing::Fail => fail(why, "/etc/fstab".into()),
        Missing::Pass => pass(why, "/etc/fstab".into()),
        Missing::NotApplicable => not_applicable(&why),
    }
}

/// Installed packages: the host's list, or a tree's dpkg status.
fn installed(facts: &Facts, name: &str) -> Option<bool> {
    if let Some(p) = &facts.packages {
        return Some(p.contains(name));
    }
    let status = facts.text("/var/lib/dpkg/status")?;
    Some(status.split("\n\n").any(|stanza| {
        let mut pkg = false;
        let mut ok = false;
        for l in stanza.lines() {
            if let Some(v) = l.strip_prefix("Package:") {
                pkg = v.trim() == name;
            }
            if let Some(v) = l.strip_prefix("Status:") {
                ok = v.trim().ends_with(" installed");
            }
        }
        pkg && ok
    }))
}

fn package(facts: &Facts, name: &str, must: Presence) -> Judged {
    match (installed(facts, name), must) {
        (None, _) => not_applicable("the package list is not known"),
        (Some(true), Presence::Present) | (Some(false), Presence::Absent) => pass(
            format!(
                "{name} is {}installed",
                if must == Presence::Absent { "not " } else { "" }
            ),
            String::new(),
        ),
        (Some(true), Presence::Absent) => fail(format!("{name} is installed"), String::new()),
        (Some(false), Presence::Present) => fail(format!("{name} is not installed"), String::new()),
    }
}

fn service(facts: &Facts, unit: &str, want_enabled: bool) -> Judged {
    let links = facts.glob(&format!("/etc/systemd/system/*.wants/{unit}"));
    match (links.first(), want_enabled) {
        (Some(l), true) => pass(format!("{unit} is enabled"), l.clone()),
        (Some(l), false) => fail(format!("{unit} is enabled"), l.clone()),
        (None, true) => fail(format!("{unit} is not enabled"), String::new()),
        (None, false) => pass(format!("{unit} is not enabled"), String::new()),
    }
}

fn accounts(facts: &Facts, rule: AccountRule) -> Judged {
    let Some(passwd) = facts.text("/etc/passwd") else {
        return not_applicable("no /etc/passwd");
    };
    let rows: Vec<Vec<&str>> = passwd
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 7)
        .collect();
    let list = |names: Vec<String>, what: &str, file: &str| -> Judged {
        if names.is_empty() {
            pass(format!("no {what}"), file.into())
        } else {
            fail(format!("{what}: {}", names.join(", ")), file.into())
        }
    };
    match rule {
        AccountRule::OnlyRootUid0 => list(
            rows.iter()
                .filter(|f| f[2] == "0" && f[0] != "root")
                .map(|f| f[0].to_string())
                .collect(),
            "accounts other than root with uid 0",
            "/etc/passwd",
        ),
        AccountRule::NoEmptyPassword => {
            let Some(shadow) = facts.text("/etc/shadow") else {
                return not_applicable("no readable /etc/shadow");
            };
            list(
                shadow
                    .lines()
                    .map(|l| l.split(':').collect::<Vec<_>>())
                    .filter(|f| f.len() >= 2 && f[1].is_empty())
                    .map(|f| f[0].to_string())
                    .collect(),
                "accounts with an empty password",
                "/etc/shadow",
            )
        }
        AccountRule::SystemAccountsNoLogin => list(
            rows.iter()
                .filter(|f| {
                    f[2].parse::<u32>().is_ok_and(|u| u < 1000)
                        && !["root", "sync", "shutdown", "halt"].contains(&f[0])
                        && !f[6].trim().is_empty()
                        && !f[6].ends_with("nologin")
                        && !f[6].ends_with("/false")
                })
                .map(|f| format!("{} ({})", f[0], f[6]))
                .collect(),
            "system accounts with a login shell",
            "/etc/passwd",
        ),
        AccountRule::GroupsExist => {
            let Some(group) = facts.text("/etc/group") else {
                return not_applicable("no /etc/group");
            };
            let gids: Vec<&str> = group.lines().filter_map(|l| l.split(':').nth(2)).collect();
            list(
                rows.iter()
                    .filter(|f| !gids.contains(&f[3]))
                    .map(|f| format!("{} (gid {})", f[0], f[3]))
                    .collect(),
                "accounts whose group does not exist",
                "/etc/passwd",
            )
        }
        AccountRule::UniqueUids => {
            let mut seen: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for f in &rows {
                seen.entry(f[2]).or_default().push(f[0]);
            }
            list(
                seen.iter()
                    .filter(|(_, names)| names.len() > 1)
                    .map(|(uid, names)| format!("uid {uid}: {}", names.join(", ")))
                    .collect(),
                "uids shared by several accounts",
                "/etc/passwd",
            )
        }
    }
}

/// `tcp 0.0.0.0:6379` (a fixture's listening socket).
pub(crate) fn parse_listening(s: &str) -> Option<ListeningSocket> {
    let (proto, addr) = s.trim().split_once(' ')?;
    let (addr, exe) = match addr.split_once(' ') {
        Some((a, e)) => (a, e.trim()),
        None => (addr, ""),
    };
    let (host, port) = addr.rsplit_once(':')?;
    let protocol = match proto {
        "tcp" => Protocol::Tcp,
        "tcp6" => Protocol::Tcp6,
        "udp" => Protocol::Udp,
        "udp6" => Protocol::Udp6,
        _ => return None,
    };
    Some(ListeningSocket {
        protocol,
        address: host.trim_matches(['[', ']']).to_string(),
        port: port.parse().ok()?,
        exe: exe.to_string(),
        process: exe.rsplit('/').next().unwrap_or_default().to_string(),
        ..ListeningSocket::default()
    })
}

fn listening(facts: &Facts, ports: &[u16]) -> Judged {
    let Some(sockets) = &facts.sockets else {
        return not_applicable("listening sockets are known only on a running host");
    };
    let open: Vec<String> = sockets
        .iter()
        .filter(|s| s.is_wildcard() && ports.contains(&s.port))
        .map(|s| {
            let who = if s.process.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.process)
            };
            format!("{} {}:{}{who}", s.protocol.as_str(), s.address, s.port)
        })
        .collect();
    if open.is_empty() {
        pass(
            "none of these ports listens on every interface".into(),
            String::new(),
        )
    } else {
        fail(
            format!("listening on every interface: {}", open.join(", ")),
            String::new(),
        )
    }
}

fn exists(facts: &Facts, path: &str, must: Presence) -> Judged {
    match (facts.files.contains_key(path), must) {
        (true, Presence::Present) => pass(format!("{path} is there"), path.into()),
        (true, Presence::Absent) => fail(format!("{path} is there"), path.into()),
        (false, Presence::Present) => fail(format!("{path} is not there"), String::new()),
        (false, Presence::Absent) => pass(format!("{path} is not there"), String::new()),
    }
}

fn module(facts: &Facts, name: &str) -> Judged {
    if facts.modules.as_ref().is_some_and(|m| m.contains(name)) {
        return fail(
            format!("the {name} module is loaded now"),
            "/proc/modules".into(),
        );
    }
    for pattern in MODPROBE {
        for path in facts.glob(pattern) {
            let Some(text) = facts.text(&path) else {
                continue;
            };
            for (n, l) in text.lines().enumerate() {
                let t: Vec<&str> = l.split_whitespace().collect();
                let off = match t.as_slice() {
                    ["install", m, cmd, ..] if *m == name => {
                        cmd.ends_with("/false") || cmd.ends_with("/true")
                    }
                    ["blacklist", m, ..] => *m == name,
                    _ => false,
                };
                if off {
                    return pass(l.trim().to_string(), format!("{path}:{}", n + 1));
                }
            }
        }
    }
    fail(
        format!("nothing in modprobe.d keeps the {name} module from loading"),
        String::new(),
    )
}

fn any_of(facts: &Facts, tests: &[Test]) -> Judged {
    let mut why = Vec::new();
    let mut applicable = false;
    for t in tests {
        let r = evaluate_check(t, facts);
        if r.0 == Status::Passed {
            return r;
        }
        applicable |= r.0 != Status::NotApplicable;
        why.push(r.1);
    }
    if !applicable {
        return not_applicable(&why.join("; and "));
    }
    fail(why.join("; and "), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        let strings =
            |l: &[&str]| (!l.is_empty()).then(|| l.iter().map(|s| s.to_string()).collect());
        let c =
            |one: &[&str], not: &[&str], max: Option<i64>, min: Option<i64>, none: &[&str]| Cond {
                one_of: strings(one),
                not_one_of: strings(not),
                at_most: max,
                at_least: min,
                none_of: strings(none),
                each_in: None,
            };
        assert!(c(&["no"], &[], None, None, &[]).problem("No").is_none());
        assert!(c(&["no"], &[], None, None, &[]).problem("yes").is_some());
        assert!(c(&[], &["yes"], None, None, &[]).problem("YES").is_some());
        assert!(c(&[], &[], Some(4), None, &[]).problem("4").is_none());
        assert!(c(&[], &[], Some(4), None, &[]).problem("6").is_some());
        assert!(c(&[], &[], Some(60), None, &[])
            .problem("10:30:100")
            .is_none());
        assert!(c(&[], &[], None, Some(14), &[]).problem("eight").is_some());
        let each = Cond {
            each_in: strings(&["127.0.0.1", "-::1"]),
            ..Cond::default()
        };
        assert!(each.problem("127.0.0.1 -::1").is_none());
        assert!(each.problem("127.0.0.1,0.0.0.0").is_some());
        let weak = c(&[], &[], None, None, &["3des-cbc", "arcfour"]);
        assert!(weak.problem("aes128-ctr,aes256-gcm@openssh.com").is_none());
        assert_eq!(
            weak.problem("aes128-ctr, 3des-cbc").as_deref(),
            Some("it allows 3des-cbc")
        );
        assert_eq!(leading_number("-1"), Some(-1));
        assert_eq!(leading_number("120s"), Some(120));
    }

    /// Arbitrary bytes in every file a test reads never panic a test.
    #[test]
    fn arbitrary_files_never_panic() {
        use crate::baseline::{AccountRule, Fixture, FixtureFile};
        let tests = [
            Test::Setting {
                files: vec!["/etc/login.defs".into()],
                key: "PASS_MAX_DAYS".into(),
                separator: Separator::Space,
                is: Cond {
                    at_most: Some(365),
                    ..Cond::default()
                },
                missing: Missing::Fail,
                default: None,
                no_file: None,
            },
            Test::Line {
                files: vec!["/etc/fstab".into()],
                words: vec!["-w".into(), "/etc/shadow".into()],
                must: Presence::Present,
            },
            Test::Mount {
                mount: "/tmp".into(),
                options: vec!["nodev".into()],
                missing: Missing::Fail,
            },
            Test::Accounts {
                rule: AccountRule::UniqueUids,
            },
            Test::Accounts {
                rule: AccountRule::SystemAccountsNoLogin,
            },
            Test::Sysctl {
                key: "kernel.randomize_va_space".into(),
                is: Cond {
                    one_of: Some(vec!["2".into()]),
                    ..Cond::default()
                },
            },
            Test::ModuleDisabled {
                name: "cramfs".into(),
            },
            Test::Package {
                name: "telnetd".into(),
                must: Presence::Absent,
            },
        ];
        let paths = [
            "/etc/login.defs",
            "/etc/fstab",
            "/etc/passwd",
            "/etc/shadow",
            "/etc/group",
            "/etc/sysctl.conf",
            "/etc/modprobe.d/x.conf",
            "/var/lib/dpkg/status",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..500 {
            let text: String = (0..(state % 300))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    [
                        ':', '\n', ' ', '=', '0', '1', '#', 'a', '\t', '/', ',', '\u{e9}',
                    ][(state % 12) as usize]
                })
                .collect();
            let fixture = Fixture {
                files: paths
                    .iter()
                    .map(|p| (p.to_string(), FixtureFile::Text(text.clone())))
                    .collect(),
                ..Fixture::default()
            };
            let facts = fixture.facts();
            for t in &tests {
                let (status, evidence, _) = evaluate_check(t, &facts);
                assert!(!evidence.is_empty(), "{status:?}");
            }
        }
    }

    #[test]
    fn listening_sockets_parse() {
        let s = parse_listening("tcp6 [::]:22").unwrap();
        assert_eq!(
            (s.protocol, s.address.as_str(), s.port),
            (Protocol::Tcp6, "::", 22)
        );
        assert!(parse_listening("sctp 0.0.0.0:1").is_none());
        assert!(parse_listening("tcp nonsense").is_none());
    }
}
