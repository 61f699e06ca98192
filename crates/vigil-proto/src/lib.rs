//! Vigil's wire formats: agent ↔ proxy ↔ server messages, request signing and REST API bodies.
//!
//! This is the only crate that decides how Vigil's data looks on the network. Every agent
//! message is versioned by [`PROTO_VERSION`] and signed by the agent's own Ed25519 key
//! ([`auth`]), so a relay can neither forge nor alter it.

pub mod agent;
pub mod api;
pub mod auth;
pub mod codec;
pub mod meta;

/// Version of the agent protocol. Bumped when a message changes incompatibly.
pub const PROTO_VERSION: u32 = 1;

/// The name the server certificate is issued to and that agents verify, whatever address they
/// dial (an IP, a DNS name, a proxy).
pub const SERVER_NAME: &str = "vigil-server";

/// Largest request body the server accepts, compressed.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Largest body after decompression; guards against compression bombs.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// Largest enrollment body, compressed or inflated: it carries a code, a key and an OS summary.
pub const MAX_ENROLL_BYTES: usize = 64 * 1024;
