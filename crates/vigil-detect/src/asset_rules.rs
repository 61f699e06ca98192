//! Alerts raised from asset changes: backdoor (uid 0) accounts, new administrators, accounts
//! without a password, and new ports listening on every interface.

use vigil_model::{Account, AccountPassword, AlertKind, Event, EventBody, Level, NewAlert};

/// Alerts for a batch of events; events these rules do not concern are passed over.
pub fn evaluate(events: &[Event]) -> Vec<NewAlert> {
    let mut out = Vec::new();
    for e in events {
        match &e.body {
            EventBody::AccountAdded { account } => account_rules(None, account, e.time, &mut out),
            EventBody::AccountChanged { before, after } => {
                account_rules(Some(before), after, e.time, &mut out)
            }
            EventBody::PortOpened { socket } if socket.is_wildcard() => {
                let owner = if socket.process.is_empty() {
                    "unknown process"
                } else {
                    &socket.process
                };
                out.push(NewAlert {
                    kind: AlertKind::SuspiciousPort,
                    level: Level::Reminder,
                    name: format!(
                        "New {} port {} listening on all interfaces ({owner})",
                        socket.protocol.as_str(),
                        socket.port
                    ),
                    key: format!("port:{}:{}", socket.protocol.as_str(), socket.port),
                    evidence: vec![
                        ("protocol".into(), socket.protocol.as_str().into()),
                        ("address".into(), socket.address.clone()),
                        ("port".into(), socket.port.to_string()),
                        ("process".into(), socket.process.clone()),
                        ("pid".into(), socket.pid.to_string()),
                        // Lets a kill check that the pid still runs this executable.
                        ("exe".into(), socket.exe.clone()),
                    ],
                    time: e.time,
                });
            }
            _ => {}
        }
    }
    out
}

fn account_evidence(a: &Account) -> Vec<(String, String)> {
    vec![
        ("user".into(), a.name.clone()),
        ("uid".into(), a.uid.to_string()),
        ("shell".into(), a.shell.clone()),
        ("home".into(), a.home.clone()),
    ]
}

fn account_rules(before: Option<&Account>, a: &Account, time: i64, out: &mut Vec<NewAlert>) {
    let became = |now: bool, then: fn(&Account) -> bool| now && !before.is_some_and(then);
    if became(a.uid == 0 && a.name != "root", |b| b.uid == 0) {
        out.push(NewAlert {
            kind: AlertKind::SuspiciousAccount,
            level: Level::Urgent,
            name: format!("Backdoor account: {} has uid 0", a.name),
            key: format!("uid0:{}", a.name),
            evidence: account_evidence(a),
            time,
        });
    } else if a.uid != 0 && became(a.admin && a.login_shell, |b| b.admin && b.login_shell) {
        out.push(NewAlert {
            kind: AlertKind::SuspiciousAccount,
            level: Level::Suspicious,
            name: format!("New administrator account: {}", a.name),
            key: format!("admin:{}", a.name),
            evidence: account_evidence(a),
            time,
        });
    }
    if became(
        a.password == AccountPassword::NoPassword && a.login_shell,
        |b| b.password == AccountPassword::NoPassword && b.login_shell,
    ) {
        out.push(NewAlert {
            kind: AlertKind::SuspiciousAccount,
            level: Level::Suspicious,
            name: format!("Account {} can log in without a password", a.name),
            key: format!("nopass:{}", a.name),
            evidence: account_evidence(a),
            time,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::{ListeningSocket, Protocol};

    fn account(name: &str, uid: u32, admin: bool, login: bool, pw: AccountPassword) -> Account {
        Account {
            name: name.into(),
            uid,
            admin,
            login_shell: login,
            password: pw,
            shell: if login {
                "/bin/bash".into()
            } else {
                "/usr/sbin/nologin".into()
            },
            ..Default::default()
        }
    }
    fn added(a: Account) -> Event {
        Event {
            time: 7,
            body: EventBody::AccountAdded { account: a },
        }
    }
    fn keys(events: &[Event]) -> Vec<(String, Level)> {
        evaluate(events)
            .into_iter()
            .map(|a| (a.key, a.level))
            .collect()
    }

    #[test]
    fn uid0_backdoor_is_urgent() {
        let e = added(account("toor", 0, true, true, AccountPassword::HasPassword));
        assert_eq!(keys(&[e]), [("uid0:toor".to_string(), Level::Urgent)]);
    }

    #[test]
    fn root_itself_and_service_accounts_are_quiet() {
        let root = added(account("root", 0, true, true, AccountPassword::HasPassword));
        let svc = added(account("redis", 110, false, false, AccountPassword::Locked));
        let user = added(account(
            "alice",
            1000,
            false,
            true,
            AccountPassword::HasPassword,
        ));
        assert!(evaluate(&[root, svc, user]).is_empty());
    }

    #[test]
    fn new_admin_and_passwordless_login_are_suspicious() {
        let admin = added(account(
            "ops",
            1001,
            true,
            true,
            AccountPassword::HasPassword,
        ));
        let nopw = added(account(
            "guest",
            1002,
            false,
            true,
            AccountPassword::NoPassword,
        ));
        assert_eq!(
            keys(&[admin, nopw]),
            [
                ("admin:ops".to_string(), Level::Suspicious),
                ("nopass:guest".to_string(), Level::Suspicious)
            ]
        );
        // A locked account without a login shell is not a passwordless login.
        let sys = added(account(
            "daemon2",
            2,
            false,
            false,
            AccountPassword::NoPassword,
        ));
        assert!(evaluate(&[sys]).is_empty());
    }

    #[test]
    fn changes_alert_only_when_the_risk_is_new() {
        let before = account("bob", 1000, false, true, AccountPassword::HasPassword);
        let to_root = account("bob", 0, true, true, AccountPassword::HasPassword);
        let e = Event {
            time: 1,
            body: EventBody::AccountChanged {
                before: before.clone(),
                after: to_root,
            },
        };
        assert_eq!(keys(&[e]), [("uid0:bob".to_string(), Level::Urgent)]);
        let admin = account("bob", 1000, true, true, AccountPassword::HasPassword);
        let shell_change = Account {
            shell: "/bin/zsh".into(),
            ..admin.clone()
        };
        let e = Event {
            time: 1,
            body: EventBody::AccountChanged {
                before: admin,
                after: shell_change,
            },
        };
        assert!(evaluate(&[e]).is_empty());
    }

    #[test]
    fn wildcard_ports_remind_loopback_ports_do_not() {
        let open = |addr: &str| Event {
            time: 3,
            body: EventBody::PortOpened {
                socket: ListeningSocket {
                    protocol: Protocol::Tcp,
                    address: addr.into(),
                    port: 6379,
                    process: "redis-server".into(),
                    ..Default::default()
                },
            },
        };
        let alerts = evaluate(&[open("0.0.0.0"), open("127.0.0.1"), open("::")]);
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].level, Level::Reminder);
        assert_eq!(alerts[0].key, "port:tcp:6379");
        assert!(alerts[0].name.contains("redis-server"));
    }
}
