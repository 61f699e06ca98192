//! Web roots from web-server configuration text: nginx `root` and `alias`, Apache `DocumentRoot`
//! and `Alias`, Tomcat's `appBase` and `docBase` in `server.xml`; and the files a configuration
//! includes, for the reader to follow.
//!
//! Paths with variables (`$document_root`, `${APACHE_DOCUMENT_ROOT}`) cannot be resolved from the
//! text and are left out; relative include patterns are returned as written, for the reader to
//! resolve against the server's configuration directory.

/// What one configuration file names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigRefs {
    /// (path, 1-based line) of each web root.
    pub roots: Vec<(String, usize)>,
    /// Include patterns (`conf.d/*.conf`, `/etc/nginx/sites-enabled/*`).
    pub includes: Vec<String>,
}

/// Strips one pair of matching quotes.
fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// A root worth keeping: absolute, without variables, not the file system's root.
fn usable(path: &str) -> Option<String> {
    let p = path.trim_end_matches('/');
    (path.starts_with('/') && !p.is_empty() && !path.contains('$') && !path.contains('\0'))
        .then(|| p.to_string())
}

/// nginx: `root PATH;`, `alias PATH;` and `include PATTERN;` directives, anywhere in the file
/// (several may share a line; `#` starts a comment outside quotes).
pub fn nginx(text: &str) -> ConfigRefs {
    let mut out = ConfigRefs::default();
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        for stmt in line.split([';', '{', '}']) {
            let mut words = stmt.split_whitespace();
            let (Some(directive), Some(arg), None) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let arg = unquote(arg);
            match directive {
                "root" | "alias" => {
                    if let Some(p) = usable(arg) {
                        out.roots.push((p, i + 1));
                    }
                }
                "include" if !arg.is_empty() => out.includes.push(arg.to_string()),
                _ => {}
            }
        }
    }
    out
}

/// Apache httpd: `DocumentRoot PATH`, `Alias URL PATH` (and `AliasMatch`, `ScriptAlias`), and
/// `Include`/`IncludeOptional PATTERN`; directive names are case-insensitive.
pub fn apache(text: &str) -> ConfigRefs {
    let mut out = ConfigRefs::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut words = split_args(line);
        let Some(directive) = words.next() else {
            continue;
        };
        let args: Vec<&str> = words.collect();
        let path = match (directive.to_ascii_lowercase().as_str(), args.as_slice()) {
            ("documentroot", [p]) => Some(*p),
            ("alias" | "aliasmatch" | "scriptalias" | "scriptaliasmatch", [_, p]) => Some(*p),
            ("include" | "includeoptional", [p]) => {
                out.includes.push(p.to_string());
                None
            }
            _ => None,
        };
        if let Some(p) = path.and_then(usable) {
            out.roots.push((p, i + 1));
        }
    }
    out
}

/// Tomcat `server.xml`: each `<Host appBase="…">` and `<Context docBase="…">`. A relative
/// `appBase` (`webapps`) is returned relative, for the reader to join to `CATALINA_BASE`.
pub fn tomcat(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let text = strip_xml_comments(text);
    for (i, line) in text.lines().enumerate() {
        for attr in ["appBase", "docBase"] {
            let mut rest = line;
            while let Some(at) = rest.find(attr) {
                let after = rest[at + attr.len()..].trim_start();
                rest = &rest[at + attr.len()..];
                let Some(value) = after.strip_prefix('=').map(str::trim_start) else {
                    continue;
                };
                let Some(q) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                    continue;
                };
                let Some((v, _)) = value[1..].split_once(q) else {
                    continue;
                };
                if !v.is_empty() && !v.contains('$') {
                    out.push((v.trim_end_matches('/').to_string(), i + 1));
                }
            }
        }
    }
    out
}

/// The line without its `#` comment (a `#` inside quotes stays).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('#', None) => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Apache's arguments: words, or quoted strings that may hold spaces.
fn split_args(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line.trim();
    std::iter::from_fn(move || {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let (word, after) = body.split_once(q).unwrap_or((body, ""));
            rest = after;
            return Some(word);
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        rest = after;
        Some(word)
    })
}

/// `text` with `<!-- … -->` blanked (newlines kept, so line numbers hold).
fn strip_xml_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        match after.find("-->") {
            Some(end) => {
                out.extend(after[..end].chars().filter(|c| *c == '\n'));
                rest = &after[end + 3..];
            }
            None => {
                out.extend(after.chars().filter(|c| *c == '\n'));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_roots_aliases_and_includes() {
        // Debian's default site, a PHP site, and what must be left out.
        let conf = "\
user www-data;
include /etc/nginx/modules-enabled/*.conf;
http {
    include /etc/nginx/conf.d/*.conf;
    include sites-enabled/*;
    server {
        listen 80 default_server;
        root /var/www/html;   # the default
        index index.html index.htm index.nginx-debian.html;
        location /static/ { alias \"/srv/shop/static/\"; }
        location ~ \\.php$ { fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name; }
        # root /var/www/old;
        root $realpath_root;
        location /x { root /; }
    }
}
";
        let r = nginx(conf);
        assert_eq!(
            r.roots,
            [
                ("/var/www/html".to_string(), 8),
                ("/srv/shop/static".to_string(), 10)
            ]
        );
        assert_eq!(
            r.includes,
            [
                "/etc/nginx/modules-enabled/*.conf",
                "/etc/nginx/conf.d/*.conf",
                "sites-enabled/*"
            ]
        );
    }

    #[test]
    fn apache_document_roots_aliases_and_includes() {
        let conf = "\
IncludeOptional mods-enabled/*.load
Include ports.conf
<VirtualHost *:80>
\tServerAdmin webmaster@localhost
\tDocumentRoot /var/www/html
\t#DocumentRoot /var/www/old
\tdocumentroot \"/srv/My Site/public\"
\tAlias /phpmyadmin /usr/share/phpmyadmin
\tScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
\tDocumentRoot ${APACHE_DOCROOT}
</VirtualHost>
IncludeOptional sites-enabled/*.conf
";
        let r = apache(conf);
        let roots: Vec<&str> = r.roots.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            roots,
            [
                "/var/www/html",
                "/srv/My Site/public",
                "/usr/share/phpmyadmin",
                "/usr/lib/cgi-bin"
            ]
        );
        assert_eq!(r.roots[0].1, 5);
        assert_eq!(
            r.includes,
            ["mods-enabled/*.load", "ports.conf", "sites-enabled/*.conf"]
        );
    }

    #[test]
    fn tomcat_app_bases_and_doc_bases() {
        let xml = "\
<Server port=\"-1\">
  <!-- <Host name=\"old\" appBase=\"/srv/old\"> -->
  <Service name=\"Catalina\">
    <Engine name=\"Catalina\" defaultHost=\"localhost\">
      <Host name=\"localhost\"  appBase=\"webapps\"
            unpackWARs=\"true\" autoDeploy=\"true\">
        <Context path=\"/shop\" docBase='/srv/shop' />
        <Context path=\"/env\" docBase=\"${catalina.base}/x\" />
      </Host>
    </Engine>
  </Service>
</Server>
";
        assert_eq!(
            tomcat(xml),
            [("webapps".to_string(), 5), ("/srv/shop".to_string(), 7)]
        );
    }

    #[test]
    fn odd_text_never_panics() {
        for t in [
            "",
            "root",
            "root ;",
            "\"",
            "<!--",
            "appBase=",
            "appBase=\"x",
            "Alias \"",
            "#\u{0}",
        ] {
            let _ = nginx(t);
            let _ = apache(t);
            let _ = tomcat(t);
        }
    }
}
