//! The invariants ARCHITECTURE.md states, checked on the tree itself: every module opens with a
//! `//!` line, no source file is over 1,200 lines, the pure crates do no IO and never read the
//! clock, and every crate takes the workspace's lints (which forbid `unsafe`).

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 1200;
/// The crates that take data and `now` and return results (ARCHITECTURE.md, Invariants).
const PURE: [&str; 4] = [
    "vigil-model",
    "vigil-collect",
    "vigil-detect",
    "vigil-version",
];
/// What a pure crate's non-test code must not name.
const IMPURE: [&str; 9] = [
    "tokio",
    "std::fs",
    "std::net::Tcp",
    "std::net::Udp",
    "SystemTime::now",
    "Instant::now",
    "reqwest",
    "std::process",
    "std::env::var",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') {
                files(&p, ext, out);
            }
        } else if name.ends_with(ext) {
            out.push(p);
        }
    }
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn every_module_opens_with_a_doc_line_and_no_file_is_too_long() {
    let mut rs = Vec::new();
    files(&root().join("crates"), ".rs", &mut rs);
    files(&root().join("fuzz"), ".rs", &mut rs);
    assert!(rs.len() > 100, "found only {} Rust files", rs.len());
    let mut js = Vec::new();
    files(&root().join("crates/vigil-server/console"), ".js", &mut js);
    let mut broken = Vec::new();
    for f in rs.iter().chain(&js) {
        let text = std::fs::read_to_string(f).unwrap();
        let lines = text.lines().count();
        if lines > MAX_LINES {
            broken.push(format!("{}: {lines} lines, over {MAX_LINES}", rel(f)));
        }
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let opens = if f.extension().is_some_and(|e| e == "rs") {
            first.starts_with("//!")
        } else {
            first.starts_with("//")
        };
        if !opens {
            broken.push(format!("{}: does not open with a module comment", rel(f)));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The code of a file that is not a test: everything before its `#[cfg(test)]` module.
fn non_test_code(text: &str) -> &str {
    match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    }
}

#[test]
fn the_pure_crates_do_no_io_and_never_read_the_clock() {
    let mut broken = Vec::new();
    for krate in PURE {
        let dir = root().join("crates").join(krate);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .and_then(|s| s.split("\n[").next())
            .unwrap_or("");
        for dep in ["tokio", "reqwest", "rusqlite", "tokio-postgres"] {
            if deps.lines().any(|l| {
                l.trim_start().starts_with(&format!("{dep} "))
                    || l.trim_start().starts_with(&format!("{dep}."))
            }) {
                broken.push(format!("{krate}/Cargo.toml depends on {dep}"));
            }
        }
        let mut rs = Vec::new();
        files(&dir.join("src"), ".rs", &mut rs);
        for f in rs {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if name == "tests.rs" || f.components().any(|c| c.as_os_str() == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let code = non_test_code(&text);
            for (n, line) in code.lines().enumerate() {
                let line = line.split("//").next().unwrap_or("");
                if let Some(word) = IMPURE.iter().find(|w| line.contains(*w)) {
                    broken.push(format!("{}:{}: uses {word}", rel(&f), n + 1));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn every_crate_takes_the_workspace_lints_which_forbid_unsafe() {
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        workspace.contains("unsafe_code = \"forbid\""),
        "the workspace no longer forbids unsafe code"
    );
    let mut broken = Vec::new();
    for e in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let manifest = e.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let lints = text.split("[lints]").nth(1).unwrap_or("");
        if !lints.trim_start().starts_with("workspace = true") {
            broken.push(format!(
                "{} does not take the workspace lints",
                rel(&manifest)
            ));
        }
        let mut rs = Vec::new();
        files(&e.path().join("src"), ".rs", &mut rs);
        for f in rs {
            let text = std::fs::read_to_string(&f).unwrap();
            if text.contains("allow(unsafe_code)") {
                broken.push(format!("{} allows unsafe code", rel(&f)));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn server_domains_import_one_way() {
    // Services never reach back into the REST edge's routes (ARCHITECTURE.md, server map).
    let mut rs = Vec::new();
    files(&root().join("crates/vigil-server/src"), ".rs", &mut rs);
    let mut broken = Vec::new();
    for f in rs {
        let r = rel(&f);
        if r.contains("/http/") || r.ends_with("routes.rs") || r.ends_with("/lib.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in non_test_code(&text).lines().enumerate() {
            if line.contains("::routes::") && !line.trim_start().starts_with("//") {
                broken.push(format!("{r}:{}: a service uses a domain's routes", n + 1));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
