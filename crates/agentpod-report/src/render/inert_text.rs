//! Text that came from the agent under test — its answer, output, tool arguments, the statements
//! the database refused — or from an issue's fields, or from an error quoting either, made inert
//! for where it is shown: a terminal, Markdown (a CI job summary or a pull-request comment), and
//! XML or HTML. The agent is hostile: left as it is, such text could clear a terminal, plant a
//! hyperlink, hide or reorder what a reader sees, or write headings, images (tracking pixels),
//! HTML and fake "✅ passed" rows into a summary. Stored data keeps the text exactly; only the
//! renderings pass it through here.

/// C0 controls (escape, bell, backspace, carriage return, newline…), delete, and C1 controls
/// (single-character CSI and OSC among them): a terminal acts on them instead of showing them.
fn is_control(character: char) -> bool {
    matches!(character, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Unicode's bidirectional controls (overrides, embeddings, isolates and marks): invisible, they
/// reorder how the text around them is shown, so `failed` can be made to read otherwise.
fn is_bidi_control(character: char) -> bool {
    matches!(
        character,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// The Unicode line and paragraph separators, which some viewers break lines at.
fn is_line_separator(character: char) -> bool {
    matches!(character, '\u{2028}' | '\u{2029}')
}

/// Whether a terminal or a viewer would act on `character` rather than show it.
fn is_active(character: char) -> bool {
    is_control(character) || is_bidi_control(character) || is_line_separator(character)
}

/// Characters that end or break a line, read as a space where the text must stay on one line.
fn breaks_line(character: char) -> bool {
    matches!(
        character,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `character` spelled out, as Rust writes it: `\n`, `\r`, `\t`, `\x1b`, `\u{202e}`.
fn push_escaped(out: &mut String, character: char) {
    match character {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        character if (character as u32) < 0x80 => {
            out.push_str(&format!("\\x{:02x}", character as u32));
        }
        character => out.push_str(&format!("\\u{{{:x}}}", character as u32)),
    }
}

/// One line for a terminal: every control character, escape sequence introducer, bidi control
/// and line break is shown spelled out (`\x1b`, `\r`, `\n`, `\u{202e}`) instead of acting.
pub fn terminal_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if is_active(character) {
            push_escaped(&mut out, character);
        } else {
            out.push(character);
        }
    }
    out
}

/// Several lines for a terminal: like [`terminal_line`], but newlines and tabs are kept and a
/// Windows line ending (`\r\n`) reads as a newline; a lone carriage return, which would let the
/// rest of a line overwrite its start, is still spelled out.
pub fn terminal_block(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\n' | '\t' => out.push(character),
            '\r' if characters.peek() == Some(&'\n') => {}
            character if is_active(character) => push_escaped(&mut out, character),
            character => out.push(character),
        }
    }
    out
}

/// Text for Markdown on one line — a table cell, a list item, a heading or a paragraph: line
/// breaks become spaces (a newline would end a table row or start a block), control characters
/// are dropped, and every character that could start markup is escaped, so the text reads as
/// itself and cannot add headings, links, images, HTML, emphasis, math or table columns.
pub fn markdown_text(text: &str) -> String {
    let characters: Vec<char> = text
        .chars()
        .filter_map(|character| {
            if breaks_line(character) {
                Some(' ')
            } else if is_active(character) {
                None
            } else {
                Some(character)
            }
        })
        .collect();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    // Block markers (`#`, `-`, `+`, `=`, `1.`) only count at the start of a line, which is the
    // start of this text when a caller puts it first on its line.
    let mut at_line_start = true;
    let mut leading_digits = false;
    for (index, &character) in characters.iter().enumerate() {
        let next = characters.get(index + 1).copied();
        let follows_www = index >= 3 && characters[index - 3..index] == ['w', 'w', 'w'];
        match character {
            // Backslash first, so an escape the agent wrote cannot cancel one added here.
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(character);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '!' if next == Some('[') => out.push_str("\\!"),
            '#' | '-' | '+' | '=' if at_line_start => {
                out.push('\\');
                out.push(character);
            }
            '.' | ')' if leading_digits => {
                out.push('\\');
                out.push(character);
            }
            // A bare `http://…` or `www.…` becomes a link on GitHub; escaping the `:` or the `.`
            // keeps the address readable and not clickable.
            ':' if characters.get(index + 1..index + 3) == Some(&['/', '/']) => {
                out.push_str("\\:");
            }
            '.' if follows_www => out.push_str("\\."),
            character => out.push(character),
        }
        let is_space = character == ' ';
        leading_digits = (at_line_start || leading_digits) && character.is_ascii_digit();
        at_line_start = at_line_start && is_space;
    }
    out
}

/// A Markdown code span for a name (an issue id, a run id, an agent version): shown in code
/// when that is safe — no backtick, backslash, pipe or control character, which could close the
/// span or, in a table, split the cell — and as escaped plain text otherwise.
pub fn markdown_code(text: &str) -> String {
    let plain = !text.is_empty()
        && !text
            .chars()
            .any(|character| matches!(character, '`' | '\\' | '|') || is_active(character));
    if plain {
        format!("`{text}`")
    } else {
        markdown_text(text)
    }
}

/// Text inside raw HTML in a Markdown document (a `<summary>`): escaped as XML and kept on one
/// line, since a blank line would end the HTML block and let the rest be read as Markdown.
pub fn markdown_html(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|character| {
            if breaks_line(character) {
                ' '
            } else {
                character
            }
        })
        .collect();
    xml_text(&one_line)
}

/// Text for XML and HTML, in content and in quoted attributes. Characters XML 1.0 forbids
/// (control characters other than tab, newline and carriage return; U+FFFE and U+FFFF) are
/// dropped, since one of them makes a JUnit file unparsable; so are delete, the C1 controls XML
/// discourages, and bidi controls, which would reorder what a page shows. A carriage return is
/// written as a character reference.
pub fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(character),
            // A reference keeps the carriage return for a parser (which would turn a raw one into
            // a newline or a space) while the file itself holds none to overwrite a terminal line.
            '\r' => out.push_str("&#13;"),
            '\u{fffe}' | '\u{ffff}' => {}
            character if is_control(character) || is_bidi_control(character) => {}
            character => out.push(character),
        }
    }
    out
}

/// Text for a writer that escapes XML itself (the JUnit writer): the characters [`xml_text`]
/// drops are dropped, carriage returns too (a raw one in the file could overwrite a terminal
/// line), and nothing is escaped.
pub fn xml_plain(text: &str) -> String {
    text.chars()
        .filter(|character| {
            matches!(character, '\t' | '\n')
                || !(matches!(character, '\r' | '\u{fffe}' | '\u{ffff}')
                    || is_control(*character)
                    || is_bidi_control(*character))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clears the screen, plants a hyperlink (OSC 8, ended by BEL) and rings the bell.
    const ESCAPES: &str = "\u{1b}[2J\u{1b}]8;;http://evil/\u{7}click\u{1b}]8;;\u{7}";

    fn has_active(text: &str) -> bool {
        text.chars().any(is_active)
    }

    #[test]
    fn terminal_line_spells_out_escape_sequences() {
        let line = terminal_line(ESCAPES);
        assert!(!has_active(&line), "{line:?}");
        assert_eq!(
            line,
            "\\x1b[2J\\x1b]8;;http://evil/\\x07click\\x1b]8;;\\x07"
        );
    }

    #[test]
    fn terminal_line_spells_out_c0_controls_and_line_breaks() {
        assert_eq!(
            terminal_line("passed\rfailed\u{8}\u{8}x\ty\nz\u{0}"),
            "passed\\rfailed\\x08\\x08x\\ty\\nz\\x00"
        );
        assert_eq!(terminal_line("a\u{7f}b"), "a\\x7fb");
        assert_eq!(terminal_line("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn terminal_line_spells_out_c1_controls() {
        // U+009B is a one-character CSI; U+009D a one-character OSC.
        assert_eq!(terminal_line("\u{9b}2J\u{9d}x"), "\\u{9b}2J\\u{9d}x");
    }

    #[test]
    fn terminal_line_spells_out_bidi_controls() {
        for bidi in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
        ] {
            let line = terminal_line(&format!("ok{bidi}deliaf"));
            assert!(!line.contains(bidi), "{line:?}");
            assert!(line.starts_with("ok\\u{"), "{line:?}");
        }
        assert_eq!(terminal_line("\u{202e}"), "\\u{202e}");
    }

    #[test]
    fn terminal_line_keeps_ordinary_text() {
        let text = "expected.priority: wanted \"high\", got \"low\" — 70.0% ✅ ügy 日本";
        assert_eq!(terminal_line(text), text);
    }

    #[test]
    fn terminal_block_keeps_lines_and_tabs_only() {
        assert_eq!(
            terminal_block("one\r\ntwo\tcols\rthree\u{1b}[31m\n"),
            "one\ntwo\tcols\\rthree\\x1b[31m\n"
        );
        assert!(!has_active(&terminal_block(ESCAPES).replace('\n', "")));
    }

    #[test]
    fn markdown_text_escapes_markup() {
        assert_eq!(
            markdown_text("*bold* _it_ `code` ~~gone~~ $x$ a|b \\"),
            "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~gone\\~\\~ \\$x\\$ a\\|b \\\\"
        );
        assert_eq!(
            markdown_text("![x](http://evil/p.png) [link](https://evil)"),
            "\\!\\[x\\](http\\://evil/p.png) \\[link\\](https\\://evil)"
        );
        assert_eq!(
            markdown_text("<img src=x> & <details>"),
            "&lt;img src=x&gt; &amp; &lt;details&gt;"
        );
        assert_eq!(markdown_text("see www.evil.test"), "see www\\.evil.test");
        assert_eq!(markdown_text("wow! [x]"), "wow! \\[x\\]");
    }

    #[test]
    fn markdown_text_escapes_block_markers_at_the_start() {
        assert_eq!(markdown_text("### Approved"), "\\### Approved");
        assert_eq!(markdown_text("  # x"), "  \\# x");
        assert_eq!(markdown_text("- item"), "\\- item");
        assert_eq!(markdown_text("+ item"), "\\+ item");
        assert_eq!(markdown_text("==="), "\\===");
        assert_eq!(markdown_text("12. item"), "12\\. item");
        assert_eq!(markdown_text("1) item"), "1\\) item");
        // Not at the start: ordinary text.
        assert_eq!(markdown_text("issue #12 - 1. ok"), "issue #12 - 1. ok");
    }

    #[test]
    fn markdown_text_stays_on_one_line_without_controls() {
        let text = markdown_text(&format!("a\nb\r\nc\u{2028}d{ESCAPES}\u{202e}e\u{9b}f\u{0}"));
        assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
        assert!(!has_active(&text), "{text:?}");
        assert_eq!(text, "a b  c d\\[2J\\]8;;http\\://evil/click\\]8;;ef");
    }

    #[test]
    fn markdown_text_cannot_add_table_columns_or_rows() {
        let cell = markdown_text("| ✅ | passed |\n| T-9 | passed | fine |");
        assert!(!cell.contains('\n'));
        // Every pipe is preceded by an odd number of backslashes: escaped, not a column break.
        assert_eq!(unescaped_pipes(&cell), 0, "{cell}");
        assert_eq!(unescaped_pipes(&markdown_text("\\|")), 0);
        assert_eq!(unescaped_pipes(&markdown_text("\\\\|")), 0);
    }

    /// Pipes a GFM table would split a cell at: those after an even run of backslashes.
    fn unescaped_pipes(text: &str) -> usize {
        let mut backslashes = 0;
        let mut pipes = 0;
        for character in text.chars() {
            match character {
                '\\' => backslashes += 1,
                '|' if backslashes % 2 == 0 => {
                    pipes += 1;
                    backslashes = 0;
                }
                _ => backslashes = 0,
            }
        }
        pipes
    }

    #[test]
    fn markdown_code_uses_a_span_only_for_plain_names() {
        assert_eq!(markdown_code("T-12"), "`T-12`");
        assert_eq!(markdown_code("<img src=x>"), "`<img src=x>`");
        assert_eq!(markdown_code("a`b"), "a\\`b");
        assert_eq!(markdown_code("a|b\\"), "a\\|b\\\\");
        assert_eq!(markdown_code("x\u{1b}[2J"), "x\\[2J");
        assert_eq!(markdown_code("line\nbreak"), "line break");
        assert_eq!(markdown_code(""), "");
    }

    #[test]
    fn markdown_html_is_one_line_of_escaped_xml() {
        assert_eq!(
            markdown_html("a\n\n<img src=x>\u{1b}"),
            "a  &lt;img src=x&gt;"
        );
    }

    #[test]
    fn xml_text_escapes_and_drops_what_xml_forbids() {
        assert_eq!(
            xml_text("a<b & \"c\" 'd'\u{1}\u{1b}[0m\u{fffe}\u{ffff}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;[0m"
        );
        assert_eq!(xml_text("tab\tline\nreturn\r"), "tab\tline\nreturn&#13;");
        assert_eq!(xml_text("x\u{7f}\u{85}\u{9b}\u{202e}\u{2066}y"), "xy");
        assert_eq!(xml_text("ügy ✅ 日本 \u{1f600}"), "ügy ✅ 日本 \u{1f600}");
    }
}
