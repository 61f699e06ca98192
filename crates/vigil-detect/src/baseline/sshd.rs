//! The SSH server's configuration as sshd reads it: `/etc/ssh/sshd_config` with its `Include`s
//! expanded in place (globs sorted, relative paths under `/etc/ssh`, loops and depth bounded),
//! keywords case-insensitive, `key value` or `key=value`, the first value of a keyword winning,
//! and `Match` blocks (to the next `Match` or the end of their file) kept apart with their
//! condition. Keywords never set take OpenSSH's defaults.

use super::facts::Facts;
use std::collections::BTreeMap;

const MAIN: &str = "/etc/ssh/sshd_config";
const MAX_DEPTH: usize = 16;

/// One value set inside a `Match` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedValue {
    /// The `Match` line's condition (`User backup`).
    pub condition: String,
    pub value: String,
    /// Where it is set: `path:line`.
    pub at: String,
}

/// The effective configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshdConfig {
    /// Lowercase keyword → (value, `path:line`) for the first global occurrence.
    pub global: BTreeMap<String, (String, String)>,
    /// Lowercase keyword → values set inside `Match` blocks.
    pub matched: BTreeMap<String, Vec<MatchedValue>>,
    /// Problems met while reading (an include loop, too deep, a missing file).
    pub problems: Vec<String>,
}

/// OpenSSH's default for a keyword (lowercase), when the configuration does not set it.
pub fn default_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "permitrootlogin" => "prohibit-password",
        "passwordauthentication" => "yes",
        "permitemptypasswords" => "no",
        "maxauthtries" => "6",
        "x11forwarding" => "no",
        "pubkeyauthentication" => "yes",
        "ignorerhosts" => "yes",
        "hostbasedauthentication" => "no",
        "logingracetime" => "120",
        "clientaliveinterval" => "0",
        "clientalivecountmax" => "3",
        "maxsessions" => "10",
        "maxstartups" => "10:30:100",
        "loglevel" => "INFO",
        "permituserenvironment" => "no",
        "usepam" => "no",
        "allowtcpforwarding" => "yes",
        "allowagentforwarding" => "yes",
        "gatewayports" => "no",
        "permittunnel" => "no",
        "disableforwarding" => "no",
        "banner" => "none",
        "strictmodes" => "yes",
        "kbdinteractiveauthentication" => "yes",
        "gssapiauthentication" => "no",
        "ciphers" => {
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        }
        "macs" => {
            "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"
        }
        "kexalgorithms" => {
            "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
        }
        _ => return None,
    })
}

impl SshdConfig {
    /// Reads the configuration from `facts`; `None` when there is no `sshd_config`.
    pub fn read(facts: &Facts) -> Option<SshdConfig> {
        facts.text(MAIN)?;
        let mut cfg = SshdConfig::default();
        let mut stack = Vec::new();
        cfg.file(facts, MAIN, 0, &mut stack);
        Some(cfg)
    }

    /// The effective global value of `key`, as `sshd -T` would print it (times in seconds,
    /// algorithm lists with `+`, `-` and `^` applied to the default), and where it comes from
    /// (`OpenSSH default` when unset).
    pub fn value(&self, key: &str) -> Option<(String, String)> {
        let key = key.to_ascii_lowercase();
        match self.global.get(&key) {
            Some((v, at)) => Some((normalize(&key, v), at.clone())),
            None => default_of(&key).map(|d| (d.to_string(), "OpenSSH default".to_string())),
        }
    }

    /// A value set in a `Match` block, normalized as [`SshdConfig::value`] does.
    pub fn normalized(key: &str, value: &str) -> String {
        normalize(&key.to_ascii_lowercase(), value)
    }

    fn file(&mut self, facts: &Facts, path: &str, depth: usize, stack: &mut Vec<String>) {
        if stack.iter().any(|p| p == path) {
            self.problems.push(format!(
                "{path} includes itself (through {})",
                stack.join(" → ")
            ));
            return;
        }
        if depth > MAX_DEPTH {
            self.problems
                .push(format!("includes nested deeper than {MAX_DEPTH} at {path}"));
            return;
        }
        let Some(text) = facts.text(path) else {
            return;
        };
        stack.push(path.to_string());
        let mut condition: Option<String> = None;
        for (n, raw) in text.lines().enumerate() {
            let Some((key, value)) = split(raw) else {
                continue;
            };
            let at = format!("{path}:{}", n + 1);
            match key.as_str() {
                "match" => {
                    condition = Some(value);
                    continue;
                }
                "include" => {
                    for pattern in value.split_whitespace() {
                        for inc in facts.glob(&absolute(pattern)) {
                            self.file(facts, &inc, depth + 1, stack);
                        }
                    }
                    continue;
                }
                _ => {}
            }
            match &condition {
                None => {
                    self.global.entry(key).or_insert((value, at));
                }
                Some(c) => self.matched.entry(key).or_default().push(MatchedValue {
                    condition: c.clone(),
                    value,
                    at,
                }),
            }
        }
        stack.pop();
    }
}

/// Keywords whose value is a time (`2m`, `1h30m`, `90`).
const TIME_KEYWORDS: &[&str] = &["logingracetime", "clientaliveinterval"];
/// Keywords whose value is an algorithm list that may start with `+`, `-` or `^`.
const LIST_KEYWORDS: &[&str] = &["ciphers", "macs", "kexalgorithms"];

fn normalize(key: &str, value: &str) -> String {
    if TIME_KEYWORDS.contains(&key) {
        if let Some(secs) = seconds(value) {
            return secs.to_string();
        }
    }
    if LIST_KEYWORDS.contains(&key) {
        if let Some(default) = default_of(key) {
            return algorithm_list(default, value);
        }
    }
    match (key, value.to_ascii_lowercase().as_str()) {
        ("permitrootlogin", "without-password") => "prohibit-password".into(),
        _ => value.to_string(),
    }
}

/// sshd's time format: a number with an optional unit (s, m, h, d, w), repeated.
fn seconds(v: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut num = String::new();
    for c in v.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.parse::<u64>().ok()?.checked_mul(unit)?)?;
        num.clear();
    }
    if !num.is_empty() {
        total = total.checked_add(num.parse().ok()?)?;
    }
    Some(total)
}

/// `+a,b` appends to the default, `-a,b` removes from it, `^a,b` puts first; else the list.
fn algorithm_list(default: &str, value: &str) -> String {
    let v = value.trim();
    let items = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    };
    let base = items(default);
    let out: Vec<String> = match v.chars().next() {
        Some('+') => {
            let mut out = base;
            for x in items(&v[1..]) {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
            out
        }
        Some('-') => {
            let drop = items(&v[1..]);
            base.into_iter().filter(|x| !drop.contains(x)).collect()
        }
        Some('^') => {
            let mut out = items(&v[1..]);
            for x in base {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
            out
        }
        _ => items(v),
    };
    out.join(",")
}

/// `keyword value` or `keyword=value`, keyword lowercased; `None` for blanks and comments.
fn split(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let key = line[..end].to_ascii_lowercase();
    if key.is_empty() {
        return None;
    }
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    let value = rest.trim_matches('"').to_string();
    Some((key, value))
}

/// An `Include` path as sshd resolves it: relative ones are under `/etc/ssh`.
fn absolute(pattern: &str) -> String {
    if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/etc/ssh/{pattern}")
    }
}

/// Every pattern the read files include (for the collector to read).
pub fn include_patterns(facts: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut todo = vec![MAIN.to_string()];
    while let Some(path) = todo.pop() {
        if seen.contains(&path) || seen.len() > 256 {
            continue;
        }
        seen.push(path.clone());
        let Some(text) = facts.text(&path) else {
            continue;
        };
        for line in text.lines() {
            if let Some((key, value)) = split(line) {
                if key == "include" {
                    for p in value.split_whitespace() {
                        let abs = absolute(p);
                        todo.extend(facts.glob(&abs));
                        out.push(abs);
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::facts::FileFact;

    fn facts(files: &[(&str, &str)]) -> Facts {
        let mut f = Facts::default();
        let mut dirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (p, t) in files {
            f.files.insert(
                p.to_string(),
                FileFact::File {
                    text: t.to_string(),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
            );
            let (dir, name) = p.rsplit_once('/').unwrap();
            dirs.entry(dir.to_string())
                .or_default()
                .push(name.to_string());
        }
        for (d, entries) in dirs {
            f.files.insert(
                d,
                FileFact::Dir {
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    entries,
                },
            );
        }
        f
    }

    #[test]
    fn first_value_wins_includes_expand_in_place_and_match_blocks_stay_apart() {
        let f = facts(&[
            (
                "/etc/ssh/sshd_config",
                "# comment\nInclude sshd_config.d/*.conf\nPermitRootLogin yes\nPasswordAuthentication=no\nMatch User backup\n  PasswordAuthentication yes\n",
            ),
            ("/etc/ssh/sshd_config.d/50-cloud.conf", "permitrootlogin no\nMaxAuthTries 3\n"),
            ("/etc/ssh/sshd_config.d/60-other.conf", "PermitRootLogin prohibit-password\n"),
        ]);
        assert_eq!(
            include_patterns(&f),
            vec!["/etc/ssh/sshd_config.d/*.conf".to_string()]
        );
        let c = SshdConfig::read(&f).unwrap();
        let (v, at) = c.value("PermitRootLogin").unwrap();
        assert_eq!(v, "no");
        assert_eq!(at, "/etc/ssh/sshd_config.d/50-cloud.conf:1");
        assert_eq!(c.value("maxauthtries").unwrap().0, "3");
        assert_eq!(c.value("PasswordAuthentication").unwrap().0, "no");
        let m = &c.matched["passwordauthentication"];
        assert_eq!(m[0].condition, "User backup");
        assert_eq!(m[0].value, "yes");
        assert_eq!(
            c.value("X11Forwarding").unwrap(),
            ("no".into(), "OpenSSH default".into())
        );
        assert!(c.problems.is_empty());
    }

    #[test]
    fn times_and_algorithm_lists_read_as_sshd_prints_them() {
        assert_eq!(seconds("2m"), Some(120));
        assert_eq!(seconds("1h30m"), Some(5400));
        assert_eq!(seconds("90"), Some(90));
        assert_eq!(seconds("soon"), None);
        let f = facts(&[(
            "/etc/ssh/sshd_config",
            "LoginGraceTime 2m\nCiphers +aes128-cbc\nMACs -umac-64@openssh.com,hmac-sha1\nKexAlgorithms ^curve25519-sha256\n",
        )]);
        let c = SshdConfig::read(&f).unwrap();
        assert_eq!(c.value("LoginGraceTime").unwrap().0, "120");
        assert!(c
            .value("ciphers")
            .unwrap()
            .0
            .ends_with(",aes256-gcm@openssh.com,aes128-cbc"));
        let macs = c.value("macs").unwrap().0;
        assert!(
            !macs
                .split(',')
                .any(|m| m == "umac-64@openssh.com" || m == "hmac-sha1"),
            "{macs}"
        );
        assert!(c
            .value("kexalgorithms")
            .unwrap()
            .0
            .starts_with("curve25519-sha256,sntrup761"));
    }

    /// Mutated configurations (bytes flipped, cut, repeated, Include and Match lines thrown in)
    /// never panic the reader, and every value it reports comes from a line that is there.
    #[test]
    fn arbitrary_configurations_never_panic() {
        let seed = "Include /etc/ssh/d/*.conf\nPermitRootLogin no\nMatch User x\n  MaxAuthTries 2\nCiphers +aes128-cbc\nLoginGraceTime 1m\n";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces = [
            "Include ",
            "Match ",
            "=",
            "\n",
            "\"",
            "*",
            "/etc/ssh/d/a.conf",
            "\u{feff}",
            "\r",
            "#",
            " ",
            "\u{0}",
        ];
        for _ in 0..2_000 {
            let mut text: Vec<char> = seed.chars().collect();
            for _ in 0..(next() % 8) {
                let i = (next() as usize) % (text.len() + 1);
                match next() % 4 {
                    0 if i < text.len() => {
                        text.remove(i);
                    }
                    1 => {
                        let p = pieces[(next() as usize) % pieces.len()];
                        for (k, c) in p.chars().enumerate() {
                            text.insert(i + k, c);
                        }
                    }
                    2 if i < text.len() => {
                        text[i] = char::from_u32((next() % 0x250) as u32).unwrap_or('x')
                    }
                    _ => text.truncate(i),
                }
            }
            let text: String = text.into_iter().collect();
            let f = facts(&[
                ("/etc/ssh/sshd_config", text.as_str()),
                ("/etc/ssh/d/a.conf", text.as_str()),
            ]);
            let c = SshdConfig::read(&f).unwrap();
            for (k, (v, at)) in &c.global {
                assert!(at.contains(':'), "{k} {v} {at}");
                assert!(!k.is_empty());
            }
            let _ = include_patterns(&f);
            for k in [
                "permitrootlogin",
                "ciphers",
                "logingracetime",
                "maxauthtries",
            ] {
                let _ = c.value(k);
            }
        }
    }

    #[test]
    fn include_loops_end_with_a_problem() {
        let f = facts(&[
            ("/etc/ssh/sshd_config", "Include /etc/ssh/a.conf\nPort 22\n"),
            (
                "/etc/ssh/a.conf",
                "Include /etc/ssh/sshd_config\nMaxSessions 2\n",
            ),
        ]);
        let c = SshdConfig::read(&f).unwrap();
        assert_eq!(c.value("maxsessions").unwrap().0, "2");
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].contains("includes itself"));
        assert!(SshdConfig::read(&Facts::default()).is_none());
    }
}
