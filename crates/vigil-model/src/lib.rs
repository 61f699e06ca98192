//! Vigil's pure domain types: hosts, inventory, events, alerts, levels and statuses.
//!
//! No IO and no clock: times are plain [`Timestamp`]s (seconds since the Unix epoch) handed in by
//! the caller. Serialization derives exist only behind the `serde` feature, which the wire and
//! storage crates turn on; engines never depend on a format.

pub mod alert;
pub mod event;
pub mod host;
pub mod inventory;
pub mod lifecycle;
pub mod login;

pub use alert::{
    AlertKind, AlertStatus, Level, NewAlert, ALERT_EXPIRES_AFTER_SECS, QUARANTINE_KEEP_SECS,
};
pub use event::{BaselineOutcome, Event, EventBody, Response};
pub use host::{HostId, HostState};
pub use inventory::{
    Account, AccountPassword, Inventory, ListeningSocket, OsInfo, Package, PackageFormat,
    ProcessInfo, Protocol,
};
pub use lifecycle::{
    CheckStatus, CommandState, Direction, IpRuleHostState, IpRuleStatus, OutboxState,
    QuarantineState, RuleOrigin, ScopeKind, TokenKind,
};
pub use login::{LoginEvent, LoginMethod, LoginOutcome, LoginProtocol};

/// Seconds since the Unix epoch (UTC).
pub type Timestamp = i64;
