//! Timestamps of log lines: civil dates to Unix seconds, and the year classic syslog leaves out.

use vigil_model::Timestamp;

const DAY: i64 = 86_400;

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
/// Out-of-range days roll over (Feb 30 is Mar 2), which callers avoid by checking `1..=31`.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Seconds since the epoch of a wall-clock time, before any zone offset is applied.
/// Saturates rather than overflows for years no log holds, which only a caller's absurd `now`
/// can produce.
pub(crate) fn civil_seconds(year: i64, month: u32, day: u32, seconds_of_day: u32) -> i64 {
    days_from_civil(year, month, day)
        .saturating_mul(DAY)
        .saturating_add(i64::from(seconds_of_day))
}

/// Guesses the year of classic syslog lines (`Nov 23 10:00:01`), which carry none.
///
/// Lines are taken to arrive in file order. The first line gets the year of `now` (in local
/// time); after that the year goes up when the month steps back by two or more (Dec → Jan, or
/// Nov → Jan across a quiet December). A step back of exactly one month (Feb → Jan) is the slight
/// disorder syslog daemons write at month boundaries, not a new year, and a lone Dec line right
/// after Jan lines belongs to the year before without moving the guess. Finally, a line more
/// than one day in the future of `now` belongs to the previous year: a log cannot record what
/// has not happened yet, and one day of slack absorbs clock skew and zone mistakes.
#[derive(Debug, Clone)]
pub struct YearGuess {
    now: Timestamp,
    utc_offset_secs: i64,
    year: Option<i64>,
    last_month: u32,
}

impl YearGuess {
    /// `now` is the reference time (Unix seconds); `utc_offset_secs` the zone the log's local
    /// times were written in (east positive: `+3600` for CET).
    pub fn new(now: Timestamp, utc_offset_secs: i32) -> Self {
        YearGuess {
            now,
            utc_offset_secs: i64::from(utc_offset_secs),
            year: None,
            last_month: 0,
        }
    }

    /// The zone offset local times are read in.
    pub(crate) fn utc_offset_secs(&self) -> i64 {
        self.utc_offset_secs
    }

    /// The Unix time of a local `month` (1–12), `day` (1–31) and second of the day, choosing and
    /// remembering the year as the type's documentation says.
    pub fn resolve(&mut self, month: u32, day: u32, seconds_of_day: u32) -> Timestamp {
        let mut keep = true;
        let local_now = self.now.saturating_add(self.utc_offset_secs);
        let mut year = match self.year {
            None => civil_from_days(local_now.div_euclid(DAY)).0,
            Some(y) if month + 2 <= self.last_month => y + 1,
            Some(y) if month == 12 && self.last_month == 1 => {
                keep = false;
                y - 1
            }
            Some(y) => y,
        };
        let utc = |year| {
            civil_seconds(year, month, day, seconds_of_day).saturating_sub(self.utc_offset_secs)
        };
        let mut ts = utc(year);
        if ts > self.now.saturating_add(DAY) {
            year -= 1;
            ts = utc(year);
        }
        if keep {
            self.year = Some(year);
            self.last_month = month;
        }
        ts
    }
}

/// `Jan` … `Dec` → 1 … 12.
pub(crate) fn month_from_abbr(b: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = b.get(..3)?;
    MONTHS.iter().position(|m| *m == b).map(|i| i as u32 + 1)
}

/// Value of a run of ASCII digits, `None` if any byte is not a digit or the run is empty.
pub(crate) fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `HH:MM:SS` → seconds of the day. A leap second (`:60`) is taken as the next second.
pub(crate) fn hms(b: &[u8]) -> Option<u32> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[..2])?, digits(&b[3..5])?, digits(&b[6..])?);
    (h < 24 && m < 60 && s <= 60).then_some(h * 3600 + m * 60 + s)
}

/// `YYYY-MM-DD` → (year, month, day), checked for range.
pub(crate) fn ymd(b: &[u8]) -> Option<(i64, u32, u32)> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..])?);
    date_ok(m, d).then_some((i64::from(y), m, d))
}

pub(crate) fn date_ok(month: u32, day: u32) -> bool {
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// An ISO 8601 / RFC 3339 date-time at the start of `b`: `YYYY-MM-DDTHH:MM:SS`, optional
/// fraction, then `Z`, `±HH:MM` or `±HHMM`. Without a zone the time is local, shifted by
/// `local_offset`. Returns the time and the bytes consumed. `sep` is the date/time separator
/// the format uses (`T` or a space).
pub(crate) fn iso_datetime(b: &[u8], sep: u8, local_offset: i64) -> Option<(Timestamp, usize)> {
    if b.len() < 19 || b[10] != sep {
        return None;
    }
    let (y, mo, d) = ymd(&b[..10])?;
    let sod = hms(&b[11..19])?;
    let mut i = 19;
    if matches!(b.get(i), Some(b'.') | Some(b',')) {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let wall = civil_seconds(y, mo, d, sod);
    let offset = match b.get(i) {
        Some(b'Z') | Some(b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (hh, mm, used) = if rest.len() >= 5 && rest[2] == b':' {
                (digits(&rest[..2])?, digits(&rest[3..5])?, 5)
            } else {
                (digits(rest.get(..2)?)?, digits(rest.get(2..4)?)?, 4)
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            i += 1 + used;
            let secs = i64::from(hh * 3600 + mm * 60);
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => local_offset,
    };
    Some((wall - offset, i))
}

/// Renders a Unix time as `YYYY-MM-DDTHH:MM:SSZ` for test expectations.
#[cfg(test)]
pub(crate) fn format_utc(ts: Timestamp) -> String {
    let (y, mo, d) = civil_from_days(ts.div_euclid(DAY));
    let sod = ts.rem_euclid(DAY);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23T14:00:00Z.
    const NOW: Timestamp = 1_795_442_400;

    fn ts(s: &str) -> Timestamp {
        iso_datetime(s.as_bytes(), b'T', 0).expect(s).0
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            civil_seconds(2023, 11, 14, 22 * 3600 + 13 * 60 + 20),
            1_700_000_000
        );
        assert_eq!(format_utc(NOW), "2026-11-23T14:00:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        for days in [-800_000, -1, 0, 59, 365, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
    }

    #[test]
    fn iso_forms() {
        assert_eq!(ts("2026-11-23T14:00:00Z"), NOW);
        assert_eq!(ts("2026-11-23T15:00:00.123456+01:00"), NOW);
        assert_eq!(ts("2026-11-23T09:30:00-0430"), NOW);
        // Local time: shifted by the offset the caller gives.
        assert_eq!(
            iso_datetime(b"2026-11-23 15:00:00 9 [Warning]", b' ', 3600),
            Some((NOW, 19))
        );
        for bad in [
            "2026-13-23T14:00:00Z",
            "2026-11-32T14:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T14:00:00.Z",
            "2026-11-23T14:00:00+1",
            "2026-11-23 14:00:00Z",
            "2026-11-2",
        ] {
            let r = iso_datetime(bad.as_bytes(), b'T', 0);
            assert!(r.is_none(), "{bad} → {r:?}");
        }
    }

    #[test]
    fn hms_and_months() {
        assert_eq!(hms(b"23:59:60"), Some(86_400));
        assert_eq!(hms(b"24:00:00"), None);
        assert_eq!(hms(b"1:00:000"), None);
        assert_eq!(month_from_abbr(b"Dec 1"), Some(12));
        assert_eq!(month_from_abbr(b"dec"), None);
        assert_eq!(digits(b""), None);
        assert_eq!(digits(b"12a"), None);
        assert_eq!(digits(b"9999999999"), None);
    }

    fn run(now: Timestamp, offset: i32, lines: &[(u32, u32)]) -> Vec<String> {
        let mut g = YearGuess::new(now, offset);
        lines
            .iter()
            .map(|&(m, d)| format_utc(g.resolve(m, d, 10 * 3600)))
            .collect()
    }

    #[test]
    fn year_of_now_and_future_lines() {
        // Today and yesterday: this year.
        assert_eq!(
            run(NOW, 0, &[(11, 22), (11, 23)]),
            ["2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z"]
        );
        // Tomorrow within a day of slack: still this year; later: last year.
        assert_eq!(run(NOW, 0, &[(11, 24)]), ["2026-11-24T10:00:00Z"]);
        assert_eq!(run(NOW, 0, &[(11, 25)]), ["2025-11-25T10:00:00Z"]);
        assert_eq!(run(NOW, 0, &[(12, 31)]), ["2025-12-31T10:00:00Z"]);
    }

    #[test]
    fn year_rolls_over_dec_to_jan() {
        let now = ts("2026-01-02T12:00:00Z");
        assert_eq!(
            run(now, 0, &[(12, 30), (12, 31), (1, 1), (1, 2)]),
            [
                "2025-12-30T10:00:00Z",
                "2025-12-31T10:00:00Z",
                "2026-01-01T10:00:00Z",
                "2026-01-02T10:00:00Z"
            ]
        );
        // A quiet December: Nov → Jan is a new year too.
        assert_eq!(
            run(now, 0, &[(11, 30), (1, 2)]),
            ["2025-11-30T10:00:00Z", "2026-01-02T10:00:00Z"]
        );
    }

    #[test]
    fn slight_disorder_does_not_change_the_year() {
        // Feb → Jan by a line written late: same year.
        assert_eq!(
            run(NOW, 0, &[(1, 31), (2, 1), (1, 31), (2, 1)]),
            [
                "2026-01-31T10:00:00Z",
                "2026-02-01T10:00:00Z",
                "2026-01-31T10:00:00Z",
                "2026-02-01T10:00:00Z"
            ]
        );
        // A late Dec line after the new year began belongs to the old year only.
        let now = ts("2026-01-05T00:00:00Z");
        assert_eq!(
            run(now, 0, &[(12, 31), (1, 1), (12, 31), (1, 1)]),
            [
                "2025-12-31T10:00:00Z",
                "2026-01-01T10:00:00Z",
                "2025-12-31T10:00:00Z",
                "2026-01-01T10:00:00Z"
            ]
        );
    }

    #[test]
    fn absurd_reference_times_do_not_overflow() {
        for now in [i64::MIN, -1, 0, i64::MAX] {
            for offset in [i32::MIN, 0, i32::MAX] {
                let mut g = YearGuess::new(now, offset);
                for (m, d) in [(12, 31), (1, 1), (2, 29), (12, 31)] {
                    let _ = g.resolve(m, d, 86_400);
                }
            }
        }
    }

    #[test]
    fn local_offset_is_applied_and_decides_the_year() {
        // 2027-01-01T00:30 at +01:00 is still 2026 in UTC, but the log writes local dates.
        let now = ts("2026-12-31T23:30:00Z");
        let mut g = YearGuess::new(now, 3600);
        assert_eq!(format_utc(g.resolve(1, 1, 1800)), "2026-12-31T23:30:00Z");
        let mut g = YearGuess::new(now, -3600);
        assert_eq!(format_utc(g.resolve(12, 31, 1800)), "2026-12-31T01:30:00Z");
    }
}
