//! deb822 stanzas (dpkg's status file, apt `Packages` indexes): blank-line separated records of
//! `Field: value` lines, read borrowing from the input.

use crate::excerpt;

/// One stanza's single-line fields; continuation lines (Description, Conffiles, …) are left out.
#[derive(Debug, Default)]
pub struct Stanza<'a> {
    /// 1-based line number of the stanza's first field.
    pub first_line: usize,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Stanza<'a> {
    /// A field's trimmed value. Field names are case-insensitive; the first occurrence wins.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// What a deb822 text holds, in input order.
#[derive(Debug)]
pub enum Item<'a> {
    Stanza(Stanza<'a>),
    /// A line that belongs to no stanza (a continuation outside one, a line without `:`).
    Skip {
        line: usize,
        reason: String,
    },
}

/// Reads every stanza of `text`, and the lines it could not place.
pub fn items(text: &str) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Stanza<'_>> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            if let Some(s) = current.take() {
                out.push(Item::Stanza(s));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if current.is_none() {
                out.push(Item::Skip {
                    line: line_no,
                    reason: "continuation line outside a stanza".into(),
                });
            }
            continue;
        }
        let s = current.get_or_insert_with(|| Stanza {
            first_line: line_no,
            fields: Vec::new(),
        });
        match line.split_once(':') {
            Some((key, value)) => s.fields.push((key, value.trim())),
            None => out.push(Item::Skip {
                line: line_no,
                reason: format!("no ':' in '{}'", excerpt(line)),
            }),
        }
    }
    if let Some(s) = current {
        out.push(Item::Stanza(s));
    }
    out
}

/// The source package and its version from a `Source:` field, `name` or `name (version)`; the
/// version is written only when it differs from the binary's (binNMUs, `+b1`).
pub fn split_source<'a>(field: &'a str, version: &'a str) -> (&'a str, &'a str) {
    let (src, rest) = field.split_once(char::is_whitespace).unwrap_or((field, ""));
    let src_version = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(version);
    (src, src_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_fields_and_skips() {
        let text = " orphan continuation\nPackage: a\nversion: 1\n Description line\nVersion: 2\nbroken\r\n\n\nPackage: b\r\n";
        let (mut got, mut skipped) = (Vec::new(), Vec::new());
        for item in items(text) {
            match item {
                Item::Stanza(s) => got.push((
                    s.first_line,
                    s.get("package"),
                    s.get("VERSION"),
                    s.get("Source"),
                )),
                Item::Skip { line, reason } => skipped.push((line, reason)),
            }
        }
        assert_eq!(
            got,
            vec![(2, Some("a"), Some("1"), None), (9, Some("b"), None, None)]
        );
        assert_eq!(
            skipped,
            vec![
                (1, "continuation line outside a stanza".to_string()),
                (6, "no ':' in 'broken'".to_string())
            ]
        );
        assert_eq!(
            split_source("glibc (2.36-9+deb12u4)", "x"),
            ("glibc", "2.36-9+deb12u4")
        );
        assert_eq!(split_source("glibc", "2.36-9"), ("glibc", "2.36-9"));
        assert_eq!(split_source("glibc ()", "2.36-9"), ("glibc", "2.36-9"));
    }
}
