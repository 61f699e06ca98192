//! Fuzzes `accounts::accounts`, splitting the input into passwd, shadow and group at NUL bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_collect::{accounts, MAX_SKIPS};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let passwd = parts.next().unwrap_or("");
    let shadow = parts.next();
    let group = parts.next();
    let p = accounts::accounts(passwd, shadow, group);
    assert!(p.skipped.len() <= MAX_SKIPS);
    assert!(p.value.len() <= passwd.lines().count());
    // The same text in every role must not panic either.
    let _ = accounts::accounts(&text, Some(&text), Some(&text));
});
