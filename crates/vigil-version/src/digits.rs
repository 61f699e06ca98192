//! Numeric order of ASCII digit runs of any length, without converting them to integers.

use std::cmp::Ordering;

/// Compares two runs of ASCII digits as the numbers they spell: leading zeros do not count, and
/// a run of any length compares correctly (no overflow).
pub(crate) fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether `s` is one or more ASCII digits.
pub(crate) fn all(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// Whether the digit run `s` spells zero.
pub(crate) fn is_zero(s: &[u8]) -> bool {
    s.iter().all(|&b| b == b'0')
}

/// Length of the run of ASCII digits at the start of `s`.
pub(crate) fn prefix_len(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

fn strip_zeros(s: &[u8]) -> &[u8] {
    let zeros = s.iter().take_while(|&&b| b == b'0').count();
    &s[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn numeric_order() {
        for (a, b, want) in [
            ("0", "", Equal),
            ("007", "7", Equal),
            ("9", "10", Less),
            ("10", "9", Greater),
            ("18446744073709551616", "18446744073709551615", Greater),
            (
                "000123456789012345678901234567890",
                "123456789012345678901234567891",
                Less,
            ),
        ] {
            assert_eq!(cmp(a.as_bytes(), b.as_bytes()), want, "{a} vs {b}");
            assert_eq!(
                cmp(b.as_bytes(), a.as_bytes()),
                want.reverse(),
                "{b} vs {a}"
            );
        }
        assert!(all(b"0123") && !all(b"") && !all(b"12a"));
        assert!(is_zero(b"000") && is_zero(b"") && !is_zero(b"010"));
        assert_eq!(prefix_len(b"123abc4"), 3);
        assert_eq!(prefix_len(b"abc"), 0);
    }
}
