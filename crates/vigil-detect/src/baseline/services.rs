//! Judging what services expose: weak-password scan results, a plain-HTTP port without its
//! TLS twin, and certificates close to expiry (read from the files nginx, Apache and Postfix
//! name, parsed from PEM without any crypto).

use super::eval::{fail, not_applicable, pass, Judged};
use super::facts::{CredentialScan, Facts};
use super::Status;
use vigil_model::Protocol;

/// The sources a weak-password scan reports on.
pub const CREDENTIAL_SOURCES: &[&str] =
    &["system", "redis", "mysql", "mysql_remote_root", "wordpress"];

/// Accounts listed by name in the evidence at most.
const MAX_LISTED: usize = 8;

fn source_label(source: &str) -> &str {
    match source {
        "system" => "system accounts",
        "redis" => "Redis server",
        "mysql" | "mysql_remote_root" => "MySQL/MariaDB server",
        "wordpress" => "WordPress site",
        other => other,
    }
}

/// How many guesses each account got: "root 120 of 3,700".
fn tried(scan: &CredentialScan) -> String {
    let guessed: Vec<_> = scan.accounts.iter().filter(|a| a.of > 0).collect();
    if guessed.is_empty() {
        return "no hash to guess".into();
    }
    let mut parts: Vec<String> = guessed
        .iter()
        .take(MAX_LISTED)
        .map(|a| {
            if a.guesses >= a.of {
                format!("{} {}", a.account, a.guesses)
            } else {
                format!("{} {} of {}", a.account, a.guesses, a.of)
            }
        })
        .collect();
    if guessed.len() > MAX_LISTED {
        parts.push(format!("and {} more", guessed.len() - MAX_LISTED));
    }
    format!("guesses tried: {}", parts.join(", "))
}

pub(super) fn credentials(facts: &Facts, source: &str) -> Judged {
    let Some(all) = &facts.credentials else {
        return not_applicable(
            "the weak-password scan did not run (the agent runs it; `vigil scan baseline --passwords` runs it here)",
        );
    };
    let Some(scan) = all.get(source) else {
        return not_applicable(&format!("no {} found on this host", source_label(source)));
    };
    let file = scan.location.clone();
    let weak: Vec<String> = scan
        .accounts
        .iter()
        .filter_map(|a| a.weak.as_ref().map(|w| format!("{}: {w}", a.account)))
        .collect();
    let note = scan
        .error
        .as_ref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    if !weak.is_empty() {
        let shown = weak.len().min(MAX_LISTED);
        let more = if weak.len() > shown {
            format!("; and {} more", weak.len() - shown)
        } else {
            String::new()
        };
        return fail(
            format!("{}{more}; {}{note}", weak[..shown].join("; "), tried(scan)),
            file,
        );
    }
    match (&scan.error, scan.accounts.is_empty()) {
        (Some(e), true) => (Status::Error, e.clone(), file),
        (None, true) => pass("no account with a password to guess".into(), file),
        (_, false) => pass(
            format!(
                "{} account(s), no guess matched; {}{note}",
                scan.accounts.len(),
                tried(scan)
            ),
            file,
        ),
    }
}

pub(super) fn port_pair(facts: &Facts, port: u16, with: u16) -> Judged {
    let Some(sockets) = &facts.sockets else {
        return not_applicable("listening sockets are known only on a running host");
    };
    let tcp = |p: u16| {
        sockets
            .iter()
            .find(|s| s.port == p && matches!(s.protocol, Protocol::Tcp | Protocol::Tcp6))
    };
    match (tcp(port), tcp(with)) {
        (None, _) => pass(format!("nothing listens on port {port}"), String::new()),
        (Some(_), Some(_)) => pass(
            format!("port {port} listens, and so does {with}"),
            String::new(),
        ),
        (Some(s), None) => {
            let who = if s.process.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.process)
            };
            fail(
                format!(
                    "port {port} listens on {}{who} but nothing listens on {with}",
                    s.address
                ),
                String::new(),
            )
        }
    }
}

pub(super) fn unpackaged(facts: &Facts, allow: &[String]) -> Judged {
    let (Some(sockets), Some(owned)) = (&facts.sockets, &facts.exe_packaged) else {
        return not_applicable("listening programs and packages are known only on a running host");
    };
    let mut bad: Vec<String> = sockets
        .iter()
        .filter(|s| owned.get(&s.exe) == Some(&false))
        .filter(|s| !allow.iter().any(|a| s.exe.starts_with(a.as_str())))
        .map(|s| format!("{} {}:{} {}", s.protocol.as_str(), s.address, s.port, s.exe))
        .collect();
    bad.sort();
    bad.dedup();
    if bad.is_empty() {
        return pass(
            format!("{} listening program(s), each from a package", owned.len()),
            String::new(),
        );
    }
    let n = bad.len();
    bad.truncate(MAX_LISTED);
    fail(
        format!(
            "{n} listening socket(s) of programs no package installed: {}",
            bad.join("; ")
        ),
        String::new(),
    )
}

/// Configuration files that name certificates, and what names them there.
const CERT_CONFIGS: &[(&str, &str)] = &[
    ("/etc/nginx/nginx.conf", "ssl_certificate"),
    ("/etc/nginx/conf.d/*.conf", "ssl_certificate"),
    ("/etc/nginx/sites-enabled/*", "ssl_certificate"),
    ("/etc/apache2/sites-enabled/*", "SSLCertificateFile"),
    ("/etc/apache2/mods-enabled/ssl.conf", "SSLCertificateFile"),
    ("/etc/httpd/conf.d/*.conf", "SSLCertificateFile"),
    ("/etc/postfix/main.cf", "smtpd_tls_cert_file"),
];

/// What a certificates test reads first: the server configurations and the given paths.
pub(super) fn certificate_configs(paths: &[String]) -> Vec<String> {
    let mut out: Vec<String> = CERT_CONFIGS.iter().map(|(f, _)| f.to_string()).collect();
    out.extend(paths.iter().cloned());
    out
}

/// The certificate files the read configurations name (absolute paths without variables).
pub fn named_certificates(facts: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    for (pattern, key) in CERT_CONFIGS {
        for path in facts.glob(pattern) {
            let Some(text) = facts.text(&path) else {
                continue;
            };
            for line in text.lines() {
                let line = line.trim();
                let Some(rest) = line.strip_prefix(key) else {
                    continue;
                };
                // `ssl_certificate_key` is not `ssl_certificate`.
                if !rest.starts_with([' ', '\t', '=']) {
                    continue;
                }
                let value = rest
                    .trim_start_matches([' ', '\t', '='])
                    .trim_end_matches(';')
                    .trim()
                    .trim_matches(['"', '\'']);
                if value.starts_with('/') && !value.contains('$') && !value.contains(' ') {
                    out.push(value.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

pub(super) fn certificates(facts: &Facts, paths: &[String], days: u32) -> Judged {
    let Some(now) = facts.now else {
        return not_applicable("the time of the run is not known");
    };
    let mut files = named_certificates(facts);
    for p in paths {
        files.extend(facts.glob(p));
    }
    files.sort();
    files.dedup();
    let mut seen = Vec::new();
    let mut bad = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        let Some(text) = facts.text(f) else {
            if facts.files.contains_key(f) {
                errors.push(format!("{f}: not readable"));
            }
            continue;
        };
        let ends = pem_certificates(text)
            .iter()
            .map(|der| not_after(der))
            .collect::<Vec<_>>();
        if ends.is_empty() {
            errors.push(format!("{f}: no PEM certificate in it"));
            continue;
        }
        // The first certificate of a file is the server's; the rest are its chain.
        match ends[0] {
            None => errors.push(format!("{f}: the certificate does not parse")),
            Some(end) => {
                let left = (end - now).div_euclid(86_400);
                let date = date(end);
                if end <= now {
                    bad.push(format!("{f}: expired on {date}"));
                } else if left < i64::from(days) {
                    bad.push(format!("{f}: expires on {date}, in {left} day(s)"));
                } else {
                    seen.push(format!("{f}: until {date}"));
                }
            }
        }
    }
    if !bad.is_empty() {
        return fail(bad.join("; "), files.first().cloned().unwrap_or_default());
    }
    if !errors.is_empty() && seen.is_empty() {
        return (Status::Error, errors.join("; "), String::new());
    }
    if seen.is_empty() {
        return not_applicable("no configured certificate found");
    }
    pass(seen.join("; "), String::new())
}

/// `YYYY-MM-DD` of a Unix time (UTC).
fn date(t: i64) -> String {
    let days = t.div_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The DER bytes of every `CERTIFICATE` block in a PEM text.
fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b) = body.take() {
                out.extend(base64(&b));
            }
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    out
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// One DER element: tag, contents, and the rest after it.
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, head) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    Some((tag, b.get(head..end)?, b.get(end..)?))
}

/// A certificate's notAfter (Unix seconds).
fn not_after(cert: &[u8]) -> Option<i64> {
    let (_, cert, _) = der(cert)?;
    let (_, tbs, _) = der(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = der(rest)?;
    if tag == 0xa0 {
        rest = r; // the version
    }
    for _ in 0..3 {
        rest = der(rest)?.2; // serial, signature algorithm, issuer
    }
    let (_, validity, _) = der(rest)?;
    let (_, _, after) = der(validity)?; // notBefore
    let (tag, time, _) = der(after)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

fn parse_time(tag: u8, s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = s.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let n = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (mo, d, h, mi) = (n(0)?, n(2)?, n(4)?, n(6)?);
    let sec = n(8).unwrap_or(0);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(year, mo, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2026, 12, 4), (2049, 12, 31)] {
            let t = days_from_civil(y, m, d) * 86_400;
            assert_eq!(date(t), format!("{y:04}-{m:02}-{d:02}"));
        }
        assert_eq!(parse_time(0x17, "261204120000Z"), Some(1_796_385_600));
        assert_eq!(
            parse_time(0x18, "20261204120000Z"),
            parse_time(0x17, "261204120000Z")
        );
        assert_eq!(parse_time(0x17, "26130412Z"), None);
    }

    #[test]
    fn malformed_der_and_pem_never_panic() {
        let cases: &[&[u8]] = &[
            b"",
            b"\x30",
            b"\x30\x85\xff\xff\xff\xff\xff",
            b"\x30\x02\x30",
        ];
        for c in cases {
            assert_eq!(not_after(c), None);
        }
        for i in 0..=255u8 {
            let _ = not_after(&[0x30, 0x82, i, 0x30, i, 0xa0]);
        }
        assert!(
            pem_certificates("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----")
                .is_empty()
        );
    }
}
