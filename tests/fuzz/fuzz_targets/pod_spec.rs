//! The pod spec parser on any text: it never panics, always explains a refusal, and every
//! diagnostic points inside the input (a line that exists, a column on that line or just past
//! its end), showing that very line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `load` refuses text that is not UTF-8 before parsing; the parser only ever sees text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Err(error) = agentpod_spec::fuzzing::load_text(text) else {
        return;
    };
    assert!(!error.diagnostics.is_empty(), "a refusal without a reason");
    // The lines as YAML counts them (a lone carriage return ends one too); a position at the very
    // end of the text may sit on the empty line after a final line break.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().collect();
    for diagnostic in &error.diagnostics {
        assert!(!diagnostic.message.is_empty(), "{diagnostic:?}");
        if diagnostic.line == 0 {
            assert_eq!(diagnostic.column, 0, "{diagnostic:?}");
        } else {
            let line = match lines.get(diagnostic.line - 1) {
                Some(line) => *line,
                None if diagnostic.line == lines.len() + 1 => "",
                None => panic!(
                    "line {} is past the input's {} lines: {diagnostic:?}",
                    diagnostic.line,
                    lines.len()
                ),
            };
            let width = line.trim_end_matches('\r').chars().count();
            assert!(
                (1..=width + 1).contains(&diagnostic.column),
                "column {} is outside line {} ({width} characters): {diagnostic:?}",
                diagnostic.column,
                diagnostic.line,
            );
            if let Some(source_line) = &diagnostic.source_line {
                assert_eq!(source_line, line, "{diagnostic:?}");
            }
        }
        let rendered = diagnostic.render();
        assert!(rendered.starts_with("error: "), "{rendered}");
    }
});
