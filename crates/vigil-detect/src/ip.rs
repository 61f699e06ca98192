//! IP addresses as login logs write them: parsing a source string, telling public from internal
//! addresses, and networks in `address/prefix` (CIDR) form.
//!
//! # What counts as public
//!
//! [`is_public`] answers "could this address be an attacker on the Internet, and does it make
//! sense to geolocate it?". It excludes private (RFC 1918), loopback, link-local, shared/CGNAT
//! (100.64.0.0/10), "this network" (0.0.0.0/8), IETF protocol assignments (192.0.0.0/24),
//! benchmarking (198.18.0.0/15), multicast, reserved (240.0.0.0/4, which holds the broadcast
//! address), and for IPv6 unspecified, loopback, multicast, unique-local (fc00::/7),
//! link-local (fe80::/10), deprecated site-local (fec0::/10) and discard-only (100::/64).
//!
//! The **documentation ranges** (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
//! are deliberately **public**. They never appear on the real Internet, so treating them as
//! public costs nothing in production, and it lets every example, test and demo in Vigil use
//! them as the attacker's address without ever naming a real network.

use crate::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The address in a login source string, or `None` when it is not an address (a host name, an
/// empty string). Accepts `1.2.3.4`, `1.2.3.4:22`, `::ffff:1.2.3.4` (returned as IPv4),
/// `[2001:db8::1]`, `[2001:db8::1]:22` and zone ids (`fe80::1%eth0`, dropped).
pub fn parse_source(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = match s.strip_prefix('[') {
        Some(rest) => &rest[..rest.find(']')?],
        None => s,
    };
    let s = s.split('%').next().unwrap_or(s);
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    // An IPv4 address with a port; IPv6 with a port is always bracketed.
    let (host, port) = s.rsplit_once(':')?;
    let v4 = host.parse::<Ipv4Addr>().ok()?;
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())).then_some(IpAddr::V4(v4))
}

/// True when `ip` is an Internet address (see the module documentation for the list of
/// exclusions, and why documentation ranges count as public). IPv4-mapped IPv6 addresses are
/// judged by their IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let internal = a == 0 // "this network", including 0.0.0.0
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, RFC 6890
        || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
        || ip.is_multicast()
        || a >= 240; // reserved, and 255.255.255.255 broadcast
    !internal
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let internal = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only, 100::/64
    !internal
}

/// A network: an address and a prefix length, host bits cleared. Written `10.0.0.0/8`,
/// `2001:db8::/32`, or a bare address (a single-host network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network of `addr` with `prefix` leading bits. Host bits are cleared, so
    /// `10.1.2.3/8` is `10.0.0.0/8`; an IPv4-mapped IPv6 network becomes its IPv4 network.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, Error> {
        let bad = |why| Error::Cidr {
            input: format!("{addr}/{prefix}"),
            why,
        };
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => {
                (IpAddr::V6(v6).to_canonical(), prefix - 96)
            }
            other => (other, prefix),
        };
        match addr {
            IpAddr::V4(v4) => {
                if prefix > 32 {
                    return Err(bad("an IPv4 prefix is at most 32"));
                }
                let bits = u32::from(v4) & mask32(prefix);
                Ok(Cidr {
                    addr: IpAddr::V4(bits.into()),
                    prefix,
                })
            }
            IpAddr::V6(v6) => {
                if prefix > 128 {
                    return Err(bad("an IPv6 prefix is at most 128"));
                }
                let bits = u128::from(v6) & mask128(prefix);
                Ok(Cidr {
                    addr: IpAddr::V6(bits.into()),
                    prefix,
                })
            }
        }
    }

    /// The network of one address (`/32` or `/128`).
    pub fn host(ip: IpAddr) -> Cidr {
        let ip = ip.to_canonical();
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        Cidr { addr: ip, prefix }
    }

    /// Parses `address/prefix` or a bare address. Brackets and zone ids are not accepted here:
    /// this is configuration, written by hand, not a log field.
    pub fn parse(s: &str) -> Result<Cidr, Error> {
        let input = s.trim();
        let bad = |why| Error::Cidr {
            input: input.to_string(),
            why,
        };
        let (addr, prefix) = match input.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (input, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
        match prefix {
            None => Ok(Cidr::host(addr)),
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("the prefix length is not a number"));
                }
                let prefix: u8 = p
                    .parse()
                    .map_err(|_| bad("the prefix length is too long"))?;
                Cidr::new(addr, prefix).map_err(|e| match e {
                    Error::Cidr { why, .. } => bad(why),
                    other => other,
                })
            }
        }
    }

    /// The network address (host bits cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when the two networks share an address: one contains the other's first address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.addr()) || other.contains(self.addr())
    }

    /// True when `ip` is in this network. IPv4-mapped IPv6 addresses match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask32(self.prefix);
                u32::from(ip) & m == u32::from(net)
            }
            (IpAddr::V6(net), ip) => {
                let ip = match ip {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    IpAddr::V6(v6) => v6,
                };
                u128::from(ip) & mask128(self.prefix) == u128::from(net)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = Error;
    fn from_str(s: &str) -> Result<Cidr, Error> {
        Cidr::parse(s)
    }
}

impl TryFrom<String> for Cidr {
    type Error = Error;
    fn try_from(s: String) -> Result<Cidr, Error> {
        Cidr::parse(&s)
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> String {
        c.to_string()
    }
}

/// True when any of `nets` contains `ip`.
pub fn any_contains(nets: &[Cidr], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn overlapping_networks() {
        let c = |s: &str| Cidr::parse(s).unwrap();
        for (a, b, want) in [
            ("192.0.2.0/24", "192.0.2.10", true),
            ("192.0.2.10", "192.0.2.0/24", true),
            ("192.0.2.0/25", "192.0.2.128/25", false),
            ("10.0.0.0/8", "10.1.0.0/16", true),
            ("2001:db8::/32", "2001:db8:1::1", true),
            ("2001:db8::/32", "192.0.2.1", false),
        ] {
            assert_eq!(c(a).overlaps(&c(b)), want, "{a} {b}");
        }
    }

    #[test]
    fn sources_parse_as_logs_write_them() {
        let cases: &[(&str, Option<&str>)] = &[
            ("203.0.113.9", Some("203.0.113.9")),
            (" 203.0.113.9 ", Some("203.0.113.9")),
            ("203.0.113.9:2222", Some("203.0.113.9")),
            ("::ffff:198.51.100.7", Some("198.51.100.7")),
            ("::FFFF:198.51.100.7", Some("198.51.100.7")),
            ("[::ffff:198.51.100.7]:22", Some("198.51.100.7")),
            ("2001:db8::42", Some("2001:db8::42")),
            ("[2001:db8::42]", Some("2001:db8::42")),
            ("[2001:db8::42]:22", Some("2001:db8::42")),
            ("fe80::1%eth0", Some("fe80::1")),
            ("[fe80::1%eth0]:22", Some("fe80::1")),
            ("attacker.example.net", None),
            ("", None),
            ("[2001:db8::42", None),
            ("203.0.113.9:", None),
            ("203.0.113.9:ssh", None),
            ("999.0.113.9", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_source(input), want.map(ip), "{input:?}");
        }
    }

    #[test]
    fn public_and_internal_addresses() {
        let public = [
            "203.0.113.9",
            "198.51.100.7",
            "192.0.2.1",
            "2001:db8::1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:203.0.113.9",
        ];
        let internal = [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.10",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "192.0.0.8",
            "198.18.0.1",
            "224.0.0.251",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "ff02::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "100::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ];
        for a in public {
            assert!(is_public(ip(a)), "{a} should be public");
        }
        for a in internal {
            assert!(!is_public(ip(a)), "{a} should be internal");
        }
    }

    #[test]
    fn cidrs_parse_and_normalise() {
        let ok: &[(&str, &str)] = &[
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("203.0.113.9", "203.0.113.9/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:db8:ffff::1/32", "2001:db8::/32"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("::/0", "::/0"),
            ("::ffff:192.0.2.0/120", "192.0.2.0/24"),
            (" 198.51.100.0/24 ", "198.51.100.0/24"),
        ];
        for (input, want) in ok {
            assert_eq!(
                Cidr::parse(input).map(|c| c.to_string()).as_deref(),
                Ok(*want),
                "{input:?}"
            );
        }
        let bad = [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "10.0.0/8",
            "example.net/24",
            "[2001:db8::1]",
        ];
        for input in bad {
            let err = Cidr::parse(input).unwrap_err();
            assert!(matches!(err, Error::Cidr { .. }), "{input:?} gave {err:?}");
        }
        let msg = Cidr::parse("10.0.0.0/33").unwrap_err().to_string();
        assert!(
            msg.contains("10.0.0.0/33") && msg.contains("at most 32"),
            "{msg}"
        );
    }

    #[test]
    fn cidrs_contain_their_addresses_only() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.0.0.1", true),
            ("203.0.113.0/24", "203.0.113.255", true),
            ("203.0.113.0/24", "203.0.114.0", false),
            ("203.0.113.9", "203.0.113.9", true),
            ("203.0.113.9", "203.0.113.10", false),
            ("0.0.0.0/0", "198.51.100.1", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("2001:db8::/32", "2001:db8:1::9", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("2001:db8::/32", "203.0.113.9", false),
            ("::/0", "2001:db8::1", true),
            ("::ffff:0:0/96", "203.0.113.9", true),
            ("2001:db8::1", "2001:db8::1", true),
            ("2001:db8::1", "2001:db8::2", false),
        ];
        for (net, addr, want) in cases {
            let c = Cidr::parse(net).unwrap();
            assert_eq!(c.contains(ip(addr)), *want, "{net} ∋ {addr}");
        }
        let nets = [
            Cidr::parse("192.0.2.0/24").unwrap(),
            Cidr::host(ip("2001:db8::7")),
        ];
        assert!(any_contains(&nets, ip("2001:db8::7")));
        assert!(!any_contains(&nets, ip("198.51.100.1")));
        assert!(!any_contains(&[], ip("198.51.100.1")));
    }
}
