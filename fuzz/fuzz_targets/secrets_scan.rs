//! Fuzzes the credential-leak scan: the shipped rules over the input as a file's text, under a
//! path that keeps the key rules on; every finding masked and on a line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vigil_detect::secrets::{SecretRules, MAX_FINDINGS_PER_FILE};

fn rules() -> &'static SecretRules {
    static RULES: OnceLock<SecretRules> = OnceLock::new();
    RULES.get_or_init(|| {
        vigil_content::Content::build(&Default::default())
            .expect("shipped content")
            .secret_rules()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    let found = rules().scan("/var/www/html/.env", &text);
    assert!(found.len() <= MAX_FINDINGS_PER_FILE);
    for f in &found {
        assert!(f.line >= 1 && f.line <= lines);
        assert!(f.masked.contains('*'));
    }
});
