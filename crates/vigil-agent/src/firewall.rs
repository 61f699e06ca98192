//! IP blocking with nftables, in Vigil's own table `inet vigil` and nowhere else.
//!
//! Blocks are elements of four sets (`in4`, `in6`, `out4`, `out6`) with per-element timeouts, so
//! a block ends on time even while the agent is down. The chains are rebuilt atomically on start;
//! the sets, and so the blocks, survive an agent restart. The management server, the proxy and
//! access-whitelisted networks are refused as targets, so a mistake cannot lock the agent out.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use vigil_detect::ip::Cidr;

/// The table Vigil owns. Nothing outside it is ever read for writing or changed.
pub const TABLE: &str = "vigil";

pub use vigil_proto::agent::Direction;

/// One element of Vigil's sets as nftables reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActiveBlock {
    pub target: String,
    pub direction: Direction,
    /// Seconds left; `None` for a permanent block.
    pub expires_in: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("{0:?} is not an IP address or CIDR network")]
    BadTarget(String),
    #[error("refusing to block {target}: it covers {protected} ({why})")]
    Protected {
        target: String,
        protected: String,
        why: String,
    },
    #[error("could not run nft ({0}); is the nftables package installed?")]
    Spawn(std::io::Error),
    #[error("nft failed: {0}")]
    Nft(String),
    #[error("nft printed JSON this agent cannot read: {0}")]
    Json(String),
}

/// An address or network that must never be blocked, with the reason shown when refusing.
#[derive(Debug, Clone)]
pub struct Protected {
    pub net: Cidr,
    pub why: String,
}

/// Drives `nft` for Vigil's table. `argv` is the command prefix, normally `["nft"]`; tests use
/// `["ip", "netns", "exec", NS, "nft"]` so they never touch the machine's own ruleset.
#[derive(Debug, Clone)]
pub struct Firewall {
    argv: Vec<String>,
    protected: Vec<Protected>,
}

fn set_name(direction: Direction, v6: bool) -> &'static str {
    match (direction, v6) {
        (Direction::In, false) => "in4",
        (Direction::In, true) => "in6",
        (Direction::Out, false) => "out4",
        (Direction::Out, true) => "out6",
    }
}

const SETS: [(Direction, bool); 4] = [
    (Direction::In, false),
    (Direction::In, true),
    (Direction::Out, false),
    (Direction::Out, true),
];

impl Firewall {
    pub fn new(argv: Vec<String>) -> Firewall {
        Firewall {
            argv,
            protected: Vec::new(),
        }
    }

    /// The system's `nft`.
    pub fn system() -> Firewall {
        Firewall::new(vec!["nft".into()])
    }

    /// Replaces the never-block list (server and proxy addresses, access whitelist).
    pub fn set_protected(&mut self, protected: Vec<Protected>) {
        self.protected = protected;
    }

    pub fn protected(&self) -> &[Protected] {
        &self.protected
    }

    /// Runs `nft --version`: whether blocks can be made here at all, and which nft it is.
    pub fn probe(&self) -> Result<String, FirewallError> {
        self.nft(&["--version"], None).map(|v| v.trim().to_string())
    }

    fn nft(&self, args: &[&str], stdin: Option<&str>) -> Result<String, FirewallError> {
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(FirewallError::Spawn)?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .map_err(FirewallError::Spawn)?;
        }
        let out = child.wait_with_output().map_err(FirewallError::Spawn)?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(FirewallError::Nft(
                err.lines()
                    .filter(|l| !l.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates the table, sets and chains if missing and rewrites the chains' rules, in one
    /// transaction. Existing set elements (blocks in force) are kept.
    pub fn ensure(&self) -> Result<(), FirewallError> {
        let mut script = format!("add table inet {TABLE}\n");
        for (direction, v6) in SETS {
            script.push_str(&format!(
                "add set inet {TABLE} {} {{ type {}; flags interval, timeout; }}\n",
                set_name(direction, v6),
                if v6 { "ipv6_addr" } else { "ipv4_addr" },
            ));
        }
        for (chain, hook) in [
            ("input", "input"),
            ("forward", "forward"),
            ("output", "output"),
        ] {
            script.push_str(&format!(
                "add chain inet {TABLE} {chain} {{ type filter hook {hook} priority filter - 10; policy accept; }}\n\
                 flush chain inet {TABLE} {chain}\n"
            ));
        }
        for chain in ["input", "forward"] {
            script.push_str(&format!(
                "add rule inet {TABLE} {chain} ip saddr @in4 drop\n\
                 add rule inet {TABLE} {chain} ip6 saddr @in6 drop\n"
            ));
        }
        script.push_str(&format!(
            "add rule inet {TABLE} output ip daddr @out4 drop\n\
             add rule inet {TABLE} output ip6 daddr @out6 drop\n"
        ));
        self.nft(&["-f", "-"], Some(&script)).map(drop)
    }

    /// Checks a target: parses it and refuses protected addresses. Returns the normalized form.
    pub fn check(&self, target: &str) -> Result<Cidr, FirewallError> {
        let net = Cidr::parse(target).map_err(|_| FirewallError::BadTarget(target.into()))?;
        if net.addr().is_loopback() || net.addr().is_unspecified() || net.prefix() == 0 {
            return Err(FirewallError::Protected {
                target: target.into(),
                protected: net.to_string(),
                why: "loopback, unspecified and whole-internet targets are never blocked".into(),
            });
        }
        for p in &self.protected {
            if net.overlaps(&p.net) {
                return Err(FirewallError::Protected {
                    target: target.into(),
                    protected: p.net.to_string(),
                    why: p.why.clone(),
                });
            }
        }
        Ok(net)
    }

    /// Blocks `target` for `secs` seconds (`None`: until unblocked). Blocking an address that
    /// is already blocked replaces its timeout.
    pub fn block(
        &self,
        target: &str,
        direction: Direction,
        secs: Option<u64>,
    ) -> Result<Cidr, FirewallError> {
        let net = self.check(target)?;
        let set = set_name(direction, net.addr().is_ipv6());
        let timeout = secs
            .map(|s| format!(" timeout {}s", s.max(1)))
            .unwrap_or_default();
        // add (no-op when present) + delete + add: one transaction that resets the timeout.
        let script = format!(
            "add element inet {TABLE} {set} {{ {net} }}\n\
             delete element inet {TABLE} {set} {{ {net} }}\n\
             add element inet {TABLE} {set} {{ {net}{timeout} }}\n"
        );
        self.nft(&["-f", "-"], Some(&script))?;
        Ok(net)
    }

    /// Removes a block. Removing one that is not there (expired, never applied) is not an error.
    pub fn unblock(&self, target: &str, direction: Direction) -> Result<bool, FirewallError> {
        let net = Cidr::parse(target).map_err(|_| FirewallError::BadTarget(target.into()))?;
        let present = self
            .list()?
            .iter()
            .any(|b| b.direction == direction && b.target == net.to_string());
        if !present {
            return Ok(false);
        }
        let set = set_name(direction, net.addr().is_ipv6());
        self.nft(
            &["-f", "-"],
            Some(&format!("delete element inet {TABLE} {set} {{ {net} }}\n")),
        )?;
        Ok(true)
    }

    /// The blocks in force, read back from nftables.
    pub fn list(&self) -> Result<Vec<ActiveBlock>, FirewallError> {
        let text = self.nft(&["-j", "list", "table", "inet", TABLE], None)?;
        parse_sets(&text)
    }

    /// Deletes Vigil's table, and with it every block (agent uninstall).
    pub fn remove_table(&self) -> Result<(), FirewallError> {
        match self.nft(&["delete", "table", "inet", TABLE], None) {
            Ok(_) => Ok(()),
            Err(FirewallError::Nft(e)) if e.contains("No such file") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Reads the elements of Vigil's sets from `nft -j list table inet vigil`.
pub fn parse_sets(json: &str) -> Result<Vec<ActiveBlock>, FirewallError> {
    let doc: serde_json::Value =
        serde_json::from_str(json).map_err(|e| FirewallError::Json(e.to_string()))?;
    let mut out = Vec::new();
    let Some(items) = doc.get("nftables").and_then(|v| v.as_array()) else {
        return Err(FirewallError::Json("no \"nftables\" array".into()));
    };
    for item in items {
        let Some(set) = item.get("set") else { continue };
        if set.get("table").and_then(|t| t.as_str()) != Some(TABLE) {
            continue;
        }
        let direction = match set.get("name").and_then(|n| n.as_str()) {
            Some("in4" | "in6") => Direction::In,
            Some("out4" | "out6") => Direction::Out,
            _ => continue,
        };
        for elem in set
            .get("elem")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            let (val, expires_in) = match elem.get("elem") {
                Some(inner) => (
                    inner.get("val").cloned().unwrap_or_default(),
                    inner.get("expires").and_then(|e| e.as_u64()),
                ),
                None => (elem.clone(), None),
            };
            if let Some(target) = element_text(&val) {
                out.push(ActiveBlock {
                    target,
                    direction,
                    expires_in,
                });
            }
        }
    }
    Ok(out)
}

/// `"1.2.3.4"`, `{"prefix": {"addr": "10.0.0.0", "len": 8}}` or `{"range": [a, b]}`.
fn element_text(val: &serde_json::Value) -> Option<String> {
    if let Some(s) = val.as_str() {
        return Some(
            s.parse::<IpAddr>()
                .map(|ip| Cidr::host(ip).to_string())
                .unwrap_or_else(|_| s.to_string()),
        );
    }
    if let Some(p) = val.get("prefix") {
        let addr = p.get("addr")?.as_str()?;
        let len = p.get("len")?.as_u64()?;
        return Some(format!("{addr}/{len}"));
    }
    if let Some(r) = val.get("range").and_then(|r| r.as_array()) {
        let a = r.first()?.as_str()?;
        let b = r.get(1)?.as_str()?;
        return Some(format!("{a}-{b}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nft_json_elements() {
        // Shape printed by nftables 1.0.6 for sets with `flags interval, timeout`.
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
          {"table": {"family": "inet", "name": "vigil", "handle": 1}},
          {"set": {"family": "inet", "name": "in4", "table": "vigil", "type": "ipv4_addr", "handle": 1, "flags": ["timeout", "interval"],
             "elem": [{"elem": {"val": "192.0.2.7", "timeout": 600, "expires": 597}},
                      {"elem": {"val": {"prefix": {"addr": "198.51.100.0", "len": 24}}, "timeout": 60, "expires": 12}},
                      "203.0.113.9"]}},
          {"set": {"family": "inet", "name": "out6", "table": "vigil", "type": "ipv6_addr", "handle": 4, "flags": ["timeout", "interval"],
             "elem": [{"elem": {"val": "2001:db8::1", "timeout": 100, "expires": 50}}]}},
          {"set": {"family": "inet", "name": "in4", "table": "other", "type": "ipv4_addr", "handle": 9, "elem": ["192.0.2.99"]}}]}"#;
        let got = parse_sets(json).unwrap();
        let texts: Vec<(String, Direction, Option<u64>)> = got
            .into_iter()
            .map(|b| (b.target, b.direction, b.expires_in))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("192.0.2.7/32".into(), Direction::In, Some(597)),
                ("198.51.100.0/24".into(), Direction::In, Some(12)),
                ("203.0.113.9/32".into(), Direction::In, None),
                ("2001:db8::1/128".into(), Direction::Out, Some(50)),
            ]
        );
        assert!(parse_sets("not json").is_err());
        assert!(parse_sets("{}").is_err());
    }

    #[test]
    fn refuses_protected_and_degenerate_targets() {
        let mut fw = Firewall::new(vec!["false".into()]);
        fw.set_protected(vec![Protected {
            net: Cidr::parse("192.0.2.10").unwrap(),
            why: "the management server".into(),
        }]);
        for (target, fragment) in [
            ("192.0.2.10", "management server"),
            ("192.0.2.0/24", "management server"),
            ("127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("0.0.0.0/0", "whole-internet"),
        ] {
            let err = fw.check(target).unwrap_err().to_string();
            assert!(err.contains(fragment), "{target}: {err}");
        }
        assert!(matches!(
            fw.check("not-an-ip"),
            Err(FirewallError::BadTarget(_))
        ));
        assert_eq!(fw.check("192.0.2.11").unwrap().to_string(), "192.0.2.11/32");
        assert_eq!(
            fw.check("198.51.100.0/24").unwrap().to_string(),
            "198.51.100.0/24"
        );
    }
}
