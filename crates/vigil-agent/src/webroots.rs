//! Finding a host's web roots: nginx, Apache httpd (Debian's and Red Hat's layouts) and Tomcat
//! configurations read from a system tree (`/` or a mounted image), includes followed within it
//! (bounded), and only directories that exist kept.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vigil_collect::webroots::{apache, nginx, tomcat, ConfigRefs};

/// A web root and the configuration line that names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WebRoot {
    /// The directory, as a path on the host (not joined to the tree).
    pub path: String,
    pub server: &'static str,
    /// `FILE:LINE` of the directive.
    pub source: String,
}

/// A configuration file's parser.
type Parser = fn(&str) -> ConfigRefs;

/// Configuration files read at most per server (includes of includes count).
const MAX_FILES: usize = 512;
/// Configuration files larger than this are not read.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The web roots configured under `root` (`/` for this host), sorted, each directory once.
pub fn discover(root: &Path) -> Vec<WebRoot> {
    let mut out = Vec::new();
    let servers: [(&'static str, &str, &str, Parser); 3] = [
        ("nginx", "/etc/nginx", "nginx.conf", nginx),
        ("apache", "/etc/apache2", "apache2.conf", apache),
        ("apache", "/etc/httpd", "conf/httpd.conf", apache),
    ];
    for (server, dir, main, parse) in servers {
        read_config(root, server, dir, &format!("{dir}/{main}"), parse, &mut out);
    }
    // Tomcat: each instance's server.xml; a relative appBase is under its CATALINA_BASE
    // (Debian: /var/lib/tomcatN).
    for etc in matching(root, "/etc/tomcat*") {
        let base = format!("/var/lib/{}", etc.rsplit('/').next().unwrap_or("tomcat"));
        let file = format!("{etc}/server.xml");
        if let Some(text) = read(root, &file) {
            for (p, line) in tomcat(&text) {
                let path = if p.starts_with('/') {
                    p
                } else {
                    format!("{base}/{p}")
                };
                out.push(WebRoot {
                    path,
                    server: "tomcat",
                    source: format!("{file}:{line}"),
                });
            }
        }
    }
    out.retain(|w| inside(root, &w.path).is_dir());
    out.sort();
    let mut seen = BTreeSet::new();
    out.retain(|w| seen.insert(w.path.clone()));
    out
}

fn read_config(
    root: &Path,
    server: &'static str,
    dir: &str,
    main: &str,
    parse: Parser,
    out: &mut Vec<WebRoot>,
) {
    let mut queue = vec![main.to_string()];
    let mut done = BTreeSet::new();
    while let Some(file) = queue.pop() {
        if done.len() >= MAX_FILES || !done.insert(file.clone()) {
            continue;
        }
        let Some(text) = read(root, &file) else {
            continue;
        };
        let refs = parse(&text);
        for (path, line) in refs.roots {
            out.push(WebRoot {
                path,
                server,
                source: format!("{file}:{line}"),
            });
        }
        for pattern in refs.includes {
            let abs = if pattern.starts_with('/') {
                pattern
            } else {
                format!("{dir}/{pattern}")
            };
            queue.extend(matching(root, &abs));
        }
    }
}

/// The host paths matching `pattern` (wildcards `*` and `?` in its last component only).
fn matching(root: &Path, pattern: &str) -> Vec<String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if !name.contains(['*', '?']) {
        return vec![pattern.to_string()];
    }
    let Ok(entries) = std::fs::read_dir(inside(root, dir)) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && wildcard(name, n))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    found.sort();
    found
}

/// `*` any run of characters, `?` one character; everything else literal.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A host path inside the tree `root`, its links resolved within the tree (a mounted image's
/// absolute links never reach the host's files).
fn inside(root: &Path, path: &str) -> PathBuf {
    crate::tree::resolve_in_root(root, path)
        .unwrap_or_else(|_| root.join(path.trim_start_matches('/')))
}

fn read(root: &Path, file: &str) -> Option<String> {
    let path = crate::tree::resolve_in_root(root, file).ok()?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
        return None;
    }
    std::fs::read(&path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "default.conf"));
        assert!(!wildcard("*.conf", "default.conf.bak"));
        assert!(wildcard("*", "x"));
        assert!(wildcard("tomcat*", "tomcat10"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
    }

    #[test]
    fn discovers_the_roots_of_a_tree() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path();
        let w = |p: &str, s: &str| {
            let p = t.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, s).unwrap();
        };
        w(
            "etc/nginx/nginx.conf",
            "http {\n include /etc/nginx/conf.d/*.conf;\n include sites-enabled/*;\n}\n",
        );
        w(
            "etc/nginx/conf.d/shop.conf",
            "server { root /srv/shop/public; }\n",
        );
        w(
            "etc/nginx/conf.d/shop.conf.bak",
            "server { root /srv/old; }\n",
        );
        w(
            "etc/nginx/sites-enabled/default",
            "server {\n root /var/www/html;\n root /var/www/missing;\n}\n",
        );
        w(
            "etc/apache2/apache2.conf",
            "IncludeOptional sites-enabled/*.conf\n",
        );
        w(
            "etc/apache2/sites-enabled/000-default.conf",
            "<VirtualHost *:80>\n DocumentRoot /var/www/html\n Alias /pma /usr/share/phpmyadmin\n</VirtualHost>\n",
        );
        w(
            "etc/tomcat10/server.xml",
            "<Server><Host name=\"localhost\" appBase=\"webapps\"/></Server>\n",
        );
        for dir in [
            "srv/shop/public",
            "srv/old",
            "var/www/html",
            "usr/share/phpmyadmin",
            "var/lib/tomcat10/webapps",
        ] {
            std::fs::create_dir_all(t.join(dir)).unwrap();
        }
        let found: Vec<(String, &str, String)> = discover(t)
            .into_iter()
            .map(|r| (r.path, r.server, r.source))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "/srv/shop/public".to_string(),
                    "nginx",
                    "/etc/nginx/conf.d/shop.conf:1".to_string()
                ),
                (
                    "/usr/share/phpmyadmin".to_string(),
                    "apache",
                    "/etc/apache2/sites-enabled/000-default.conf:3".to_string()
                ),
                (
                    "/var/lib/tomcat10/webapps".to_string(),
                    "tomcat",
                    "/etc/tomcat10/server.xml:1".to_string()
                ),
                (
                    "/var/www/html".to_string(),
                    "apache",
                    "/etc/apache2/sites-enabled/000-default.conf:2".to_string()
                ),
            ]
        );
    }
}
