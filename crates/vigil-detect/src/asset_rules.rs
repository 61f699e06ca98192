//! Alerts raised from asset changes: backdoor (uid 0) accounts, new administrators, accounts
//! without a password, and new ports listening on every interface. Levels and exceptions are
//! data ([`AssetPolicy`], the `rules/assets.toml` content pack).

use vigil_model::{
    Account, AccountPassword, AlertKind, Event, EventBody, Level, ListeningSocket, NewAlert,
    Protocol,
};

/// The asset rules' settings: each rule's level (`None`: off) and its exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AssetPolicy {
    pub backdoor_account: BackdoorRule,
    pub new_admin: SimpleRule,
    pub passwordless_login: SimpleRule,
    pub wildcard_port: PortRule,
}

/// A rule with a level and nothing else to set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct SimpleRule {
    pub level: RuleLevel,
}

/// An account other than `allowed` with uid 0.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct BackdoorRule {
    pub level: RuleLevel,
    pub allowed: Vec<String>,
}

/// A new port on every interface, except the `quiet` ones (`tcp/PORT`, `udp/PORT`; `tcp` covers
/// tcp6 too).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct PortRule {
    pub level: RuleLevel,
    #[cfg_attr(feature = "serde", serde(default))]
    pub quiet: Vec<QuietPort>,
}

/// A rule's level, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum RuleLevel {
    Urgent,
    Suspicious,
    Reminder,
    Off,
}

impl RuleLevel {
    pub fn level(self) -> Option<Level> {
        match self {
            RuleLevel::Urgent => Some(Level::Urgent),
            RuleLevel::Suspicious => Some(Level::Suspicious),
            RuleLevel::Reminder => Some(Level::Reminder),
            RuleLevel::Off => None,
        }
    }
}

/// A port that never reminds: `tcp/68`, `udp/5353`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct QuietPort {
    pub udp: bool,
    pub port: u16,
}

impl TryFrom<String> for QuietPort {
    type Error = String;
    fn try_from(s: String) -> Result<QuietPort, String> {
        let bad = || format!("{s:?} is not a port: write tcp/PORT or udp/PORT");
        let (proto, port) = s.split_once('/').ok_or_else(bad)?;
        let udp = match proto {
            "tcp" => false,
            "udp" => true,
            _ => return Err(bad()),
        };
        let port = port.parse().map_err(|_| bad())?;
        Ok(QuietPort { udp, port })
    }
}

impl From<QuietPort> for String {
    fn from(q: QuietPort) -> String {
        format!("{}/{}", if q.udp { "udp" } else { "tcp" }, q.port)
    }
}

impl QuietPort {
    fn covers(&self, s: &ListeningSocket) -> bool {
        let udp = matches!(s.protocol, Protocol::Udp | Protocol::Udp6);
        self.udp == udp && self.port == s.port
    }
}

/// Alerts for a batch of events; events these rules do not concern are passed over.
pub fn evaluate(events: &[Event], policy: &AssetPolicy) -> Vec<NewAlert> {
    let mut out = Vec::new();
    for e in events {
        match &e.body {
            EventBody::AccountAdded { account } => {
                account_rules(policy, None, account, e.time, &mut out)
            }
            EventBody::AccountChanged { before, after } => {
                account_rules(policy, Some(before), after, e.time, &mut out)
            }
            EventBody::PortOpened { socket } if socket.is_wildcard() => {
                let Some(level) = policy.wildcard_port.level.level() else {
                    continue;
                };
                if policy.wildcard_port.quiet.iter().any(|q| q.covers(socket)) {
                    continue;
                }
                let owner = if socket.process.is_empty() {
                    "unknown process"
                } else {
                    &socket.process
                };
                out.push(NewAlert {
                    kind: AlertKind::SuspiciousPort,
                    level,
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
                        // Lets a kill check that the pid still is this process.
                        ("exe".into(), socket.exe.clone()),
                        ("start_ticks".into(), socket.start_ticks.to_string()),
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

fn account_rules(
    policy: &AssetPolicy,
    before: Option<&Account>,
    a: &Account,
    time: i64,
    out: &mut Vec<NewAlert>,
) {
    let became = |now: bool, then: fn(&Account) -> bool| now && !before.is_some_and(then);
    let backdoor = policy.backdoor_account.level.level();
    let allowed = policy.backdoor_account.allowed.contains(&a.name);
    if let Some(level) = backdoor.filter(|_| became(a.uid == 0 && !allowed, |b| b.uid == 0)) {
        out.push(NewAlert {
            kind: AlertKind::SuspiciousAccount,
            level,
            name: format!("Backdoor account: {} has uid 0", a.name),
            key: format!("uid0:{}", a.name),
            evidence: account_evidence(a),
            time,
        });
    } else if let Some(level) =
        policy.new_admin.level.level().filter(|_| {
            a.uid != 0 && became(a.admin && a.login_shell, |b| b.admin && b.login_shell)
        })
    {
        out.push(NewAlert {
            kind: AlertKind::SuspiciousAccount,
            level,
            name: format!("New administrator account: {}", a.name),
            key: format!("admin:{}", a.name),
            evidence: account_evidence(a),
            time,
        });
    }
    let nopass = |b: &Account| b.password == AccountPassword::NoPassword && b.login_shell;
    if let Some(level) = policy
        .passwordless_login
        .level
        .level()
        .filter(|_| nopass(a) && !before.is_some_and(nopass))
    {
        out.push(NewAlert {
            kind: AlertKind::SuspiciousAccount,
            level,
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

    /// The shipped pack's settings (the content crate checks the file parses to these).
    fn policy() -> AssetPolicy {
        AssetPolicy {
            backdoor_account: BackdoorRule {
                level: RuleLevel::Urgent,
                allowed: vec!["root".into()],
            },
            new_admin: SimpleRule {
                level: RuleLevel::Suspicious,
            },
            passwordless_login: SimpleRule {
                level: RuleLevel::Suspicious,
            },
            wildcard_port: PortRule {
                level: RuleLevel::Reminder,
                quiet: Vec::new(),
            },
        }
    }
    fn evaluate(events: &[Event]) -> Vec<NewAlert> {
        super::evaluate(events, &policy())
    }

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

    #[test]
    fn levels_and_exceptions_come_from_the_policy() {
        let open = |proto: Protocol, port: u16| Event {
            time: 3,
            body: EventBody::PortOpened {
                socket: ListeningSocket {
                    protocol: proto,
                    address: "0.0.0.0".into(),
                    port,
                    ..Default::default()
                },
            },
        };
        let mut p = policy();
        p.wildcard_port.quiet = vec![QuietPort::try_from("udp/68".to_string()).unwrap()];
        let ports = [open(Protocol::Udp, 68), open(Protocol::Tcp, 68)];
        let keys: Vec<_> = super::evaluate(&ports, &p)
            .into_iter()
            .map(|a| a.key)
            .collect();
        assert_eq!(keys, ["port:tcp:68"]);
        p.wildcard_port.level = RuleLevel::Off;
        assert!(super::evaluate(&ports, &p).is_empty());

        let toor = added(account("toor", 0, true, true, AccountPassword::HasPassword));
        p.backdoor_account.allowed.push("toor".into());
        assert!(super::evaluate(std::slice::from_ref(&toor), &p).is_empty());
        p.backdoor_account.allowed.clear();
        p.backdoor_account.level = RuleLevel::Suspicious;
        let levels: Vec<_> = super::evaluate(&[toor], &p)
            .into_iter()
            .map(|a| a.level)
            .collect();
        assert_eq!(levels, [Level::Suspicious]);

        assert!(QuietPort::try_from("sctp/9".to_string()).is_err());
        assert!(QuietPort::try_from("tcp/99999".to_string()).is_err());
        assert_eq!(
            String::from(QuietPort {
                udp: true,
                port: 5353
            }),
            "udp/5353"
        );
    }
}
