//! This host's own IP addresses, from `/proc/net/fib_trie` and `/proc/net/if_inet6`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// IPv4 addresses assigned to this host (the `/32 host LOCAL` leaves of the FIB trie), in the
/// order first seen, without duplicates. Loopback addresses are included; callers filter.
pub fn local_ipv4(fib_trie: &str) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("|-- ") {
            last = addr.parse().ok();
        } else if t.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.take() {
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
    }
    out
}

/// Global-scope IPv6 addresses from `/proc/net/if_inet6` (link-local and loopback left out).
pub fn global_ipv6(if_inet6: &str) -> Vec<Ipv6Addr> {
    let mut out = Vec::new();
    for line in if_inet6.lines() {
        let mut f = line.split_whitespace();
        let (Some(hex), Some(_idx), Some(_plen), Some(scope)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        if scope != "00" || hex.len() != 32 {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(hex, 16) else {
            continue;
        };
        let ip = Ipv6Addr::from(bits);
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIE: &str = "Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.2.0/24 2 0 2
        |-- 10.0.2.0
           /24 link UNICAST
        |-- 10.0.2.15
           /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 10.0.2.15
        /32 host LOCAL
";

    #[test]
    fn local_leaves_only_once_each() {
        let ips = local_ipv4(TRIE);
        assert_eq!(ips, vec![Ipv4Addr::new(10, 0, 2, 15), Ipv4Addr::LOCALHOST]);
    }

    #[test]
    fn global_ipv6_only() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000505400fffe123456 02 40 20 80     eth0
20010db8000000000000000000000042 02 40 00 00     eth0
garbage
";
        assert_eq!(
            global_ipv6(text),
            vec!["2001:db8::42".parse::<Ipv6Addr>().unwrap()]
        );
    }

    #[test]
    fn real_fixture_has_loopback() {
        let text = include_str!("../tests/fixtures/net/fib_trie");
        assert!(local_ipv4(text).contains(&Ipv4Addr::LOCALHOST));
    }
}
