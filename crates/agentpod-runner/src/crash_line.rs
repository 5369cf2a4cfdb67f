//! The one line of a crashed agent's stderr that says why it crashed: the exception, not the
//! decoration around it. Python's traceback ends with `ValueError: …`, Rust's panic message
//! stands before `note: run with RUST_BACKTRACE=1 …`, Node's `Error: …` stands above its
//! `    at …` frames and `Node.js v20…`; a banner (`-----`) or blank lines may follow any of them.
//! Python's exception groups (asyncio's `TaskGroup`, anyio) frame every line with `|` and `+`:
//! the frame is taken off first, so the innermost exception is the line.
//!
//! stderr is the agent's text, so hostile: only the head agentpod kept is read, the line chosen
//! is cut to [`CRASH_LINE_CHARACTERS`], and it is only ever shown through the views' inert text.

/// The longest crash line kept in an outcome's reason, in characters.
const CRASH_LINE_CHARACTERS: usize = 160;

/// The line of `stderr` that says why the agent crashed, trimmed and cut to
/// [`CRASH_LINE_CHARACTERS`]: the last line that is not decoration, or, when every line is
/// decoration, the last line that is not blank.
pub(crate) fn crash_line(stderr: &str) -> Option<String> {
    let mut lines = stderr.lines().rev();
    let meaningful = lines
        .clone()
        .map(without_group_frame)
        .find(|line| !is_decoration(line));
    let chosen = meaningful.or_else(|| lines.find(|line| !line.trim().is_empty()))?;
    Some(cut(chosen.trim(), CRASH_LINE_CHARACTERS))
}

/// A line of a Python exception group's traceback without its frame: `  | ` or `  + ` (and the
/// nested `    | `) before the text. Other lines are left as they are.
fn without_group_frame(line: &str) -> &str {
    let trimmed = line.trim_start();
    match trimmed
        .strip_prefix('|')
        .or_else(|| trimmed.strip_prefix("+ "))
    {
        Some(rest) if line.len() > trimmed.len() => rest.strip_prefix(' ').unwrap_or(rest),
        _ => line,
    }
}

/// Whether a stderr line only frames a crash: blank, a banner or caret line without a letter
/// or digit, an indented line (a stack frame, a source excerpt, a backtrace), or one of the
/// fixed lines runtimes print around the message.
fn is_decoration(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty()
        || !trimmed.chars().any(char::is_alphanumeric)
        || line.starts_with(char::is_whitespace)
        || is_runtime_boilerplate(trimmed)
}

/// The fixed lines Python, Rust and Node print around an exception's message.
fn is_runtime_boilerplate(trimmed: &str) -> bool {
    const EXACT: [&str; 5] = [
        "Traceback (most recent call last):",
        "Exception Group Traceback (most recent call last):",
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
        "stack backtrace:",
    ];
    EXACT.contains(&trimmed)
        || (trimmed.starts_with("note: ") && trimmed.contains("RUST_BACKTRACE"))
        || is_node_version_line(trimmed)
}

/// Node's closing `Node.js v20.11.1`.
fn is_node_version_line(trimmed: &str) -> bool {
    trimmed.strip_prefix("Node.js v").is_some_and(|version| {
        !version.is_empty()
            && version
                .chars()
                .all(|character| character.is_ascii_digit() || character == '.')
    })
}

/// `text` cut to `limit` characters, with `…` where it was cut.
fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_traceback_gives_its_exception_even_under_a_banner() {
        let stderr = "\
Traceback (most recent call last):
  File \"/agent/main.py\", line 12, in <module>
    main()
  File \"/agent/main.py\", line 9, in main
    raise ValueError(\"order #W1234 has no item 42\")
    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ValueError: order #W1234 has no item 42

----------------------------------------
";
        assert_eq!(
            crash_line(stderr).as_deref(),
            Some("ValueError: order #W1234 has no item 42")
        );
    }

    #[test]
    fn a_python_exception_group_gives_its_innermost_exception_not_the_frame() {
        // What asyncio.run prints when a TaskGroup's task raised (Python 3.11+).
        let stderr = "\
  + Exception Group Traceback (most recent call last):
  |   File \"/agent/main.py\", line 30, in <module>
  |     asyncio.run(main())
  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File \"/agent/main.py\", line 21, in main
    |     await session.call_tool(\"query\", {})
    | mcp.shared.exceptions.McpError: tool query needs sql
    +------------------------------------
";
        assert_eq!(
            crash_line(stderr).as_deref(),
            Some("mcp.shared.exceptions.McpError: tool query needs sql")
        );
        // A line of the agent's own that starts with `|` is not a frame.
        assert_eq!(crash_line("| a | b |\n").as_deref(), Some("| a | b |"));
    }

    #[test]
    fn a_chained_python_exception_gives_the_last_one() {
        let stderr = "\
Traceback (most recent call last):
  File \"a.py\", line 2, in <module>
KeyError: 'total'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"a.py\", line 4, in <module>
RuntimeError: no total in the reply
";
        assert_eq!(
            crash_line(stderr).as_deref(),
            Some("RuntimeError: no total in the reply")
        );
    }

    #[test]
    fn a_rust_panic_gives_its_message_not_the_backtrace_note() {
        let stderr = "\
thread 'main' panicked at src/main.rs:4:5:
could not reach the tool gateway: connection refused
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";
        assert_eq!(
            crash_line(stderr).as_deref(),
            Some("could not reach the tool gateway: connection refused")
        );
        let with_backtrace = "\
thread 'main' panicked at src/main.rs:4:5:
boom
stack backtrace:
   0: rust_begin_unwind
             at /rustc/library/std/src/panicking.rs:597:5
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
";
        assert_eq!(crash_line(with_backtrace).as_deref(), Some("boom"));
    }

    #[test]
    fn a_node_error_gives_its_error_line() {
        let stderr = "\
/agent/index.js:3
  throw new Error(\"no such order\");
  ^

Error: no such order
    at Object.<anonymous> (/agent/index.js:3:9)
    at Module._compile (node:internal/modules/cjs/loader:1256:14)

Node.js v18.19.0
";
        assert_eq!(crash_line(stderr).as_deref(), Some("Error: no such order"));
    }

    #[test]
    fn a_plain_last_line_is_kept_and_decoration_alone_falls_back_to_it() {
        assert_eq!(
            crash_line("starting\ngiving up on this one\n").as_deref(),
            Some("giving up on this one")
        );
        assert_eq!(crash_line("=====\n\n").as_deref(), Some("====="));
        assert_eq!(
            crash_line("  only indented\n").as_deref(),
            Some("only indented")
        );
        assert_eq!(crash_line("\n \n"), None);
        assert_eq!(crash_line(""), None);
    }

    #[test]
    fn a_hostile_line_is_cut() {
        let long = format!("Error: {}", "é".repeat(10_000));
        let line = crash_line(&long).unwrap();
        assert_eq!(line.chars().count(), CRASH_LINE_CHARACTERS + 1);
        assert!(line.ends_with('…'));
        // A version-looking line that is not Node's is not decoration.
        assert_eq!(
            crash_line("Node.js vNext failed\n").as_deref(),
            Some("Node.js vNext failed")
        );
    }
}
