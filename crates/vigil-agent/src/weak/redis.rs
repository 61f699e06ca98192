//! Redis: `requirepass` and ACL users from the configuration (plaintext `>` passwords judged,
//! `#` SHA-256 hashes guessed), and from the running server (`ACL LIST`, authenticated with the
//! configured `requirepass` when there is one): users with `nopass`, or whose hash a guess
//! matches.

use super::Scanner;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use vigil_detect::baseline::{AccountScan, CredentialScan};

const CONFIGS: &[&str] = &["/etc/redis/redis.conf", "/etc/redis.conf"];
const TIMEOUT: Duration = Duration::from_secs(3);
/// A reply larger than this is not read.
const MAX_REPLY: usize = 1 << 20;

/// One ACL user: on or off, `nopass`, and its passwords (plaintext from a file, or hashes).
#[derive(Debug, Default, Clone)]
struct AclUser {
    on: bool,
    nopass: bool,
    plain: Vec<String>,
    hashes: Vec<String>,
}

/// Redis's own quoting: `"…"` with backslash escapes, or `'…'`.
fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2
        && (v.starts_with('"') && v.ends_with('"') || v.starts_with('\'') && v.ends_with('\''))
    {
        v[1..v.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else {
        v.to_string()
    }
}

/// `user NAME rule…` (a config line without its `user`, or an `ACL LIST` line).
fn acl_rules(rules: &str) -> Option<(String, AclUser)> {
    let mut it = rules.split_whitespace();
    let name = it.next()?.to_string();
    let mut u = AclUser::default();
    for r in it {
        match r {
            "on" => u.on = true,
            "off" => u.on = false,
            "nopass" => u.nopass = true,
            "resetpass" => {
                u.nopass = false;
                u.plain.clear();
                u.hashes.clear();
            }
            _ if r.starts_with('>') => u.plain.push(r[1..].to_string()),
            _ if r.starts_with('#') => u.hashes.push(r[1..].to_string()),
            _ => {}
        }
    }
    Some((name, u))
}

#[derive(Default)]
struct Config {
    path: String,
    port: u16,
    requirepass: Option<String>,
    users: BTreeMap<String, AclUser>,
}

fn read_config(s: &Scanner<'_>) -> Option<Config> {
    let (path, text) = CONFIGS
        .iter()
        .find_map(|p| Some((p.to_string(), s.read(p)?)))?;
    let mut cfg = Config {
        path,
        port: 6379,
        ..Config::default()
    };
    let mut aclfile = None;
    for line in text.lines() {
        let line = line.trim();
        let Some((key, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "requirepass" => cfg.requirepass = Some(unquote(rest)),
            "port" => cfg.port = rest.trim().parse().unwrap_or(6379),
            "aclfile" => aclfile = Some(unquote(rest)),
            "user" => cfg.users.extend(acl_rules(rest)),
            _ => {}
        }
    }
    if let Some(f) = aclfile.and_then(|f| s.read(&f)) {
        for line in f.lines() {
            if let Some(rest) = line.trim().strip_prefix("user ") {
                cfg.users.extend(acl_rules(rest));
            }
        }
    }
    Some(cfg)
}

/// One RESP reply, as text lines (simple strings, bulk strings, arrays of them) or an error.
pub(super) fn reply(r: &mut impl BufRead, budget: &mut usize) -> Result<Vec<String>, String> {
    reply_at(r, budget, 0)
}

/// Arrays nest this deep at most (`ACL LIST` is one level).
const MAX_DEPTH: usize = 4;

fn reply_at(r: &mut impl BufRead, budget: &mut usize, depth: usize) -> Result<Vec<String>, String> {
    let mut line = String::new();
    r.by_ref()
        .take(*budget as u64)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    *budget = budget.saturating_sub(line.len());
    let line = line.trim_end();
    let (kind, rest) = match line.chars().next() {
        Some(c) => line.split_at(c.len_utf8()),
        None => ("", ""),
    };
    match kind {
        "+" | ":" => Ok(vec![rest.to_string()]),
        "-" => Err(rest.to_string()),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| "bad reply".to_string())?;
            if n < 0 {
                return Ok(Vec::new());
            }
            let n = n as usize;
            if n + 2 > *budget {
                return Err("reply too large".into());
            }
            let mut buf = vec![0; n + 2];
            r.read_exact(&mut buf).map_err(|e| e.to_string())?;
            *budget -= n + 2;
            buf.truncate(n);
            Ok(vec![String::from_utf8_lossy(&buf).into_owned()])
        }
        "*" if depth >= MAX_DEPTH => Err("reply nested too deep".into()),
        "*" => {
            let n: i64 = rest.parse().map_err(|_| "bad reply".to_string())?;
            let mut out = Vec::new();
            for _ in 0..n.clamp(0, 100_000) {
                out.extend(reply_at(r, budget, depth + 1)?);
            }
            Ok(out)
        }
        _ => Err("not a Redis reply".into()),
    }
}

fn command(conn: &mut TcpStream, args: &[&str]) -> Result<Vec<String>, String> {
    let mut msg = format!("*{}\r\n", args.len());
    for a in args {
        msg.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.write_all(msg.as_bytes()).map_err(|e| e.to_string())?;
    let mut budget = MAX_REPLY;
    reply(&mut BufReader::new(&mut *conn), &mut budget)
}

/// The running server's ACL users, or why they could not be listed.
fn live_users(port: u16, requirepass: Option<&str>) -> Result<BTreeMap<String, AclUser>, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut conn = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(TIMEOUT)).ok();
    conn.set_write_timeout(Some(TIMEOUT)).ok();
    if let Some(p) = requirepass {
        command(&mut conn, &["AUTH", p]).map_err(|e| format!("AUTH: {e}"))?;
    }
    let lines = command(&mut conn, &["ACL", "LIST"]).map_err(|e| format!("ACL LIST: {e}"))?;
    Ok(lines
        .iter()
        .filter_map(|l| acl_rules(l.strip_prefix("user ")?))
        .collect())
}

pub(super) fn scan(s: &mut Scanner<'_>) -> Option<CredentialScan> {
    let cfg = read_config(s);
    let port = cfg.as_ref().map_or(6379, |c| c.port);
    let live = if s.opts.network {
        Some(live_users(
            port,
            cfg.as_ref().and_then(|c| c.requirepass.as_deref()),
        ))
    } else {
        None
    };
    let location = match (&live, &cfg) {
        (Some(Ok(_)), _) => format!("redis 127.0.0.1:{port}"),
        (_, Some(c)) => c.path.clone(),
        _ => return None,
    };
    let mut scan = CredentialScan {
        location,
        ..CredentialScan::default()
    };
    let mut users: BTreeMap<String, AclUser> = BTreeMap::new();
    let mut notes = Vec::new();
    if let Some(c) = &cfg {
        users.extend(c.users.clone());
        match &c.requirepass {
            Some(p) => {
                let d = users.entry("default".into()).or_default();
                d.on = true;
                d.plain.push(p.clone());
            }
            None if !users.contains_key("default") => {
                users.insert(
                    "default".into(),
                    AclUser {
                        on: true,
                        nopass: true,
                        ..AclUser::default()
                    },
                );
            }
            None => {}
        }
    }
    match live {
        Some(Ok(found)) => {
            // What the server says wins over what the files say.
            for (name, u) in found {
                let plain = users.remove(&name).map(|c| c.plain).unwrap_or_default();
                users.insert(name, AclUser { plain, ..u });
            }
        }
        Some(Err(e)) if cfg.is_some() => notes.push(format!("the server on port {port}: {e}")),
        _ => {}
    }
    for (name, u) in users.iter().filter(|(_, u)| u.on) {
        if u.nopass {
            scan.accounts.push(AccountScan {
                account: name.clone(),
                weak: Some(
                    "no password (nopass): anyone who reaches the port acts as this user".into(),
                ),
                guesses: 0,
                of: 0,
            });
            continue;
        }
        let mut best: Option<AccountScan> = None;
        for p in &u.plain {
            let a = s.judge_plain(name, p);
            if a.weak.is_some() || best.is_none() {
                best = Some(a);
            }
        }
        for h in &u.hashes {
            if best.as_ref().is_some_and(|b| b.weak.is_some()) {
                break;
            }
            let (a, note) = s.guess_hash("redis", name, h);
            notes.extend(note);
            best = Some(a);
        }
        scan.accounts.extend(best);
    }
    Some(super::with_notes(scan, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_rules_and_quoting() {
        let (n, u) = acl_rules("alice on #5e88 >plain ~* +@all").unwrap();
        assert_eq!(n, "alice");
        assert!(u.on && !u.nopass);
        assert_eq!(
            (u.hashes, u.plain),
            (vec!["5e88".to_string()], vec!["plain".to_string()])
        );
        let (_, u) = acl_rules("default on nopass ~* &* +@all").unwrap();
        assert!(u.nopass);
        let (_, u) = acl_rules("bob off >x resetpass").unwrap();
        assert!(!u.on && u.plain.is_empty());
        assert_eq!(unquote("\"a \\\"b\\\"\""), "a \"b\"");
        assert_eq!(unquote("'x y'"), "x y");
    }

    #[test]
    fn replies_are_bounded() {
        let mut budget = 100;
        let mut r = std::io::Cursor::new(b"*2\r\n$3\r\nabc\r\n+OK\r\n".to_vec());
        assert_eq!(reply(&mut r, &mut budget).unwrap(), vec!["abc", "OK"]);
        let mut budget = 10;
        let mut r = std::io::Cursor::new(b"$1000\r\n".to_vec());
        assert!(reply(&mut r, &mut budget).is_err());
        let mut budget = 100;
        let mut r = std::io::Cursor::new(b"-NOAUTH Authentication required.\r\n".to_vec());
        assert!(reply(&mut r, &mut budget)
            .unwrap_err()
            .starts_with("NOAUTH"));
        let mut budget = 100;
        assert!(reply(&mut std::io::Cursor::new(b"garbage".to_vec()), &mut budget).is_err());
        let mut budget = 1 << 20;
        let deep = b"*1\r\n".repeat(100_000);
        assert!(reply(&mut std::io::Cursor::new(deep), &mut budget).is_err());
    }
}
