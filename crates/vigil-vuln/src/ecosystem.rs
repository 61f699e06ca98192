//! Package ecosystems: OSV ecosystem names, the host's own ecosystem, and each one's version order.

use std::borrow::Cow;
use std::fmt::{self, Display};

use vigil_version::Scheme;

/// A family of package universes that share naming and version ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Debian,
    Ubuntu,
    Alpine,
    AlmaLinux,
    RockyLinux,
    RedHat,
    Suse,
    OpenSuse,
    PyPI,
    Npm,
    CratesIo,
}

impl Family {
    /// Every family, in a fixed order (the compiled database stores positions in this list).
    pub const ALL: [Family; 11] = [
        Family::Debian,
        Family::Ubuntu,
        Family::Alpine,
        Family::AlmaLinux,
        Family::RockyLinux,
        Family::RedHat,
        Family::Suse,
        Family::OpenSuse,
        Family::PyPI,
        Family::Npm,
        Family::CratesIo,
    ];

    /// The name OSV uses before the first `:`.
    pub fn osv_name(self) -> &'static str {
        match self {
            Family::Debian => "Debian",
            Family::Ubuntu => "Ubuntu",
            Family::Alpine => "Alpine",
            Family::AlmaLinux => "AlmaLinux",
            Family::RockyLinux => "Rocky Linux",
            Family::RedHat => "Red Hat",
            Family::Suse => "SUSE",
            Family::OpenSuse => "openSUSE",
            Family::PyPI => "PyPI",
            Family::Npm => "npm",
            Family::CratesIo => "crates.io",
        }
    }

    pub fn scheme(self) -> Scheme {
        match self {
            Family::Debian | Family::Ubuntu => Scheme::Dpkg,
            Family::Alpine => Scheme::Apk,
            Family::AlmaLinux
            | Family::RockyLinux
            | Family::RedHat
            | Family::Suse
            | Family::OpenSuse => Scheme::Rpm,
            Family::PyPI => Scheme::Pep440,
            Family::Npm | Family::CratesIo => Scheme::Semver,
        }
    }

    /// Operating-system distributions. Their advisories name source packages (Alpine: the
    /// origin) and are matched against the source package and version.
    pub fn is_distribution(self) -> bool {
        !matches!(self, Family::PyPI | Family::Npm | Family::CratesIo)
    }

    pub(crate) fn code(self) -> u8 {
        // ALL has 11 entries, so the position fits.
        Family::ALL.iter().position(|f| *f == self).unwrap_or(0) as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Family> {
        Family::ALL.get(usize::from(code)).copied()
    }
}

/// One package universe: a family and, for distributions, its release.
///
/// Releases are normalised so that an advisory's ecosystem and the host's compare equal:
/// Debian `12`, Ubuntu `22.04`, Alpine `3.19`, RHEL-likes the major version `9`, SUSE and
/// openSUSE `15.5` (SUSE `15 SP5`), `tumbleweed`, `micro-5.5`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ecosystem {
    pub family: Family,
    pub release: Option<String>,
}

impl Ecosystem {
    pub fn new(family: Family, release: Option<&str>) -> Ecosystem {
        Ecosystem {
            family,
            release: release.map(str::to_owned),
        }
    }

    /// Reads an OSV `affected[].package.ecosystem` value.
    ///
    /// `None` for ecosystems Vigil does not match: ones it has no inventory for (Go, Maven,
    /// npm-like registries other than npm, …), Ubuntu FIPS streams (their packages carry their
    /// own versions), Red Hat products other than `enterprise_linux` (EUS/AUS streams have lower
    /// fixed versions than the main line and would hide findings there) and SUSE products other
    /// than Linux Enterprise.
    pub fn parse(osv: &str) -> Option<Ecosystem> {
        let mut parts = osv.split(':');
        let family = parts.next()?.trim();
        let rest: Vec<&str> = parts.map(str::trim).collect();
        let simple = |family| {
            Some(Ecosystem {
                family,
                release: None,
            })
        };
        match family {
            "PyPI" => simple(Family::PyPI),
            "npm" => simple(Family::Npm),
            "crates.io" => simple(Family::CratesIo),
            "Debian" => {
                let release = rest.first().filter(|r| is_release_token(r))?;
                Some(Ecosystem::new(Family::Debian, Some(release)))
            }
            "Ubuntu" => {
                if rest
                    .iter()
                    .any(|p| p.to_ascii_uppercase().starts_with("FIPS"))
                {
                    return None;
                }
                // `22.04:LTS`, `Pro:20.04:LTS`, `Pro:16.04:LTS`, `23.10`: the first dotted
                // number is the release; Pro (ESM) fixes belong to the same release.
                let release = rest
                    .iter()
                    .find(|p| p.contains('.') && is_release_token(p))?;
                Some(Ecosystem::new(Family::Ubuntu, Some(release)))
            }
            "Alpine" => {
                let r = rest.first()?;
                let r = r.strip_prefix('v').unwrap_or(r);
                if !is_release_token(r) {
                    return None;
                }
                Some(Ecosystem::new(Family::Alpine, Some(r)))
            }
            "AlmaLinux" => major_release(Family::AlmaLinux, rest.first()?),
            "Rocky Linux" => major_release(Family::RockyLinux, rest.first()?),
            "Red Hat" => {
                // `Red Hat:enterprise_linux:9::appstream`
                if rest.first() != Some(&"enterprise_linux") {
                    return None;
                }
                major_release(Family::RedHat, rest.get(1)?)
            }
            "SUSE" => suse_release(Family::Suse, rest.first()?),
            "openSUSE" => suse_release(Family::OpenSuse, rest.first()?),
            _ => None,
        }
    }

    /// The ecosystem of a host's own packages, from os-release `ID` and `VERSION_ID`.
    ///
    /// `None` for distributions without an advisory feed here, and for releases without a
    /// `VERSION_ID` (Debian testing/sid), whose packages no release's advisories describe.
    pub fn for_host(os_id: &str, version_id: &str) -> Option<Ecosystem> {
        let version = version_id.trim();
        let id = os_id.trim().to_ascii_lowercase();
        if id == "opensuse-tumbleweed" {
            return Some(Ecosystem::new(Family::OpenSuse, Some("tumbleweed")));
        }
        if version.is_empty() || !is_release_token(version) {
            return None;
        }
        let major = version.split('.').next().unwrap_or(version);
        let major_minor = || {
            let mut it = version.split('.');
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => format!("{a}.{b}"),
                _ => version.to_owned(),
            }
        };
        let (family, release) = match id.as_str() {
            "debian" => (Family::Debian, major.to_owned()),
            "ubuntu" => (Family::Ubuntu, major_minor()),
            "alpine" => (Family::Alpine, major_minor()),
            "almalinux" => (Family::AlmaLinux, major.to_owned()),
            "rocky" => (Family::RockyLinux, major.to_owned()),
            "rhel" => (Family::RedHat, major.to_owned()),
            "sles" | "sled" | "sles_sap" => (Family::Suse, suse_version(version)),
            "sle-micro" | "sl-micro" => (Family::Suse, format!("micro-{}", major_minor())),
            "opensuse-leap" => (Family::OpenSuse, major_minor()),
            "opensuse-leap-micro" => (Family::OpenSuse, format!("micro-{}", major_minor())),
            _ => return None,
        };
        Some(Ecosystem {
            family,
            release: Some(release),
        })
    }

    /// The host's ecosystem from an inventory's OS facts.
    pub fn for_os(os: &vigil_model::OsInfo) -> Option<Ecosystem> {
        Ecosystem::for_host(&os.id, &os.version_id)
    }

    pub fn scheme(&self) -> Scheme {
        self.family.scheme()
    }

    /// The form of a package name that advisories and lock files agree on. PyPI names compare
    /// after PEP 503 normalisation (`Flask_SQLAlchemy` is `flask-sqlalchemy`); other ecosystems
    /// compare names as written.
    pub fn normalize_package<'a>(&self, name: &'a str) -> Cow<'a, str> {
        normalize_package(self.family, name)
    }
}

pub(crate) fn normalize_package(family: Family, name: &str) -> Cow<'_, str> {
    if family != Family::PyPI {
        return Cow::Borrowed(name);
    }
    let already = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.contains("--");
    if already {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    Cow::Owned(out)
}

impl Display for Ecosystem {
    /// The OSV spelling where there is one canonical form (`Debian:12`, `Alpine:v3.19`,
    /// `AlmaLinux:9`, `PyPI`); Ubuntu, Red Hat and SUSE print family and normalised release.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.family.osv_name())?;
        match (&self.release, self.family) {
            (None, _) => Ok(()),
            (Some(r), Family::Alpine) => write!(f, ":v{r}"),
            (Some(r), _) => write!(f, ":{r}"),
        }
    }
}

/// Digits and dots (and, for edge-like names, letters): rejects empty and odd input early.
fn is_release_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

fn major_release(family: Family, r: &str) -> Option<Ecosystem> {
    let major = r.split('.').next()?;
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Ecosystem::new(family, Some(major)))
}

/// `15` → `15.0`, `15.5` → `15.5`, matching how `15` and `15 SP5` are normalised.
fn suse_version(v: &str) -> String {
    if v.contains('.') {
        v.to_owned()
    } else {
        format!("{v}.0")
    }
}

/// SUSE and openSUSE product names: `Linux Enterprise Server 15 SP5`, `Linux Enterprise Module
/// for Basesystem 15 SP5`, `Leap 15.5`, `Tumbleweed`, `Leap Micro 5.5`, `Linux Enterprise Micro
/// 5.5`.
fn suse_release(family: Family, product: &str) -> Option<Ecosystem> {
    let words: Vec<&str> = product.split_whitespace().collect();
    if family == Family::OpenSuse && words.first() == Some(&"Tumbleweed") {
        return Some(Ecosystem::new(family, Some("tumbleweed")));
    }
    let relevant = match family {
        Family::Suse => product.starts_with("Linux Enterprise") || product.starts_with("Micro"),
        _ => words.first() == Some(&"Leap"),
    };
    if !relevant {
        return None;
    }
    let micro = words.contains(&"Micro");
    // The version is the last number, optionally followed by `SPn`.
    let (number, sp) = match words.as_slice() {
        [.., n, sp] if sp.starts_with("SP") && sp.len() > 2 => (*n, Some(&sp[2..])),
        [.., n] => (*n, None),
        [] => return None,
    };
    if !number.bytes().next().is_some_and(|b| b.is_ascii_digit()) || !is_release_token(number) {
        return None;
    }
    if sp.is_some_and(|s| !s.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let version = match sp {
        Some(sp) => format!("{number}.{sp}"),
        None if micro => number.to_owned(),
        None => suse_version(number),
    };
    let release = if micro {
        format!("micro-{version}")
    } else {
        version
    };
    Some(Ecosystem {
        family,
        release: Some(release),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eco(family: Family, release: Option<&str>) -> Option<Ecosystem> {
        Some(Ecosystem::new(family, release))
    }

    #[test]
    fn osv_names() {
        let cases: &[(&str, Option<Ecosystem>)] = &[
            ("Debian:12", eco(Family::Debian, Some("12"))),
            ("Debian:9", eco(Family::Debian, Some("9"))),
            ("Ubuntu:22.04:LTS", eco(Family::Ubuntu, Some("22.04"))),
            ("Ubuntu:23.10", eco(Family::Ubuntu, Some("23.10"))),
            ("Ubuntu:Pro:20.04:LTS", eco(Family::Ubuntu, Some("20.04"))),
            ("Ubuntu:Pro:FIPS-updates:22.04:LTS", None),
            ("Alpine:v3.19", eco(Family::Alpine, Some("3.19"))),
            ("Alpine:v3.16", eco(Family::Alpine, Some("3.16"))),
            ("AlmaLinux:9", eco(Family::AlmaLinux, Some("9"))),
            ("AlmaLinux:8", eco(Family::AlmaLinux, Some("8"))),
            ("Rocky Linux:9", eco(Family::RockyLinux, Some("9"))),
            (
                "Red Hat:enterprise_linux:9::appstream",
                eco(Family::RedHat, Some("9")),
            ),
            (
                "Red Hat:enterprise_linux:8::baseos",
                eco(Family::RedHat, Some("8")),
            ),
            ("Red Hat:rhel_eus:9.2::appstream", None),
            (
                "SUSE:Linux Enterprise Server 15 SP5",
                eco(Family::Suse, Some("15.5")),
            ),
            (
                "SUSE:Linux Enterprise Module for Basesystem 15 SP5",
                eco(Family::Suse, Some("15.5")),
            ),
            (
                "SUSE:Linux Enterprise Server 15",
                eco(Family::Suse, Some("15.0")),
            ),
            (
                "SUSE:Linux Enterprise Micro 5.5",
                eco(Family::Suse, Some("micro-5.5")),
            ),
            ("SUSE:SUSE Manager Server 4.3", None),
            ("openSUSE:Leap 15.5", eco(Family::OpenSuse, Some("15.5"))),
            (
                "openSUSE:Tumbleweed",
                eco(Family::OpenSuse, Some("tumbleweed")),
            ),
            (
                "openSUSE:Leap Micro 5.5",
                eco(Family::OpenSuse, Some("micro-5.5")),
            ),
            ("PyPI", eco(Family::PyPI, None)),
            ("npm", eco(Family::Npm, None)),
            ("crates.io", eco(Family::CratesIo, None)),
            ("Go", None),
            ("Maven", None),
            ("Debian", None),
            ("Debian:", None),
            ("Alpine:v3.19 ", eco(Family::Alpine, Some("3.19"))),
            ("", None),
            ("Debian:12/../x", None),
        ];
        for (name, want) in cases {
            assert_eq!(&Ecosystem::parse(name), want, "{name}");
        }
    }

    #[test]
    fn hosts() {
        let cases: &[(&str, &str, Option<Ecosystem>)] = &[
            ("debian", "12", eco(Family::Debian, Some("12"))),
            ("debian", "", None),
            ("ubuntu", "22.04", eco(Family::Ubuntu, Some("22.04"))),
            ("alpine", "3.19.1", eco(Family::Alpine, Some("3.19"))),
            ("rocky", "9.3", eco(Family::RockyLinux, Some("9"))),
            ("almalinux", "8.10", eco(Family::AlmaLinux, Some("8"))),
            ("rhel", "9.4", eco(Family::RedHat, Some("9"))),
            ("sles", "15.5", eco(Family::Suse, Some("15.5"))),
            ("sles", "15", eco(Family::Suse, Some("15.0"))),
            ("opensuse-leap", "15.5", eco(Family::OpenSuse, Some("15.5"))),
            (
                "opensuse-tumbleweed",
                "20240101",
                eco(Family::OpenSuse, Some("tumbleweed")),
            ),
            ("arch", "", None),
            ("centos", "9", None),
        ];
        for (id, version, want) in cases {
            assert_eq!(&Ecosystem::for_host(id, version), want, "{id} {version}");
        }
    }

    #[test]
    fn host_and_advisory_ecosystems_meet() {
        let pairs = [
            ("debian", "12", "Debian:12"),
            ("ubuntu", "22.04", "Ubuntu:22.04:LTS"),
            ("ubuntu", "20.04", "Ubuntu:Pro:20.04:LTS"),
            ("alpine", "3.19.1", "Alpine:v3.19"),
            ("almalinux", "9.3", "AlmaLinux:9"),
            ("rocky", "9.3", "Rocky Linux:9"),
            ("rhel", "9.3", "Red Hat:enterprise_linux:9::appstream"),
            ("sles", "15.5", "SUSE:Linux Enterprise Server 15 SP5"),
            ("sles", "15", "SUSE:Linux Enterprise Server 15"),
            ("opensuse-leap", "15.5", "openSUSE:Leap 15.5"),
            ("sle-micro", "5.5", "SUSE:Linux Enterprise Micro 5.5"),
        ];
        for (id, v, osv) in pairs {
            assert_eq!(Ecosystem::for_host(id, v), Ecosystem::parse(osv), "{osv}");
        }
    }

    #[test]
    fn schemes_and_kinds() {
        assert_eq!(
            Ecosystem::parse("Debian:12").unwrap().scheme(),
            Scheme::Dpkg
        );
        assert_eq!(
            Ecosystem::parse("Ubuntu:22.04:LTS").unwrap().scheme(),
            Scheme::Dpkg
        );
        assert_eq!(
            Ecosystem::parse("Alpine:v3.19").unwrap().scheme(),
            Scheme::Apk
        );
        assert_eq!(
            Ecosystem::parse("Rocky Linux:9").unwrap().scheme(),
            Scheme::Rpm
        );
        assert_eq!(Ecosystem::parse("PyPI").unwrap().scheme(), Scheme::Pep440);
        assert_eq!(Ecosystem::parse("npm").unwrap().scheme(), Scheme::Semver);
        assert_eq!(
            Ecosystem::parse("crates.io").unwrap().scheme(),
            Scheme::Semver
        );
        assert!(Family::Alpine.is_distribution());
        assert!(!Family::CratesIo.is_distribution());
        for f in Family::ALL {
            assert_eq!(Family::from_code(f.code()), Some(f));
        }
        assert_eq!(Family::from_code(200), None);
    }

    #[test]
    fn display_is_osv_like() {
        let shown: Vec<String> = ["Debian:12", "Alpine:v3.19", "PyPI", "Rocky Linux:9"]
            .iter()
            .map(|n| Ecosystem::parse(n).unwrap().to_string())
            .collect();
        assert_eq!(
            shown,
            ["Debian:12", "Alpine:v3.19", "PyPI", "Rocky Linux:9"]
        );
    }

    #[test]
    fn pypi_names_normalise() {
        let pypi = Ecosystem::new(Family::PyPI, None);
        assert_eq!(
            pypi.normalize_package("Flask_SQLAlchemy"),
            "flask-sqlalchemy"
        );
        assert_eq!(pypi.normalize_package("zope.interface"), "zope-interface");
        assert_eq!(pypi.normalize_package("a-_.b"), "a-b");
        assert_eq!(pypi.normalize_package("requests"), "requests");
        let npm = Ecosystem::new(Family::Npm, None);
        assert_eq!(npm.normalize_package("@Types/Node"), "@Types/Node");
    }
}
