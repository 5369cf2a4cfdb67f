//! The SQL fixture splitter on any text: it never panics, and the statements it finds are pieces
//! of the script in order, without overlap, each starting on the line it says, so a Postgres
//! error is always pointed at a line the fixture has.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else {
        return;
    };
    let statements = agentpod_db::fuzzing::split_statements(script);
    let lines = script.split('\n').count();
    let mut end = 0;
    for statement in &statements {
        // Blank as SQL sees it (ASCII whitespace; a vertical tab is text to Postgres 15).
        assert!(
            !statement
                .text
                .trim_matches(|character: char| character.is_ascii_whitespace())
                .is_empty(),
            "an empty statement"
        );
        assert!(statement.offset >= end, "statements overlap or go back");
        assert_eq!(
            &script[statement.offset..statement.offset + statement.text.len()],
            statement.text
        );
        end = statement.offset + statement.text.len();
        let line = script[..statement.offset].matches('\n').count() + 1;
        assert_eq!(statement.line, line, "the statement starts on another line");
        assert!(
            (statement.line..=lines).contains(&statement.line_of_last_character),
            "an error position past the script's end"
        );
    }
});
