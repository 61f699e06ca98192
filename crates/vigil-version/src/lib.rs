//! Version ordering per package ecosystem: dpkg, rpm, apk, semver and PEP 440.
//!
//! Each scheme lives in its own pure module with the same two functions:
//!
//! * `compare(a, b)` orders two version strings the way that ecosystem's own tool does. It is
//!   total: every pair of strings, including ones the scheme cannot parse, compares the same way
//!   every time, without panicking, and the result is a total preorder (antisymmetric and
//!   transitive), so it can drive a sort. Strings that are different spellings of one version
//!   (dpkg `1.0` and `1.00`, PEP 440 `1.0` and `1.0.0`) compare [`Ordering::Equal`].
//! * `is_valid(s)` says whether the ecosystem's tool accepts `s` as a version without complaint.
//!
//! [`compare`] and [`is_valid`] dispatch on [`Scheme`]. Nothing here allocates, reads files or
//! depends on anything outside `std`.

pub mod apk;
mod digits;
pub mod dpkg;
pub mod pep440;
pub mod rpm;
pub mod semver;

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

impl Scheme {
    /// Every scheme, in declaration order.
    pub const ALL: [Scheme; 5] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Semver,
        Scheme::Pep440,
    ];
}

/// Orders two versions under `scheme`. Total: strings the scheme cannot parse still compare.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Ordering {
    match scheme {
        Scheme::Dpkg => dpkg::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::Semver => semver::compare(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
    }
}

/// Whether `s` is a version the scheme's own tool accepts without complaint.
pub fn is_valid(scheme: Scheme, s: &str) -> bool {
    match scheme {
        Scheme::Dpkg => dpkg::is_valid(s),
        Scheme::Rpm => rpm::is_valid(s),
        Scheme::Apk => apk::is_valid(s),
        Scheme::Semver => semver::is_valid(s),
        Scheme::Pep440 => pep440::is_valid(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_reaches_each_scheme() {
        // One pair per scheme on which that scheme disagrees with plain string order.
        assert_eq!(compare(Scheme::Dpkg, "1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(compare(Scheme::Rpm, "1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(compare(Scheme::Apk, "1.0_rc1", "1.0"), Ordering::Less);
        assert_eq!(
            compare(Scheme::Semver, "1.0.0-rc.1", "1.0.0"),
            Ordering::Less
        );
        assert_eq!(compare(Scheme::Pep440, "1.0rc1", "1.0"), Ordering::Less);
        assert!(is_valid(Scheme::Dpkg, "1:2.36-9+deb12u4"));
        assert!(!is_valid(Scheme::Rpm, "1.0-1-1"));
        assert!(!is_valid(Scheme::Apk, "1.0-1"));
        assert!(!is_valid(Scheme::Semver, "01.0.0"));
        assert!(!is_valid(Scheme::Pep440, "1.0~rc1"));
    }
}
