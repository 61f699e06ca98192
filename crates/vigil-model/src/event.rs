//! Events: what an agent observed on its host, in the order it observed it.

use crate::alert::NewAlert;
use crate::inventory::{Account, ListeningSocket, Package};
use crate::login::LoginEvent;
use crate::Timestamp;

/// What one baseline check found on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BaselineOutcome {
    /// The check's id (`ssh.permit-root-login`).
    pub id: String,
    pub status: crate::CheckStatus,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "String::is_empty")
    )]
    pub evidence: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "String::is_empty")
    )]
    pub file: String,
}

/// One observation from a host. Events are stored as they arrive and fed to the engines.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// When the agent observed it.
    pub time: Timestamp,
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub body: EventBody,
}

/// What was observed. New collectors add variants; the wire form is tagged by `kind`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum EventBody {
    /// A socket started listening.
    PortOpened {
        socket: ListeningSocket,
    },
    /// A socket stopped listening.
    PortClosed {
        socket: ListeningSocket,
    },
    AccountAdded {
        account: Account,
    },
    AccountRemoved {
        account: Account,
    },
    /// An existing account changed (uid, shell, password state, admin rights).
    AccountChanged {
        before: Account,
        after: Account,
    },
    PackageInstalled {
        package: Package,
    },
    PackageRemoved {
        package: Package,
    },
    /// Same package name and architecture, another version.
    PackageChanged {
        before: Package,
        after: Package,
    },
    /// A successful login (failures arrive summed up in [`EventBody::LoginFailures`]).
    Login {
        login: LoginEvent,
    },
    /// Failed logins from one source to one service, summed up by the agent over a short period.
    LoginFailures {
        source: Option<String>,
        service: String,
        failures: u32,
        /// Up to ten of the accounts tried.
        users: Vec<String>,
        first: Timestamp,
        last: Timestamp,
    },
    /// One run of the security baseline: every check's status; the evidence and file only for
    /// the checks that failed or could not be judged.
    BaselineRun {
        results: Vec<BaselineOutcome>,
    },
    /// An alert an engine on the agent raised (brute force), with what the agent did about it.
    AgentAlert {
        alert: NewAlert,
        #[cfg_attr(feature = "serde", serde(default))]
        response: Option<Response>,
    },
}

/// An automatic response the agent took for an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Response {
    /// `block_ip`.
    pub action: String,
    /// What it acted on, e.g. `192.0.2.7/32`.
    pub target: String,
    /// When the block ends; `None`: permanent.
    pub until: Option<Timestamp>,
    pub ok: bool,
    /// What was done, or the exact error.
    pub message: String,
}

impl EventBody {
    /// The stable `kind` name used on the wire and in storage.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::PortOpened { .. } => "port_opened",
            EventBody::PortClosed { .. } => "port_closed",
            EventBody::AccountAdded { .. } => "account_added",
            EventBody::AccountRemoved { .. } => "account_removed",
            EventBody::AccountChanged { .. } => "account_changed",
            EventBody::PackageInstalled { .. } => "package_installed",
            EventBody::PackageRemoved { .. } => "package_removed",
            EventBody::PackageChanged { .. } => "package_changed",
            EventBody::Login { .. } => "login",
            EventBody::LoginFailures { .. } => "login_failures",
            EventBody::AgentAlert { .. } => "agent_alert",
            EventBody::BaselineRun { .. } => "baseline_run",
        }
    }
}
