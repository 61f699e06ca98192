//! Per-process files under `/proc/PID`: `stat`, `status` and `cmdline`.

/// Longest command line kept, in characters.
pub const CMDLINE_MAX_CHARS: usize = 4096;

/// The fields of `/proc/PID/stat` the inventory needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcStat {
    pub pid: u32,
    /// The kernel's name for the task (at most 15 bytes, but may hold spaces, parentheses and
    /// even newlines, since a process can name itself anything).
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    /// Start time in clock ticks after boot (field 22).
    pub start_ticks: u64,
}

/// Parses `/proc/PID/stat`.
///
/// The comm field is the only one that can contain spaces or `)`, and it is followed by the
/// kernel's own `) `, so the fields after the comm start after the last `)` of the text.
pub fn stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_owned();
    // Fields after the comm, starting with field 3 (state).
    let mut rest = text[close + 1..].split_whitespace();
    let mut state_chars = rest.next()?.chars();
    let state = state_chars.next()?;
    if state_chars.next().is_some() {
        return None;
    }
    let ppid = rest.next()?.parse().ok()?;
    // Field 22 is the 18th field after ppid (field 4).
    let start_ticks = rest.nth(17)?.parse().ok()?;
    Some(ProcStat {
        pid,
        comm,
        state,
        ppid,
        start_ticks,
    })
}

/// The real uid (first number of the `Uid:` line) of `/proc/PID/status`.
pub fn status_uid(text: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("Uid:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Joins the NUL-separated arguments of `/proc/PID/cmdline` with single spaces.
///
/// Trailing NULs are dropped: processes that rewrite their title (`setproctitle`) pad the old
/// argument area with them. Empty arguments in the middle are kept, so `a "" b` reads `a  b`.
/// Invalid UTF-8 becomes U+FFFD. The result holds at most [`CMDLINE_MAX_CHARS`] characters.
pub fn cmdline(bytes: &[u8]) -> String {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    // Each input byte yields at most one character, and a complete character spans at most four
    // bytes, so this prefix always holds the first CMDLINE_MAX_CHARS whole characters.
    let window = end.min(CMDLINE_MAX_CHARS * 4 + 3);
    let spaced: Vec<u8> = bytes[..window]
        .iter()
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect();
    String::from_utf8_lossy(&spaced)
        .chars()
        .take(CMDLINE_MAX_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLEEP: &str = "6888 (a b)c) S 1 6880 5237 0 -1 4194304 136 0 0 0 0 0 0 0 20 0 1 0 \
                         37941 2990080 414 18446744073709551615 0\n";

    #[test]
    fn comm_with_paren_and_space() {
        let s = stat(SLEEP).expect("parses");
        assert_eq!(s.pid, 6888);
        assert_eq!(s.comm, "a b)c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.start_ticks, 37941);
    }

    #[test]
    fn comm_that_looks_like_fields() {
        let s = stat("7 (x) R 99 (y) Z 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n");
        // The last ')' wins, so the comm swallows the fake fields.
        let s = s.expect("parses");
        assert_eq!(s.comm, "x) R 99 (y");
        assert_eq!(s.state, 'Z');
        assert_eq!(s.ppid, 5);
        assert_eq!(s.start_ticks, 23);
    }

    #[test]
    fn comm_with_newline_and_empty_comm() {
        let s = stat("9 (a\nb) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 42 0").expect("parses");
        assert_eq!(s.comm, "a\nb");
        assert_eq!(s.start_ticks, 42);
        let e = stat("9 () S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 42").expect("parses");
        assert_eq!(e.comm, "");
    }

    #[test]
    fn malformed_stat() {
        assert_eq!(stat(""), None);
        assert_eq!(stat("1 (x) S 0"), None);
        assert_eq!(stat(") 1 (x S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1"), None);
        assert_eq!(stat("x (y) S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1"), None);
        assert_eq!(stat("1 (y) SS 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1"), None);
        assert_eq!(stat("1 (y) S -1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1"), None);
        assert_eq!(stat("1 (y) S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 x"), None);
    }

    #[test]
    fn uid_line() {
        assert_eq!(status_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), Some(1000));
        assert_eq!(status_uid("Name:\tx\n"), None);
        assert_eq!(status_uid("Uid:\n"), None);
        assert_eq!(status_uid("Uid: -1 0 0 0\n"), None);
    }

    #[test]
    fn cmdline_joins_and_trims() {
        assert_eq!(cmdline(b"/bin/sleep\x00100\0"), "/bin/sleep 100");
        assert_eq!(
            cmdline(b"redis-server *:6379\0\0\0\0\0"),
            "redis-server *:6379"
        );
        assert_eq!(cmdline(b"a\0\0b"), "a  b");
        assert_eq!(cmdline(b""), "");
        assert_eq!(cmdline(b"\0\0"), "");
        assert_eq!(cmdline(b"x\xffy\0"), "x\u{fffd}y");
    }

    #[test]
    fn cmdline_is_capped_on_char_boundaries() {
        let long = "é".repeat(CMDLINE_MAX_CHARS + 10);
        let out = cmdline(long.as_bytes());
        assert_eq!(out.chars().count(), CMDLINE_MAX_CHARS);
        assert!(out.chars().all(|c| c == 'é'));
        let four = "𝄞".repeat(CMDLINE_MAX_CHARS + 1);
        let out = cmdline(four.as_bytes());
        assert_eq!(out.chars().count(), CMDLINE_MAX_CHARS);
        assert!(out.chars().all(|c| c == '𝄞'));
        let exact = "a".repeat(CMDLINE_MAX_CHARS);
        assert_eq!(cmdline(exact.as_bytes()), exact);
    }
}
