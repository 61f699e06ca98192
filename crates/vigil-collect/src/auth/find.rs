//! Searches for the parsers' short, fixed needles in a log line.
//!
//! `str::find(&str)` sets up a two-way searcher on every call, and `str::split_once(char)` a
//! char searcher: on a 100-byte line either costs more than the search itself. These look for
//! the needle's first byte with `memchr` and compare the rest, which is what short needles in
//! short haystacks want. Every needle is ASCII, so each split falls on a char boundary.

/// The byte offset of the first `needle` in `hay`.
pub(crate) fn find(hay: &str, needle: &str) -> Option<usize> {
    let (&first, rest) = needle.as_bytes().split_first()?;
    let h = hay.as_bytes();
    memchr::memchr_iter(first, h).find(|&i| h[i + 1..].starts_with(rest))
}

/// The byte offset of the last `needle` in `hay`.
pub(crate) fn rfind(hay: &str, needle: &str) -> Option<usize> {
    let (&first, rest) = needle.as_bytes().split_first()?;
    let h = hay.as_bytes();
    memchr::memrchr_iter(first, h).find(|&i| h[i + 1..].starts_with(rest))
}

/// `hay` around the first `needle`.
pub(crate) fn split_once<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    find(hay, needle).map(|i| (&hay[..i], &hay[i + needle.len()..]))
}

/// `hay` around the last `needle`.
pub(crate) fn rsplit_once<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    rfind(hay, needle).map(|i| (&hay[..i], &hay[i + needle.len()..]))
}

/// `hay` around its first `byte` (ASCII), found by a plain loop: the frame's separators are a
/// few bytes away, nearer than a `memchr` call pays for.
pub(crate) fn split_byte(hay: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let i = hay.bytes().position(|b| b == byte)?;
    Some((&hay[..i], &hay[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_as_str_does() {
        let cases = [
            (
                "Failed password for root from 1.2.3.4 port 22 ssh2",
                " port ",
            ),
            ("a port b port c", " port "),
            ("no needle here", " port "),
            ("", " from "),
            (" from ", " from "),
            ("ünïcödé from ädr", " from "),
            ("xx", ""),
        ];
        for (hay, needle) in cases {
            if needle.is_empty() {
                assert_eq!(find(hay, needle), None);
                continue;
            }
            assert_eq!(find(hay, needle), hay.find(needle), "{hay:?}");
            assert_eq!(rfind(hay, needle), hay.rfind(needle), "{hay:?}");
            assert_eq!(split_once(hay, needle), hay.split_once(needle));
            assert_eq!(rsplit_once(hay, needle), hay.rsplit_once(needle));
        }
        for hay in ["Nov 23", "Nov", "", " x", "ü ä"] {
            assert_eq!(split_byte(hay, b' '), hay.split_once(' '));
        }
    }
}
