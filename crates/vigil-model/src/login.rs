//! Login events: one authentication attempt as a log line or a wtmp/btmp record tells it.

use crate::Timestamp;

/// Did the attempt get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum LoginOutcome {
    Success,
    Failure,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::Failure => "failure",
        }
    }
}

/// How the user authenticated, as the service names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum LoginMethod {
    Password,
    Publickey,
    KeyboardInteractive,
    Hostbased,
    Gssapi,
    /// `none` method probes, pre-authentication disconnects.
    None,
    /// A terminal or session record (wtmp, `login`, `su`) without a named method.
    Session,
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Password => "password",
            LoginMethod::Publickey => "publickey",
            LoginMethod::KeyboardInteractive => "keyboard-interactive",
            LoginMethod::Hostbased => "hostbased",
            LoginMethod::Gssapi => "gssapi",
            LoginMethod::None => "none",
            LoginMethod::Session => "session",
        }
    }
}

/// The protocol families the brute-force rule can switch on and off (SPEC R-LG7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum LoginProtocol {
    Ssh,
    Ftp,
    Mysql,
    /// Local logins: console, su, sudo.
    Local,
}

impl LoginProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginProtocol::Ssh => "ssh",
            LoginProtocol::Ftp => "ftp",
            LoginProtocol::Mysql => "mysql",
            LoginProtocol::Local => "local",
        }
    }

    /// The family of a service name as [`LoginEvent::service`] carries it.
    pub fn of_service(service: &str) -> LoginProtocol {
        match service {
            "sshd" | "dropbear" => LoginProtocol::Ssh,
            "vsftpd" | "proftpd" | "pure-ftpd" => LoginProtocol::Ftp,
            "mysqld" | "mariadbd" | "mysql" | "mariadb" => LoginProtocol::Mysql,
            _ => LoginProtocol::Local,
        }
    }
}

/// One login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LoginEvent {
    pub time: Timestamp,
    /// The program that logged it: `sshd`, `su`, `sudo`, `login`, `dropbear`, `vsftpd`,
    /// `proftpd`, `pure-ftpd`, `mysqld`, `auditd`, `wtmp`, `btmp`, `pam`.
    pub service: String,
    /// The account tried, as written (may be empty when the log does not say).
    pub user: String,
    /// Remote address or host name as written, `::ffff:` stripped; `None` for local logins.
    pub source: Option<String>,
    pub port: Option<u16>,
    pub method: Option<LoginMethod>,
    pub outcome: LoginOutcome,
    /// Why a failure failed, short: `invalid user`, `bad password`, `max attempts`, …
    pub reason: Option<String>,
}

impl LoginEvent {
    pub fn protocol(&self) -> LoginProtocol {
        LoginProtocol::of_service(&self.service)
    }
}
