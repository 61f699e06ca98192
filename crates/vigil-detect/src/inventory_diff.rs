//! Turns two fingerprint snapshots into change events (port opened, account added, …).

use std::collections::BTreeMap;
use vigil_model::{Event, EventBody, Inventory};

/// Events describing how `new` differs from `old`, stamped `now`. Processes are not diffed:
/// they churn constantly and are reported by their own collectors.
pub fn diff(old: &Inventory, new: &Inventory, now: i64) -> Vec<Event> {
    let mut out = Vec::new();
    let mut push = |body| out.push(Event { time: now, body });

    let key = |s: &vigil_model::ListeningSocket| (s.protocol, s.address.clone(), s.port);
    let before: BTreeMap<_, _> = old.sockets.iter().map(|s| (key(s), s)).collect();
    let after: BTreeMap<_, _> = new.sockets.iter().map(|s| (key(s), s)).collect();
    for (k, s) in &after {
        if !before.contains_key(k) {
            push(EventBody::PortOpened {
                socket: (*s).clone(),
            });
        }
    }
    for (k, s) in &before {
        if !after.contains_key(k) {
            push(EventBody::PortClosed {
                socket: (*s).clone(),
            });
        }
    }

    let before: BTreeMap<_, _> = old.accounts.iter().map(|a| (a.name.as_str(), a)).collect();
    let after: BTreeMap<_, _> = new.accounts.iter().map(|a| (a.name.as_str(), a)).collect();
    for (name, a) in &after {
        match before.get(name) {
            None => push(EventBody::AccountAdded {
                account: (*a).clone(),
            }),
            Some(b) if b != a => push(EventBody::AccountChanged {
                before: (*b).clone(),
                after: (*a).clone(),
            }),
            Some(_) => {}
        }
    }
    for (name, a) in &before {
        if !after.contains_key(name) {
            push(EventBody::AccountRemoved {
                account: (*a).clone(),
            });
        }
    }

    let key = |p: &vigil_model::Package| (p.format, p.name.clone(), p.arch.clone());
    let before: BTreeMap<_, _> = old.packages.iter().map(|p| (key(p), p)).collect();
    let after: BTreeMap<_, _> = new.packages.iter().map(|p| (key(p), p)).collect();
    for (k, p) in &after {
        match before.get(k) {
            None => push(EventBody::PackageInstalled {
                package: (*p).clone(),
            }),
            Some(b) if b.version != p.version => push(EventBody::PackageChanged {
                before: (*b).clone(),
                after: (*p).clone(),
            }),
            Some(_) => {}
        }
    }
    for (k, p) in &before {
        if !after.contains_key(k) {
            push(EventBody::PackageRemoved {
                package: (*p).clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::{Account, ListeningSocket, Package, Protocol};

    fn sock(addr: &str, port: u16) -> ListeningSocket {
        ListeningSocket {
            protocol: Protocol::Tcp,
            address: addr.into(),
            port,
            ..Default::default()
        }
    }
    fn acct(name: &str, uid: u32) -> Account {
        Account {
            name: name.into(),
            uid,
            ..Default::default()
        }
    }
    fn pkg(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            arch: "amd64".into(),
            ..Default::default()
        }
    }

    #[test]
    fn identical_snapshots_produce_nothing() {
        let inv = Inventory {
            sockets: vec![sock("0.0.0.0", 22)],
            accounts: vec![acct("root", 0)],
            packages: vec![pkg("openssh-server", "1:9.2p1-2")],
            ..Default::default()
        };
        assert!(diff(&inv, &inv.clone(), 5).is_empty());
    }

    #[test]
    fn every_kind_of_change_is_reported() {
        let old = Inventory {
            sockets: vec![sock("0.0.0.0", 22), sock("127.0.0.1", 5432)],
            accounts: vec![acct("root", 0), acct("bob", 1000), acct("old", 1001)],
            packages: vec![pkg("openssl", "3.0.11-1"), pkg("gone", "1")],
            ..Default::default()
        };
        let new = Inventory {
            sockets: vec![sock("0.0.0.0", 22), sock("0.0.0.0", 6379)],
            accounts: vec![acct("root", 0), acct("bob", 0), acct("toor", 0)],
            packages: vec![pkg("openssl", "3.0.13-1"), pkg("redis", "7")],
            ..Default::default()
        };
        let kinds: Vec<_> = diff(&old, &new, 9).iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            kinds,
            [
                "port_opened",
                "port_closed",
                "account_changed",
                "account_added",
                "account_removed",
                "package_changed",
                "package_installed",
                "package_removed"
            ]
        );
        assert!(diff(&old, &new, 9).iter().all(|e| e.time == 9));
    }
}
