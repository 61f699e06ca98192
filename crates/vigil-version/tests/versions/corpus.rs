//! Real version strings: this Debian host's package database and apt lists, read at test time,
//! and the committed fixtures of real Debian, PyPI and npm versions (`tests/fixtures/`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

const STATUS: &str = "/var/lib/dpkg/status";
const LISTS: &str = "/var/lib/apt/lists";
/// Decompresses apt's lists whatever their compression (lz4, gz, xz, zstd or none).
const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

/// Relationship fields whose `(op version)` parts are versions too.
const RELATION_FIELDS: [&str; 11] = [
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Enhances",
    "Breaks",
    "Conflicts",
    "Replaces",
    "Provides",
    "Built-Using",
    "Static-Built-Using",
];

pub fn debian_fixture() -> Vec<&'static str> {
    lines(include_str!("../fixtures/debian-versions.txt"))
}

pub fn pypi_fixture() -> Vec<&'static str> {
    lines(include_str!("../fixtures/pypi-versions.txt"))
}

pub fn npm_fixture() -> Vec<&'static str> {
    lines(include_str!("../fixtures/npm-versions.txt"))
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.is_empty()).collect()
}

/// The host's versions with where they came from.
pub struct Host {
    /// Distinct version strings, including the Debian fixture, in byte order.
    pub versions: Vec<String>,
    /// apt `Packages` lists read (0 where `apt-get update` never ran).
    pub lists: usize,
}

/// Every version string this Debian host knows: `Version`, `Source` and relationship fields
/// of the dpkg status file and of every apt `Packages` list, plus the committed fixture. Read
/// once per test run. Panics when the host has no dpkg status file: the oracle tests need a
/// Debian host.
pub fn debian_host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(read_host)
}

fn read_host() -> Host {
    let status = std::fs::read_to_string(STATUS)
        .unwrap_or_else(|e| panic!("{STATUS}: {e} (these tests need a Debian host)"));
    let mut set = BTreeSet::new();
    extract(&status, &mut set);
    let mut lists = 0;
    if let Ok(dir) = std::fs::read_dir(LISTS) {
        let mut paths: Vec<_> = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_packages_list(p))
            .collect();
        paths.sort();
        for path in paths {
            let out = Command::new(APT_HELPER)
                .arg("cat-file")
                .arg(&path)
                .output()
                .unwrap_or_else(|e| panic!("{APT_HELPER}: {e} (part of Debian's apt)"));
            assert!(
                out.status.success(),
                "{APT_HELPER} cat-file {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            extract(&String::from_utf8_lossy(&out.stdout), &mut set);
            lists += 1;
        }
    }
    set.extend(debian_fixture().into_iter().map(String::from));
    Host {
        versions: set.into_iter().collect(),
        lists,
    }
}

fn is_packages_list(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with("_Packages") || name.contains("_Packages.")
}

/// Adds the versions named in a dpkg status file or `Packages` list to `out`.
fn extract(text: &str, out: &mut BTreeSet<String>) {
    let mut field = "";
    for line in text.lines() {
        let value = if line.starts_with([' ', '\t']) {
            line
        } else if !line.starts_with(['V', 'S', 'D', 'P', 'R', 'B', 'C', 'E']) {
            // Not a field we read (most lines are not): skip it cheaply.
            field = "";
            continue;
        } else {
            match line.split_once(':') {
                Some((name, value)) => {
                    field = name;
                    value
                }
                None => {
                    field = "";
                    continue;
                }
            }
        };
        if field == "Version" {
            insert(out, value.trim());
        } else if field == "Source" || RELATION_FIELDS.contains(&field) {
            // `name (version)` in Source, `name (op version)` in relationships.
            for part in value.split('(').skip(1) {
                let inside = part.split(')').next().unwrap_or("");
                if let Some(v) = inside.split_whitespace().last() {
                    insert(out, v);
                }
            }
        }
    }
}

/// Most versions repeat (in other packages' relationships): look before allocating.
fn insert(out: &mut BTreeSet<String>, v: &str) {
    if !out.contains(v) {
        out.insert(v.to_string());
    }
}

#[test]
fn extracts_versions_from_stanzas() {
    let text = "Package: libc6\nVersion: 2.36-9+deb12u4\nDepends: libgcc-s1, \
                dpkg (>= 1.19.0~) | x,\n zlib1g (>= 1:1.2.0)\nSource: glibc (2.36-9)\n\
                Description: x (not a version)\n\nPackage: y\nVersion: 1:2.0\n";
    let mut set = BTreeSet::new();
    extract(text, &mut set);
    let got: Vec<&str> = set.iter().map(String::as_str).collect();
    assert_eq!(
        got,
        ["1.19.0~", "1:1.2.0", "1:2.0", "2.36-9", "2.36-9+deb12u4"]
    );
}
