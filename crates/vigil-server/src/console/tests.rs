//! The console's files against its asset table: every file served with its content type, every
//! module import naming a served file and a name that file exports.

use super::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::collections::BTreeSet;
use std::path::Path;
use tower::ServiceExt;

fn console_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console")
}

/// Every file under `console/`, as the page asks for it (`/lib/dom.js`).
fn files_on_disk() -> BTreeSet<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &format!("{prefix}{name}/"), out);
            } else {
                out.insert(format!("{prefix}{name}"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&console_dir(), "/", &mut out);
    out
}

fn served(path: &str) -> &'static Asset {
    ASSETS
        .iter()
        .find(|a| a.path == path)
        .unwrap_or_else(|| panic!("{path} is not served"))
}

/// `import { a, b as c } from './x.js'` → (`./x.js`, [a, b]); also `import './x.js'`.
fn imports(src: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    // Comment lines may hold a `;`: they are left out.
    let flat: Vec<&str> = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let flat = flat.join(" ");
    for stmt in flat.split(';') {
        let stmt = stmt.trim();
        let Some(rest) = stmt.strip_prefix("import ") else {
            continue;
        };
        let (names, spec) = match rest.rsplit_once(" from ") {
            Some((names, spec)) => (names, spec),
            None => ("", rest),
        };
        let spec = spec
            .trim()
            .trim_matches(|c| c == '\'' || c == '"')
            .to_string();
        let names = names
            .trim()
            .trim_start_matches('{')
            .trim_end_matches('}')
            .split(',')
            .map(|n| n.split(" as ").next().unwrap_or("").trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        out.push((spec, names));
    }
    out
}

/// The names a module exports (`export function f`, `export const X`, `export class C`…).
fn exports(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in src.lines() {
        let Some(rest) = line.strip_prefix("export ") else {
            continue;
        };
        let rest = rest.strip_prefix("async ").unwrap_or(rest);
        for kw in ["function ", "const ", "let ", "class "] {
            if let Some(name) = rest.strip_prefix(kw) {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                    .collect();
                out.insert(name);
            }
        }
    }
    out
}

/// `./x.js` from `/views/a.js` → `/views/x.js`; `../lib/x.js` → `/lib/x.js`.
fn resolve(from: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').filter(|p| !p.is_empty()).collect();
    parts.pop();
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[test]
fn every_file_is_served_and_nothing_else() {
    let mut on_disk = files_on_disk();
    assert!(on_disk.remove("/index.html"), "index.html is missing");
    let mut table: BTreeSet<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
    assert!(table.remove("/"), "the page itself is not served at /");
    assert_eq!(table, on_disk, "the asset table and console/ differ");
    for a in ASSETS {
        let want = if a.path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if a.path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/html; charset=utf-8"
        };
        assert_eq!(a.content_type, want, "{}", a.path);
    }
}

#[test]
fn every_import_names_a_served_module_and_its_exports() {
    let mut modules = 0;
    for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
        modules += 1;
        assert!(
            a.body.starts_with("// "),
            "{} does not start with a line saying what it owns",
            a.path
        );
        assert!(
            a.body.lines().count() <= 800,
            "{} is longer than 800 lines",
            a.path
        );
        for (spec, names) in imports(a.body) {
            assert!(
                spec.starts_with("./") || spec.starts_with("../"),
                "{} imports {spec:?}: only the console's own files",
                a.path
            );
            let target = resolve(a.path, &spec);
            let exported = exports(served(&target).body);
            for n in names {
                assert!(
                    exported.contains(&n),
                    "{} imports {n} from {target}, which does not export it",
                    a.path
                );
            }
        }
    }
    assert!(modules > 10, "{modules} modules");
    // The page starts the console as a module.
    assert!(served("/")
        .body
        .contains(r#"<script type="module" src="/main.js">"#));
}

#[tokio::test]
async fn files_are_served_with_their_type_and_headers() {
    for path in [
        "/",
        "/app.css",
        "/main.js",
        "/lib/dom.js",
        "/views/alerts.js",
    ] {
        let res = router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        assert_eq!(h[header::CONTENT_TYPE], served(path).content_type, "{path}");
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    let res = router()
        .oneshot(Request::get("/app.js").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "the old single file is gone"
    );
}

#[test]
fn the_test_helpers_read_imports_and_exports() {
    let src = "import { a, b as c } from './x.js';\nimport {\n  d,\n} from '../lib/y.js';\nexport async function f() {}\nexport const G = 1;\n";
    assert_eq!(
        imports(src),
        [
            ("./x.js".to_string(), vec!["a".to_string(), "b".to_string()]),
            ("../lib/y.js".to_string(), vec!["d".to_string()]),
        ]
    );
    assert_eq!(
        exports(src),
        BTreeSet::from(["f".to_string(), "G".to_string()])
    );
    assert_eq!(resolve("/views/a.js", "../lib/x.js"), "/lib/x.js");
    assert_eq!(resolve("/main.js", "./lib/x.js"), "/lib/x.js");
}
