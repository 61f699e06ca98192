//! Fuzzes the login-log parsers: `auth::parse_log` over the input as a whole log, each line on
//! its own with a fresh context, every parsed line through `Tries` (each try counted at most as
//! often as its lines say it happened), and `utmp::records` over the same bytes as a wtmp file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_collect::auth::tries::Tries;
use vigil_collect::auth::{
    parse_line, parse_line_pid, parse_log, LineContext, LineResult, MAX_LINE_BYTES,
};
use vigil_collect::{utmp, MAX_SKIPS};

/// 2026-11-23T14:00:00Z, with a zone offset so local-time paths run too.
const NOW: i64 = 1_795_442_400;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count();
    let p = parse_log(data, &mut LineContext::new(NOW, 3600));
    assert!(p.skipped.len() <= MAX_SKIPS);
    assert!(p.value.len() + p.skipped_total <= lines);
    let mut last = 0;
    for (n, event) in &p.value {
        assert!(*n > last && *n <= lines, "line numbers rise and stay in range");
        last = *n;
        assert!(!event.service.is_empty());
        if let Some(source) = &event.source {
            assert!(!source.is_empty() && !source.contains(' '));
        }
    }
    for line in data.split(|&b| b == b'\n').take(64) {
        let result = parse_line(line, &mut LineContext::new(NOW, -18_000));
        if line.len() > MAX_LINE_BYTES + 2 {
            assert!(matches!(result, LineResult::Skipped(_)));
        }
    }
    // Through the tries counter: never more tries than the lines' own repeat counts allow, and
    // every held line handed back by the end.
    let mut ctx = LineContext::new(NOW, 3600);
    let mut tries = Tries::new();
    let (mut events, mut counted) = (0u64, 0u64);
    for line in data.split(|&b| b == b'\n') {
        let (result, meta) = parse_line_pid(line, &mut ctx);
        assert!(meta.times >= 1);
        if let LineResult::Login(ev) = result {
            events += u64::from(meta.times);
            counted += tries.feed_line(ev, meta).len() as u64;
        }
    }
    counted += tries.flush(None).len() as u64;
    assert!(counted <= events, "{counted} tries from {events} events");
    assert!(tries.flush(None).is_empty());
    let records = utmp::records(data);
    assert_eq!(records.value.len(), data.len() / utmp::RECORD_SIZE);
    assert_eq!(records.skipped_total, usize::from(data.len() % utmp::RECORD_SIZE != 0));
    for r in &records.value {
        let _ = r.login_event(utmp::UtmpFile::Wtmp);
        let _ = r.login_event(utmp::UtmpFile::Btmp);
    }
});
