//! Vigil's host agent: collects fingerprints and events, spools them on disk, and sends them to
//! the server over a TLS channel pinned to the server's CA, every request signed by the host's
//! own key.

pub mod baseline;
pub mod client;
pub mod collect;
pub mod commands;
pub mod files;
pub mod firewall;
pub mod follow;
pub mod identity;
pub mod journal;
pub mod logins;
pub mod monitors;
pub mod pace;
pub mod quarantine;
pub mod respond;
pub mod run;
pub mod service;
pub mod spool;
pub mod tree;
pub mod weak;
pub mod webroots;

pub use identity::Identity;
pub use run::{enroll, run, uninstall, AgentConfig};

/// The agent's version, reported at enrollment and in heartbeats; the `vigil` binary's version
/// (a test there keeps the two equal).
pub const VERSION: &str = "0.1.0";
