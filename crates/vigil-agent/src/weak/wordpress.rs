//! WordPress: sites found by their `wp-config.php` in the usual web roots; the database
//! password there judged as plaintext, and, when the database is on this host, the
//! administrators' hashes (phpass, or WordPress 6.8's bcrypt form) guessed.

use super::mysql::{Addr, Conn};
use super::Scanner;
use std::net::SocketAddr;
use vigil_detect::baseline::{AccountScan, CredentialScan};

/// Directories whose children may be sites, and files that are configurations themselves.
const ROOTS: &[&str] = &["/var/www", "/srv/www", "/srv/http"];
const SUBDIRS: &[&str] = &["", "/htdocs", "/public_html", "/html", "/wordpress"];
const FIXED: &[&str] = &[
    "/var/www/html/wp-config.php",
    "/usr/share/wordpress/wp-config.php",
];
/// Sites examined per run at most.
const MAX_SITES: usize = 50;

/// What a `wp-config.php` says about its database.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Site {
    pub name: String,
    pub user: String,
    pub password: String,
    pub host: String,
    pub prefix: String,
}

/// `define( 'DB_NAME', 'x' );` and `$table_prefix = 'wp_';`, as WordPress writes them.
pub(super) fn parse(text: &str) -> Option<Site> {
    let mut site = Site {
        prefix: "wp_".into(),
        host: "localhost".into(),
        ..Site::default()
    };
    let quoted = |s: &str| -> Option<String> {
        let s = s.trim();
        let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let rest = &s[1..];
        Some(rest[..rest.find(q)?].to_string())
    };
    let mut found = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(args) = line
            .strip_prefix("define")
            .map(str::trim_start)
            .and_then(|l| l.strip_prefix('('))
        {
            let Some((key, value)) = args.split_once(',') else {
                continue;
            };
            let Some(key) = quoted(key) else { continue };
            let Some(value) = quoted(value) else { continue };
            match key.as_str() {
                "DB_NAME" => {
                    site.name = value;
                    found = true;
                }
                "DB_USER" => site.user = value,
                "DB_PASSWORD" => site.password = value,
                "DB_HOST" => site.host = value,
                _ => {}
            }
        } else if let Some(rest) = line.strip_prefix("$table_prefix") {
            if let Some(v) = rest.trim_start().strip_prefix('=').and_then(quoted) {
                site.prefix = v;
            }
        }
    }
    let safe = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
    };
    (found && safe(&site.name) && safe(&site.prefix)).then_some(site)
}

/// The database's address when it is on this host: `localhost`, `127.0.0.1[:port]`, or
/// `localhost:/path/to/socket`.
fn local_addr(host: &str) -> Option<Addr> {
    let (h, rest) = host.split_once(':').unwrap_or((host, ""));
    if !matches!(h, "localhost" | "127.0.0.1") {
        return None;
    }
    if rest.starts_with('/') {
        return Some(Addr::Unix(rest.to_string()));
    }
    let port = if rest.is_empty() {
        3306
    } else {
        rest.parse().ok()?
    };
    Some(Addr::Tcp(SocketAddr::from(([127, 0, 0, 1], port))))
}

fn configs(s: &Scanner<'_>) -> Vec<String> {
    let mut out: Vec<String> = FIXED.iter().map(|p| p.to_string()).collect();
    for root in ROOTS {
        for site in s.list(root) {
            for sub in SUBDIRS {
                out.push(format!("{root}/{site}{sub}/wp-config.php"));
            }
        }
    }
    for name in s.list("/etc/wordpress") {
        if name.starts_with("config-") && name.ends_with(".php") {
            out.push(format!("/etc/wordpress/{name}"));
        }
    }
    out.sort();
    out.dedup();
    out
}

pub(super) fn scan(s: &mut Scanner<'_>) -> Option<CredentialScan> {
    let mut sites = Vec::new();
    for path in configs(s) {
        if let Some(site) = s.read(&path).as_deref().and_then(parse) {
            sites.push((path, site));
        }
        if sites.len() >= MAX_SITES {
            break;
        }
    }
    let first = sites.first()?.0.clone();
    let mut scan = CredentialScan {
        location: first,
        ..CredentialScan::default()
    };
    let mut notes = Vec::new();
    for (path, site) in &sites {
        let label = |who: &str| format!("{who} ({path})");
        let mut db = s.judge_plain(&site.user, &site.password);
        db.account = label(&format!("database user {}", site.user));
        scan.accounts.push(db);
        if !s.opts.network {
            continue;
        }
        let Some(addr) = local_addr(&site.host) else {
            notes.push(format!(
                "{path}: the database is on {}, not asked",
                site.host
            ));
            continue;
        };
        let p = &site.prefix;
        let sql = format!(
            "SELECT u.user_login, u.user_pass FROM `{p}users` u JOIN `{p}usermeta` m ON m.user_id = u.ID \
             WHERE m.meta_key = '{p}capabilities' AND m.meta_value LIKE '%administrator%'"
        );
        let rows = Conn::open(&addr, &site.user, &site.password, Some(&site.name))
            .and_then(|mut c| c.query(&sql));
        match rows {
            Err(e) => notes.push(format!("{path}: {e}")),
            Ok(rows) => {
                for row in rows {
                    let (Some(Some(login)), Some(Some(hash))) = (row.first(), row.get(1)) else {
                        continue;
                    };
                    let (mut a, note): (AccountScan, _) = s.guess_hash("wordpress", login, hash);
                    a.account = label(&format!("administrator {login}"));
                    scan.accounts.push(a);
                    notes.extend(note);
                }
            }
        }
    }
    Some(super::with_notes(scan, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wp_config_is_read_as_wordpress_writes_it() {
        let text = "<?php\n// ** Database settings ** //\ndefine( 'DB_NAME', 'blog' );\ndefine('DB_USER', \"wp\");\n\
                    define( 'DB_PASSWORD', 'pa,ss' );\ndefine( 'DB_HOST', 'localhost:/run/mysqld/mysqld.sock' );\n\
                    $table_prefix = 'wpx_';\n";
        let site = parse(text).unwrap();
        assert_eq!(
            site,
            Site {
                name: "blog".into(),
                user: "wp".into(),
                password: "pa,ss".into(),
                host: "localhost:/run/mysqld/mysqld.sock".into(),
                prefix: "wpx_".into(),
            }
        );
        assert!(
            matches!(local_addr(&site.host), Some(Addr::Unix(p)) if p == "/run/mysqld/mysqld.sock")
        );
        assert!(matches!(local_addr("127.0.0.1:3307"), Some(Addr::Tcp(a)) if a.port() == 3307));
        assert!(local_addr("db.internal").is_none());
        // A prefix that could break out of the query is refused.
        assert!(parse("define('DB_NAME','x');\n$table_prefix = 'wp_` x';").is_none());
        assert!(parse("<?php echo 1;").is_none());
    }
}
