//! One problem in an input file, with its position, and its rendering in the style of rustc and
//! just: a header, the `-->` location, the source line with a caret, and an optional help line.
//! Other crates use it for problems in fixture and issue files too.

use std::path::PathBuf;

use serde::Serialize;

/// One problem at a position in a file.
///
/// `line` and `column` are 1-based and count characters; `line == 0` means the problem concerns
/// the whole file (it could not be read, for example) and has no position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub source_line: Option<String>,
    pub help: Option<String>,
    /// Where the marked token ends on its line (the column after it), when the parser knows;
    /// without it the renderer finds the token's end in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
}

impl Diagnostic {
    /// A diagnostic without source line or help; add them with [`Diagnostic::with_source_from`]
    /// and [`Diagnostic::with_help`].
    pub fn new(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line,
            column,
            message: message.into(),
            source_line: None,
            help: None,
            end_column: None,
        }
    }

    /// Takes the source line for `self.line` out of the whole text of the file.
    #[must_use]
    pub fn with_source_from(mut self, text: &str) -> Diagnostic {
        self.source_line = self
            .line
            .checked_sub(1)
            .and_then(|index| text.lines().nth(index))
            .map(str::to_owned);
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Renders the diagnostic on several lines, without a trailing newline and without colour.
    ///
    /// ```text
    /// error: unknown key `fixturs` in `database`
    ///   --> pods/bad.yaml:4:3
    ///    |
    ///  4 |   fixturs:
    ///    |   ^^^^^^^
    ///    = help: did you mean `fixtures`?
    /// ```
    #[must_use]
    pub fn render(&self) -> String {
        // One space wider than the line number, as the example in the design asks.
        let width = self.line.max(1).to_string().len() + 1;
        let gutter = " ".repeat(width);
        let mut lines = vec![format!("error: {}", self.message)];
        if self.line == 0 {
            lines.push(format!("{gutter}--> {}", self.file.display()));
        } else {
            lines.push(format!(
                "{gutter}--> {}:{}:{}",
                self.file.display(),
                self.line,
                self.column
            ));
        }
        if let (Some(source_line), true) = (&self.source_line, self.line > 0) {
            let (source_line, column) =
                window(source_line.trim_end_matches(['\r', '\n']), self.column);
            let length = self
                .end_column
                .and_then(|end| end.checked_sub(self.column))
                .filter(|length| *length > 0);
            let source_line = source_line.as_str();
            lines.push(format!("{gutter} |"));
            lines.push(
                format!("{:>width$} | {source_line}", self.line)
                    .trim_end()
                    .to_owned(),
            );
            lines.push(format!(
                "{gutter} | {}",
                caret_line(source_line, column, length)
            ));
        }
        if let Some(help) = &self.help {
            lines.push(format!("{gutter} = help: {help}"));
        }
        lines.join("\n")
    }
}

/// The caret marks the token that starts at `column`, `length` characters long when the parser
/// said where it ends; otherwise its end is found from the text (a quoted string, a bracketed
/// list, or a plain word).
fn caret_line(source_line: &str, column: usize, length: Option<usize>) -> String {
    let characters: Vec<char> = source_line.chars().collect();
    let start = column.saturating_sub(1).min(characters.len());
    // Tabs are kept so the caret lines up however the terminal renders them.
    let padding: String = characters[..start]
        .iter()
        .map(|&character| if character == '\t' { '\t' } else { ' ' })
        .collect();
    let rest = characters.len() - start;
    let length = match length {
        // The parser's span can take in the blank after a quoted scalar or a closing bracket.
        Some(length) => {
            let token = &characters[start..start + length.min(rest)];
            token.len()
                - token
                    .iter()
                    .rev()
                    .take_while(|character| character.is_whitespace())
                    .count()
        }
        None => token_length(&characters[start..]),
    }
    .max(1);
    format!("{padding}{}", "^".repeat(length))
}

fn token_length(rest: &[char]) -> usize {
    let trimmed_length = |characters: &[char]| {
        characters
            .iter()
            .rposition(|character| !character.is_whitespace())
            .map_or(0, |index| index + 1)
    };
    match rest.first() {
        Some(&quote @ ('"' | '\'')) => {
            let mut index = 1;
            while index < rest.len() {
                if quote == '"' && rest[index] == '\\' {
                    index += 2;
                    continue;
                }
                if rest[index] == quote {
                    if quote == '\'' && rest.get(index + 1) == Some(&'\'') {
                        index += 2;
                        continue;
                    }
                    return index + 1;
                }
                index += 1;
            }
            trimmed_length(rest)
        }
        Some(&open @ ('[' | '{')) => {
            let close = if open == '[' { ']' } else { '}' };
            let mut depth = 0usize;
            for (index, &character) in rest.iter().enumerate() {
                if character == open {
                    depth += 1;
                } else if character == close {
                    depth -= 1;
                    if depth == 0 {
                        return index + 1;
                    }
                }
            }
            trimmed_length(rest)
        }
        _ => {
            let mut end = rest.len();
            for (index, &character) in rest.iter().enumerate() {
                let next = rest.get(index + 1).copied();
                let ends_key = character == ':' && next.is_none_or(char::is_whitespace);
                let starts_comment = character.is_whitespace() && next == Some('#');
                if ends_key || starts_comment || matches!(character, ',' | ']' | '}') {
                    end = index;
                    break;
                }
            }
            trimmed_length(&rest[..end])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let diagnostic =
            Diagnostic::new("pods/bad.yaml", 4, 3, "unknown key `fixturs` in `database`")
                .with_source_from("name: x\ndatabase:\n  image: postgres:15\n  fixturs:\n")
                .with_help("did you mean `fixtures`?");
        assert_eq!(
            diagnostic.render(),
            "error: unknown key `fixturs` in `database`\n  \
             --> pods/bad.yaml:4:3\n   \
             |\n \
             4 |   fixturs:\n   \
             |   ^^^^^^^\n   \
             = help: did you mean `fixtures`?"
        );
    }

    #[test]
    fn gutter_grows_with_the_line_number() {
        let rendered = Diagnostic::new("a.yaml", 120, 1, "boom")
            .with_source_from(&"x: 1\n".repeat(130))
            .render();
        assert!(rendered.contains("\n    --> a.yaml:120:1\n"), "{rendered}");
        assert!(rendered.contains("\n 120 | x: 1\n"), "{rendered}");
    }

    #[test]
    fn whole_file_problems_have_no_position() {
        let rendered = Diagnostic::new("a.yaml", 0, 0, "cannot read pod spec").render();
        assert_eq!(rendered, "error: cannot read pod spec\n  --> a.yaml");
    }

    #[test]
    fn caret_covers_the_token() {
        assert_eq!(caret_line("pods: three # comment", 7, None), "      ^^^^^");
        assert_eq!(caret_line("image: postgres:15", 8, None), "       ^^^^^^^^^^^");
        assert_eq!(caret_line("timeout: \"30 s\" # x", 10, None), "         ^^^^^^");
        assert_eq!(caret_line("command: [a, [b]]", 10, None), "         ^^^^^^^^");
        assert_eq!(caret_line("1,foo,bar", 3, None), "  ^^^");
        assert_eq!(caret_line("\tx: 1", 2, None), "\t^");
        // A column past the end still shows one caret.
        assert_eq!(caret_line("name:", 6, None), "     ^");
        // A known end is used as it is, less a trailing blank.
        assert_eq!(caret_line("a: [x, [y]] z", 4, Some(9)), "   ^^^^^^^^");
        assert_eq!(caret_line("a: \"q\" }", 4, Some(4)), "   ^^^");
    }
}

/// Characters of a source line shown around the column; longer lines (minified or generated
/// files) are cut to a window, so a message stays a few lines long.
const SOURCE_WINDOW: usize = 120;

/// The part of `line` to show and the column within it.
fn window(line: &str, column: usize) -> (String, usize) {
    let characters: Vec<char> = line.chars().collect();
    if characters.len() <= SOURCE_WINDOW {
        return (line.to_string(), column);
    }
    let start = column
        .saturating_sub(1)
        .saturating_sub(SOURCE_WINDOW / 2)
        .min(characters.len());
    let end = (start + SOURCE_WINDOW).min(characters.len());
    let mut shown: String = characters[start..end].iter().collect();
    let mut column = column - start;
    if start > 0 {
        shown.insert(0, '…');
        column += 1;
    }
    if end < characters.len() {
        shown.push('…');
    }
    (shown, column)
}

#[cfg(test)]
mod window_tests {
    use super::window;

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = "x".repeat(1000);
        let (shown, column) = window(&line, 500);
        assert!(shown.chars().count() <= 122, "{}", shown.len());
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(column - 1), Some('x'));
        assert_eq!(window("short", 3), ("short".to_string(), 3));
    }
}
