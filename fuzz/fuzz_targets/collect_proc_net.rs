//! Fuzzes `net::proc_net` for every protocol, `net::socket_inode` and the `ifaddr` parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_collect::{ifaddr, net, MAX_SKIPS};
use vigil_model::Protocol;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    for protocol in [Protocol::Tcp, Protocol::Tcp6, Protocol::Udp, Protocol::Udp6] {
        let p = net::proc_net(&text, protocol);
        assert!(p.skipped.len() <= MAX_SKIPS);
        assert!(p.value.len() + p.skipped_total <= lines);
    }
    let _ = net::socket_inode(&text);
    assert!(ifaddr::local_ipv4(&text).len() <= lines);
    assert!(ifaddr::global_ipv6(&text).len() <= lines);
});
