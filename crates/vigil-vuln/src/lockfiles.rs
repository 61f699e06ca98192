//! Pure parsers for language lock files (requirements.txt, poetry.lock, package-lock.json,
//! Cargo.lock) into installed packages of the PyPI, npm and crates.io ecosystems.
//!
//! Only dependencies with a registry version are returned: path, git and URL dependencies have
//! no version an advisory could name. Names are returned as written; the matcher normalises them.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use crate::ecosystem::{Ecosystem, Family};
use crate::matcher::InstalledPackage;
use crate::{excerpt, Parsed};

/// The lock-file formats read here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockfileKind {
    /// pip `requirements.txt`; only `==` / `===` pins are versions.
    Requirements,
    PoetryLock,
    /// npm `package-lock.json` (lockfile v1, v2 and v3) and `npm-shrinkwrap.json`.
    PackageLock,
    CargoLock,
}

impl LockfileKind {
    /// The kind a file name says, e.g. `requirements-dev.txt` or `Cargo.lock`.
    pub fn detect(file_name: &str) -> Option<LockfileKind> {
        let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        match name {
            "poetry.lock" => Some(LockfileKind::PoetryLock),
            "package-lock.json" | "npm-shrinkwrap.json" => Some(LockfileKind::PackageLock),
            "Cargo.lock" => Some(LockfileKind::CargoLock),
            n if n.starts_with("requirements") && n.ends_with(".txt") => {
                Some(LockfileKind::Requirements)
            }
            _ => None,
        }
    }

    pub fn ecosystem(self) -> Ecosystem {
        let family = match self {
            LockfileKind::Requirements | LockfileKind::PoetryLock => Family::PyPI,
            LockfileKind::PackageLock => Family::Npm,
            LockfileKind::CargoLock => Family::CratesIo,
        };
        Ecosystem {
            family,
            release: None,
        }
    }
}

/// Parses a lock file of the given kind.
pub fn parse(kind: LockfileKind, text: &str) -> Parsed<Vec<InstalledPackage>> {
    match kind {
        LockfileKind::Requirements => requirements_txt(text),
        LockfileKind::PoetryLock => poetry_lock(text),
        LockfileKind::PackageLock => package_lock(text),
        LockfileKind::CargoLock => cargo_lock(text),
    }
}

fn package(name: &str, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.to_owned(),
        version: version.to_owned(),
        source_name: None,
        source_version: None,
    }
}

/// pip requirements: `name[extras] == version ; marker  # comment`, with `\` continuations.
///
/// Lines that are not exact pins (`>=`, ranges, URLs, `-e`, `-r` and other options) are skipped
/// with their line number: they name no installed version.
pub fn requirements_txt(text: &str) -> Parsed<Vec<InstalledPackage>> {
    let mut out = Parsed::new(Vec::new());
    let mut logical = String::new();
    let mut start_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if logical.is_empty() {
            start_line = i + 1;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        requirement_line(&logical, start_line, &mut out);
        logical.clear();
    }
    if !logical.is_empty() {
        requirement_line(&logical, start_line, &mut out);
    }
    out
}

fn requirement_line(line: &str, line_no: usize, out: &mut Parsed<Vec<InstalledPackage>>) {
    // A comment starts at `#` at the line start or after white space (URLs contain `#`).
    let mut code = line;
    for (i, c) in line.char_indices() {
        if c == '#' && (i == 0 || line[..i].ends_with(char::is_whitespace)) {
            code = &line[..i];
            break;
        }
    }
    let code = code.trim();
    if code.is_empty() {
        return;
    }
    if code.starts_with('-') {
        out.skip(
            "",
            line_no,
            "",
            format_args!("option not followed: '{}'", excerpt(code)),
        );
        return;
    }
    let spec = code.split(';').next().unwrap_or(code).trim();
    let name_len = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..name_len];
    let mut rest = spec[name_len..].trim_start();
    if name.is_empty() {
        out.skip(
            "",
            line_no,
            "",
            format_args!("no package name in '{}'", excerpt(code)),
        );
        return;
    }
    if rest.starts_with('[') {
        match rest.find(']') {
            Some(end) => rest = rest[end + 1..].trim_start(),
            None => {
                out.skip("", line_no, "", "unclosed extras");
                return;
            }
        }
    }
    // After the version only per-requirement options (`--hash=…`) may follow.
    let pinned = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))
        .map(|v| {
            let mut words = v.split_whitespace();
            let version = words.next().unwrap_or("");
            (version, words.all(|w| w.starts_with("--")))
        });
    let version = match pinned {
        Some((v, true))
            if !v.contains([',', '*', '<', '>', '=', '!', '~'])
                && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric()) =>
        {
            v
        }
        _ => {
            out.skip(
                "",
                line_no,
                "",
                format_args!("not pinned with ==: '{}'", excerpt(code)),
            );
            return;
        }
    };
    out.value.push(package(name, version));
}

#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<TomlPackage>,
}

#[derive(Deserialize)]
struct TomlPackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    source: Option<toml::Value>,
}

fn toml_lock(text: &str) -> Result<Vec<TomlPackage>, String> {
    toml::from_str::<TomlLock>(text)
        .map(|l| l.package)
        .map_err(|e| one_line_error(&e.to_string()))
}

fn one_line_error(e: &str) -> String {
    excerpt(&crate::one_line(e, 200))
}

/// `poetry.lock`: every `[[package]]` from PyPI or a PyPI-like index (`source.type = "legacy"`);
/// git, directory, file and URL packages are left out.
pub fn poetry_lock(text: &str) -> Parsed<Vec<InstalledPackage>> {
    let mut out = Parsed::new(Vec::new());
    let packages = match toml_lock(text) {
        Ok(p) => p,
        Err(e) => {
            out.skip("", 0, "", format_args!("not a poetry.lock: {e}"));
            return out;
        }
    };
    for (i, p) in packages.into_iter().enumerate() {
        let (Some(name), Some(version)) = (p.name, p.version) else {
            out.skip(
                "",
                0,
                "",
                format_args!("package #{} without name or version", i + 1),
            );
            continue;
        };
        let from_index = match &p.source {
            None => true,
            Some(s) => s.get("type").and_then(toml::Value::as_str) == Some("legacy"),
        };
        if from_index {
            out.value.push(package(&name, &version));
        }
    }
    out
}

/// `Cargo.lock`: packages whose `source` is a registry. Workspace members and path
/// dependencies have no source; git dependencies are not registry releases.
pub fn cargo_lock(text: &str) -> Parsed<Vec<InstalledPackage>> {
    let mut out = Parsed::new(Vec::new());
    let packages = match toml_lock(text) {
        Ok(p) => p,
        Err(e) => {
            out.skip("", 0, "", format_args!("not a Cargo.lock: {e}"));
            return out;
        }
    };
    for (i, p) in packages.into_iter().enumerate() {
        let (Some(name), Some(version)) = (p.name, p.version) else {
            out.skip(
                "",
                0,
                "",
                format_args!("package #{} without name or version", i + 1),
            );
            continue;
        };
        let registry = p
            .source
            .as_ref()
            .and_then(toml::Value::as_str)
            .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"));
        if registry {
            out.value.push(package(&name, &version));
        }
    }
    out
}

/// `package-lock.json`: the `packages` map of lockfile v2/v3 (keys `node_modules/…`, nested
/// `node_modules` allowed), else v1's recursive `dependencies`. Links, the root project and
/// workspace folders are left out, as are versions that are URLs or paths. Each (name, version)
/// once.
pub fn package_lock(text: &str) -> Parsed<Vec<InstalledPackage>> {
    let mut out = Parsed::new(Vec::new());
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.skip("", 0, "", format_args!("not JSON: {e}"));
            return out;
        }
    };
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
        for (path, entry) in packages {
            let Some(at) = path.rfind("node_modules/") else {
                // "" is the root project; other keys are workspace folders.
                continue;
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            // An aliased install (`"x": "npm:real@1"`) records the real name in `name`.
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&path[at + "node_modules/".len()..]);
            npm_package(path, name, entry, &mut seen, &mut out);
        }
    } else if let Some(deps) = doc.get("dependencies").and_then(Value::as_object) {
        let mut stack: Vec<(String, &serde_json::Map<String, Value>, usize)> =
            vec![(String::new(), deps, 0)];
        while let Some((prefix, deps, depth)) = stack.pop() {
            for (name, entry) in deps {
                let path = format!("{prefix}{name}");
                npm_package(&path, name, entry, &mut seen, &mut out);
                if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                    // Real trees are shallow; a cap keeps a hostile one from exhausting memory.
                    if depth < 64 {
                        stack.push((format!("{path} > "), nested, depth + 1));
                    }
                }
            }
        }
    } else {
        out.skip("", 0, "", "neither 'packages' nor 'dependencies'");
    }
    out.value
        .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out
}

fn npm_package(
    path: &str,
    name: &str,
    entry: &Value,
    seen: &mut BTreeSet<(String, String)>,
    out: &mut Parsed<Vec<InstalledPackage>>,
) {
    let Some(version) = entry.get("version").and_then(Value::as_str) else {
        // Optional dependencies for other platforms appear without a version when not installed.
        out.skip("", 0, "", format_args!("{}: no version", excerpt(path)));
        return;
    };
    if name.is_empty() || version.contains([':', '/']) || version.is_empty() {
        // `file:…`, `git+https://…`, tarball URLs: not a registry version.
        return;
    }
    if seen.insert((name.to_owned(), version.to_owned())) {
        out.value.push(package(name, version));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &Parsed<Vec<InstalledPackage>>) -> Vec<(&str, &str)> {
        p.value
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect()
    }

    #[test]
    fn detect_kinds() {
        assert_eq!(
            LockfileKind::detect("a/b/requirements-dev.txt"),
            Some(LockfileKind::Requirements)
        );
        assert_eq!(
            LockfileKind::detect("Cargo.lock"),
            Some(LockfileKind::CargoLock)
        );
        assert_eq!(
            LockfileKind::detect("x/package-lock.json"),
            Some(LockfileKind::PackageLock)
        );
        assert_eq!(
            LockfileKind::detect("poetry.lock"),
            Some(LockfileKind::PoetryLock)
        );
        assert_eq!(LockfileKind::detect("package.json"), None);
        assert_eq!(LockfileKind::PoetryLock.ecosystem().family, Family::PyPI);
    }

    #[test]
    fn requirements_pins_only() {
        let text = "\
# comment
Flask==2.2.2
requests[security,socks] == 2.31.0 ; python_version >= \"3.8\"  # trailing
urllib3===1.26.18
jinja2>=3.0
numpy==1.*
-r other.txt
--hash=sha256:abc
gunicorn==21.2.0 \\
    --hash=sha256:3213aa5e8c24949e792bcacfc176fef362e7aac80b76c56f6b5122bf350722f0
pkg @ https://example.org/pkg-1.0.tar.gz#egg=pkg
==1.0
six==1.16.0,<2
";
        let p = requirements_txt(text);
        assert_eq!(
            pairs(&p),
            [
                ("Flask", "2.2.2"),
                ("requests", "2.31.0"),
                ("urllib3", "1.26.18"),
                ("gunicorn", "21.2.0"),
            ]
        );
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [5, 6, 7, 8, 11, 12, 13]);
    }

    #[test]
    fn package_lock_v1_nested() {
        let text = r#"{"name":"x","lockfileVersion":1,"dependencies":{
            "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0"}}},
            "b":{"version":"3.0.0"},
            "local":{"version":"file:../local"},
            "g":{"version":"git+https://github.com/x/g.git#abc"}}}"#;
        let p = package_lock(text);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        assert_eq!(pairs(&p), [("a", "1.0.0"), ("b", "2.0.0"), ("b", "3.0.0")]);
    }

    #[test]
    fn package_lock_v3_aliases_links_nested() {
        let text = r#"{"lockfileVersion":3,"packages":{
            "":{"name":"root","version":"1.0.0"},
            "packages/ws":{"name":"ws","version":"0.1.0"},
            "node_modules/ws":{"resolved":"packages/ws","link":true},
            "node_modules/a":{"version":"1.0.0"},
            "node_modules/a/node_modules/@s/b":{"version":"2.0.0"},
            "node_modules/alias":{"name":"real","version":"3.0.0"},
            "node_modules/opt":{"optional":true}}}"#;
        let p = package_lock(text);
        assert_eq!(
            pairs(&p),
            [("@s/b", "2.0.0"), ("a", "1.0.0"), ("real", "3.0.0")]
        );
        assert_eq!(p.skipped_total, 1);
    }

    #[test]
    fn garbage_lockfiles_are_reported() {
        for kind in [
            LockfileKind::PoetryLock,
            LockfileKind::CargoLock,
            LockfileKind::PackageLock,
        ] {
            let p = parse(kind, "{{{ not [ a lock");
            assert!(p.value.is_empty());
            assert_eq!(p.skipped_total, 1, "{kind:?}");
        }
        assert_eq!(package_lock("[]").skipped_total, 1);
    }

    #[test]
    fn cargo_sources() {
        let text = r#"
version = 4
[[package]]
name = "a"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
[[package]]
name = "me"
version = "0.1.0"
[[package]]
name = "g"
version = "0.2.0"
source = "git+https://example.org/g#abc"
[[package]]
name = "s"
version = "0.3.0"
source = "sparse+https://index.crates.io/"
"#;
        assert_eq!(pairs(&cargo_lock(text)), [("a", "1.0.0"), ("s", "0.3.0")]);
    }
}
