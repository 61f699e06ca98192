//! Fuzzes os-release, the hardware facts and the per-process parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_collect::{os, process, MAX_SKIPS};

fuzz_target!(|data: &[u8]| {
    let args = process::cmdline(data);
    assert!(args.chars().count() <= process::CMDLINE_MAX_CHARS);
    let text = String::from_utf8_lossy(data);
    let p = os::os_release(&text);
    assert!(p.skipped.len() <= MAX_SKIPS);
    let _ = os::meminfo_total_kb(&text);
    let _ = os::cpuinfo(&text);
    let _ = os::boot_time(&text);
    if let Some(s) = process::stat(&text) {
        assert!(s.comm.len() < text.len());
    }
    let _ = process::status_uid(&text);
});
