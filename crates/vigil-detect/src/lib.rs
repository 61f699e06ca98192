//! Vigil's pure detection engines: events and `now` in, events and alerts out.
//!
//! Nothing here reads a clock, a file or a socket; the agent and server shells feed the engines
//! and store what they return, and `vigil scan …` runs the same code offline.

pub mod asset_rules;
pub mod baseline;
pub mod bruteforce;
pub mod correlate;
pub mod error;
pub mod hashes;
pub mod inventory_diff;
pub mod ip;
pub mod login_model;
pub mod score;
pub mod secrets;
pub mod whitelist;
