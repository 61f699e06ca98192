//! The one error type of the detection engines: configuration that falls outside what a rule
//! allows. Bad *events* are never errors; an engine passes over what it cannot judge.

use thiserror::Error;

/// A configuration value an engine refuses, with what it would have accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A network in `address/prefix` form that does not parse.
    #[error("invalid network {input:?}: {why} (expected an address or address/prefix, e.g. 10.0.0.0/8 or 2001:db8::/32)")]
    Cidr { input: String, why: &'static str },
    /// A daily time range that does not parse.
    #[error("invalid time range {input:?}: {why} (expected HH:MM-HH:MM, e.g. 08:00-22:00 or 22:00-06:00)")]
    TimeRange { input: String, why: &'static str },
    /// A rule setting outside the fixed set of choices the console offers.
    #[error("{rule}: {field} {value} is not allowed; choose one of {allowed}")]
    NotAllowed {
        rule: &'static str,
        field: &'static str,
        value: u64,
        allowed: &'static str,
    },
    /// A brute-force rule over a protocol family it cannot defend.
    #[error("brute-force rule: {protocol} logins carry no source address to block; choose ssh, ftp or mysql")]
    UnblockableProtocol { protocol: &'static str },
    /// A brute-force rule with nothing to watch.
    #[error("brute-force rule: no protocol selected; select at least one or disable the rule")]
    NoProtocol,
}
