//! Known-bad files by hash (SPEC R-MW3): the `lists/malware-hashes.txt` content list, looked up
//! by a file's MD5 or SHA-256.

use std::collections::BTreeMap;

/// The list: lowercase hex digest → the name a finding reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashList {
    md5: BTreeMap<String, String>,
    sha256: BTreeMap<String, String>,
}

impl HashList {
    /// Parses `md5:HEX NAME` / `sha256:HEX NAME` lines; a malformed line is an error naming its
    /// number.
    pub fn parse(text: &str) -> Result<HashList, String> {
        let mut list = HashList::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}", i + 1);
            let (digest, name) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `md5:HEX NAME` or `sha256:HEX NAME`"))?;
            let name = name.trim();
            let (kind, hex) = digest
                .split_once(':')
                .ok_or_else(|| bad("the digest needs an `md5:` or `sha256:` prefix"))?;
            let (map, len) = match kind {
                "md5" => (&mut list.md5, 32),
                "sha256" => (&mut list.sha256, 64),
                other => return Err(bad(&format!("unknown digest {other:?}"))),
            };
            if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(&format!("a {kind} digest is {len} hex digits")));
            }
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(bad("the name is missing"));
            }
            map.insert(hex.to_ascii_lowercase(), name.to_string());
        }
        Ok(list)
    }

    /// The name of a file with these digests (lowercase hex), if it is listed; which digest
    /// matched comes second.
    pub fn lookup(&self, md5: &str, sha256: &str) -> Option<(&str, &'static str)> {
        self.sha256
            .get(sha256)
            .map(|n| (n.as_str(), "sha256"))
            .or_else(|| self.md5.get(md5).map(|n| (n.as_str(), "md5")))
    }

    pub fn len(&self) -> usize {
        self.md5.len() + self.sha256.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_looks_up() {
        let l = HashList::parse(&format!(
            "# c\n\nmd5:{} one\nsha256:{} two words\n",
            "A".repeat(32),
            "b".repeat(64)
        ))
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l.lookup(&"a".repeat(32), "x"), Some(("one", "md5")));
        assert_eq!(
            l.lookup("x", &"b".repeat(64)),
            Some(("two words", "sha256"))
        );
        assert_eq!(l.lookup("x", "y"), None);
    }

    #[test]
    fn malformed_lines_name_their_number() {
        for (text, want) in [
            ("md5:abc x", "line 1: a md5 digest is 32 hex digits"),
            ("\nsha1:00 x", "line 2: unknown digest \"sha1\""),
            ("nothing", "line 1: expected"),
            ("deadbeef name", "line 1: the digest needs"),
        ] {
            let e = HashList::parse(text).unwrap_err();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }
}
