//! Accuracy tests for every scheme: hand-written tables, the reference tools themselves as
//! oracles over real version strings, and robustness against arbitrary input.
//!
//! One test binary, so the shared helpers (case files, corpora, the seeded generator) are
//! compiled once. The oracle tests need `dpkg`, `apt-helper`, `/usr/bin/python3` with
//! `python3-rpm`, `python3` with `packaging`, and `node` with npm's `semver`: they fail, never
//! skip, when one is missing. `VIGIL_ORACLE_FULL=1` widens the dpkg run from a sample of the
//! host's versions to all of them (about a minute).

mod cases;
mod corpus;
mod oracle;
mod rng;
mod robustness;
