//! Fuzzes the package database parsers: dpkg status, apk installed, rpm -qa output and raw rpm
//! headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_collect::{packages, MAX_SKIPS};

fuzz_target!(|data: &[u8]| {
    if let Some(p) = packages::rpm_header(data) {
        assert!(!p.name.is_empty() && !p.version.is_empty());
    }
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    for p in [
        packages::dpkg_status(&text),
        packages::apk_installed(&text),
        packages::rpm_qa(&text),
    ] {
        assert!(p.skipped.len() <= MAX_SKIPS);
        assert!(p.value.len() <= lines);
    }
});
