//! Small text scanners shared by the message parsers: addresses, ports and `key=value` fields.

use super::time::digits;

/// A remote address or host name as a log writes it, normalised: IPv4-mapped IPv6
/// (`::ffff:1.2.3.4`) becomes the IPv4 address and IPv6 brackets go. Empty, `?`, `UNKNOWN` and
/// anything holding a space or a control character is no address.
pub(crate) fn source(addr: &str) -> Option<&str> {
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    if addr.is_empty()
        || addr == "?"
        || addr == "UNKNOWN"
        || addr.bytes().any(|b| b <= b' ' || b == 0x7f)
    {
        return None;
    }
    match addr.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("::ffff:") && addr[7..].contains('.') => Some(&addr[7..]),
        _ => Some(addr),
    }
}

/// A TCP port: 1–5 ASCII digits (no sign) that fit in a `u16`.
pub(crate) fn port(s: &str) -> Option<u16> {
    if s.len() > 5 {
        return None;
    }
    digits(s.as_bytes()).and_then(|p| u16::try_from(p).ok())
}

/// Splits `HEAD port N` at its last ` port `, requiring digits after it.
pub(crate) fn split_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (head, p) = s.rsplit_once(" port ")?;
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head, port(p)))
}

/// `ADDR:PORT` or `[ADDR]:PORT` (dropbear); a bare IPv6 address splits at its last colon, which
/// is how dropbear writes it.
pub(crate) fn addr_port(s: &str) -> (&str, Option<u16>) {
    match s.rsplit_once(':') {
        Some((a, p)) if !a.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (a, port(p)),
        _ => (s, None),
    }
}

/// The value of ` key=` (or `key=` at the start) in a `key=value key=value` list: up to the next
/// space, or between double quotes when quoted.
pub(crate) fn field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let start = field_start(s, key)?;
    let rest = &s[start..];
    if let Some(q) = rest.strip_prefix('"') {
        return Some(q.split_once('"').map_or(q, |(v, _)| v));
    }
    Some(rest.split_once(' ').map_or(rest, |(v, _)| v))
}

/// Byte offset of the value of `key=` in `s`, matched only at the start or after a space.
pub(crate) fn field_start(s: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = super::find::find(&s[from..], key) {
        let at = from + i;
        let end = at + key.len();
        if (at == 0 || s.as_bytes()[at - 1] == b' ') && s.as_bytes().get(end) == Some(&b'=') {
            return Some(end + 1);
        }
        from = end;
    }
    None
}

/// `'text'` → `text`; anything else as it is.
pub(crate) fn unquote(s: &str) -> &str {
    s.strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(source("1.2.3.4"), Some("1.2.3.4"));
        assert_eq!(source("::ffff:1.2.3.4"), Some("1.2.3.4"));
        assert_eq!(source("::FFFF:10.0.0.1"), Some("10.0.0.1"));
        assert_eq!(source("::ffff:abcd"), Some("::ffff:abcd"));
        assert_eq!(source("2001:db8::1"), Some("2001:db8::1"));
        assert_eq!(source("[2001:db8::1]"), Some("2001:db8::1"));
        assert_eq!(source("host.example.com"), Some("host.example.com"));
        for none in ["", "?", "UNKNOWN", "a b", "a\tb", "[]"] {
            assert_eq!(source(none), None, "{none:?}");
        }
    }

    #[test]
    fn ports_and_fields() {
        assert_eq!(port("22"), Some(22));
        assert_eq!(port("65536"), None);
        assert_eq!(port("+22"), None);
        assert_eq!(port("000022"), None);
        assert_eq!(split_port("a from b port 22"), Some(("a from b", Some(22))));
        assert_eq!(split_port("a port 99999"), Some(("a", None)));
        assert_eq!(split_port("a port x"), None);
        assert_eq!(addr_port("1.2.3.4:5678"), ("1.2.3.4", Some(5678)));
        assert_eq!(addr_port("2001:db8::1:22"), ("2001:db8::1", Some(22)));
        assert_eq!(addr_port("[2001:db8::1]:22"), ("[2001:db8::1]", Some(22)));
        assert_eq!(addr_port("host"), ("host", None));
        let s = "logname= uid=0 tty=ssh ruser= rhost=1.2.3.4  user=root";
        assert_eq!(field(s, "rhost"), Some("1.2.3.4"));
        assert_eq!(field(s, "user"), Some("root"));
        assert_eq!(field(s, "ruser"), Some(""));
        assert_eq!(field(s, "logname"), Some(""));
        assert_eq!(field(s, "host"), None);
        assert_eq!(field("acct=\"a b\" x=1", "acct"), Some("a b"));
        assert_eq!(field("acct=\"open", "acct"), Some("open"));
        assert_eq!(unquote("'root'"), "root");
        assert_eq!(unquote("'"), "'");
    }
}
