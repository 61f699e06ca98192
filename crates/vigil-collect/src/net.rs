//! Listening sockets from `/proc/net/{tcp,tcp6,udp,udp6}` and socket links under `/proc/PID/fd`.

use std::net::{Ipv4Addr, Ipv6Addr};

use vigil_model::{ListeningSocket, Protocol};

use crate::{excerpt, Parsed};

/// `TCP_LISTEN` in the kernel's `st` column.
const TCP_LISTEN: u8 = 0x0A;
/// `TCP_CLOSE`: for UDP, a bound socket with no connected peer, i.e. one that receives from anyone.
const UDP_UNCONNECTED: u8 = 0x07;

/// Parses one `/proc/net/{tcp,tcp6,udp,udp6}` table into its listening sockets.
///
/// TCP keeps `LISTEN` sockets; UDP keeps bound, unconnected ones (`st` 07). Other states are
/// filtered out silently; lines that do not parse, or whose address width does not match
/// `protocol`, are skipped with a reason. `pid` and `process` are left empty for the caller,
/// which maps inodes to processes through `/proc/PID/fd`.
///
/// Addresses are decoded as the kernel prints them on little-endian hosts (x86-64, arm64): each
/// 32-bit word is written as a native-endian hex number.
pub fn proc_net(text: &str, protocol: Protocol) -> Parsed<Vec<ListeningSocket>> {
    let mut out = Parsed::new(Vec::new());
    let keep_state = match protocol {
        Protocol::Tcp | Protocol::Tcp6 => TCP_LISTEN,
        Protocol::Udp | Protocol::Udp6 => UDP_UNCONNECTED,
    };
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if first == "sl" {
            continue;
        }
        match parse_line(first, fields, protocol) {
            Ok((state, socket)) if state == keep_state => out.value.push(socket),
            Ok(_) => {}
            Err(why) => out.skip(line_no, format_args!("{why}: '{}'", excerpt(line))),
        }
    }
    out
}

/// One table row: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode …`.
fn parse_line<'a>(
    sl: &str,
    mut fields: impl Iterator<Item = &'a str>,
    protocol: Protocol,
) -> Result<(u8, ListeningSocket), &'static str> {
    let slot = sl.strip_suffix(':').ok_or("slot number without ':'")?;
    if slot.is_empty() || !slot.bytes().all(|b| b.is_ascii_digit()) {
        return Err("bad slot number");
    }
    let local = fields.next().ok_or("missing local address")?;
    let _remote = fields.next().ok_or("missing remote address")?;
    let state = fields.next().ok_or("missing state")?;
    let state = hex_u8(state).ok_or("bad state")?;
    let _queues = fields.next().ok_or("missing queues")?;
    let _timer = fields.next().ok_or("missing timer")?;
    let _retransmits = fields.next().ok_or("missing retransmits")?;
    let uid = fields.next().ok_or("missing uid")?;
    let uid = uid.parse().map_err(|_| "bad uid")?;
    let _timeout = fields.next().ok_or("missing timeout")?;
    let inode = fields.next().ok_or("missing inode")?;
    let inode = inode.parse().map_err(|_| "bad inode")?;

    let (addr, port) = local.split_once(':').ok_or("local address without port")?;
    if port.len() != 4 {
        return Err("bad port");
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| "bad port")?;
    let address = match protocol {
        Protocol::Tcp | Protocol::Udp => ipv4(addr).ok_or("bad IPv4 address")?.to_string(),
        Protocol::Tcp6 | Protocol::Udp6 => ipv6(addr).ok_or("bad IPv6 address")?.to_string(),
    };
    let socket = ListeningSocket {
        protocol,
        address,
        port,
        inode,
        uid,
        pid: 0,
        process: String::new(),
        exe: String::new(),
        start_ticks: 0,
    };
    Ok((state, socket))
}

fn hex_u8(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 2 {
        return None;
    }
    u8::from_str_radix(s, 16).ok()
}

/// Eight hex digits: one 32-bit word in network order, printed as a little-endian integer.
fn hex_word(s: &str) -> Option<[u8; 4]> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok().map(u32::to_le_bytes)
}

fn ipv4(s: &str) -> Option<Ipv4Addr> {
    hex_word(s).map(Ipv4Addr::from)
}

fn ipv6(s: &str) -> Option<Ipv6Addr> {
    if s.len() != 32 || !s.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (w, chunk) in bytes.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&hex_word(&s[w * 8..w * 8 + 8])?);
    }
    Some(Ipv6Addr::from(bytes))
}

/// The inode of a `/proc/PID/fd/N` link target such as `socket:[12345]`.
pub fn socket_inode(link_target: &str) -> Option<u64> {
    let digits = link_target.strip_prefix("socket:[")?.strip_suffix(']')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_little_endian() {
        assert_eq!(ipv4("0100007F"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(ipv4("020200C0"), Some(Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!(ipv4("00000000"), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(ipv4("0100007"), None);
        assert_eq!(ipv4("+100007F"), None);
    }

    #[test]
    fn ipv6_words_are_little_endian() {
        assert_eq!(
            ipv6("00000000000000000000000001000000"),
            Some(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            ipv6("0000000000000000FFFF00000100007F").map(|a| a.to_string()),
            Some("::ffff:127.0.0.1".to_owned())
        );
        // 2001:db8::1 as the kernel prints it.
        assert_eq!(
            ipv6("B80D0120000000000000000001000000").map(|a| a.to_string()),
            Some("2001:db8::1".to_owned())
        );
        assert_eq!(ipv6("0000000000000000000000000100000"), None);
        assert_eq!(ipv6("000000000000000000000000010000é"), None);
    }

    #[test]
    fn tcp_keeps_listen_only() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 3846 1 0000000000000000 100 0 0 10 0\n\
   1: 020200C0:E12C 507100CB:01BB 01 00000000:00000000 00:00000000 00000000     0        0 11371 1 0000000000000000 21 4 1 85 -1\n";
        let p = proc_net(text, Protocol::Tcp);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        assert_eq!(
            p.value,
            [ListeningSocket {
                protocol: Protocol::Tcp,
                address: "127.0.0.1".into(),
                port: 5432,
                inode: 3846,
                uid: 101,
                pid: 0,
                process: String::new(),
                exe: String::new(),
                start_ticks: 0,
            }]
        );
    }

    #[test]
    fn udp_keeps_unconnected_only() {
        let text = " 8123: 0100007F:D476 0100007F:9C75 01 00000000:00000000 00:00000000 00000000     0        0 13852 2 0 0\n\
10170: 0100007F:9C75 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 13850 2 0 0\n";
        let p = proc_net(text, Protocol::Udp);
        assert_eq!(p.value.len(), 1);
        assert_eq!(p.value[0].port, 40053);
        assert_eq!(p.value[0].inode, 13850);
    }

    #[test]
    fn width_mismatch_and_garbage_are_skipped() {
        let v4 =
            "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n";
        let p = proc_net(v4, Protocol::Tcp6);
        assert!(p.value.is_empty());
        assert_eq!(p.skipped_total, 1);
        assert!(p.skipped[0].reason.starts_with("bad IPv6 address"));

        let p = proc_net("hello world\n\n   0: 0100007F:1538\n", Protocol::Tcp);
        assert_eq!(p.skipped_total, 2);
        assert_eq!(p.skipped[0].line, 1);
        assert_eq!(p.skipped[1].line, 3);
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("socket:[]"), None);
        assert_eq!(socket_inode("socket:[+1]"), None);
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[99999999999999999999999]"), None);
    }
}
