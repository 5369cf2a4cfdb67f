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
    /// An error stops what was asked for; a warning is said and the work goes on.
    #[serde(skip_serializing_if = "Severity::is_error")]
    pub severity: Severity,
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

/// How much a [`Diagnostic`] weighs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

impl Severity {
    pub fn is_error(&self) -> bool {
        *self == Severity::Error
    }
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
            severity: Severity::Error,
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

    /// The same diagnostic as a warning: rendered `warning:`, and it stops nothing.
    #[must_use]
    pub fn as_warning(mut self) -> Diagnostic {
        self.severity = Severity::Warning;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity.is_error()
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Renders the diagnostic on several lines, without a trailing newline and without colour,
    /// with `annotate-snippets` (rustc's own renderer):
    ///
    /// ```text
    /// error: unknown key `fixturs` in `database`
    ///  --> pods/bad.yaml:4:3
    ///   |
    /// 4 |   fixturs:
    ///   |   ^^^^^^^
    ///   |
    ///   = help: did you mean `fixtures`?
    /// ```
    #[must_use]
    pub fn render(&self) -> String {
        use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};
        let file = self.file.display().to_string();
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(self.message.as_str());
        let source_line = self
            .source_line
            .as_deref()
            .map(|line| line.trim_end_matches(['\r', '\n']));
        let mut group = match (source_line, self.line) {
            (_, 0) => title.element(Origin::path(file.as_str())),
            (Some(source_line), line) => title.element(
                Snippet::source(source_line)
                    .line_start(line)
                    .path(file.as_str())
                    .annotation(AnnotationKind::Primary.span(token_span(
                        source_line,
                        self.column,
                        self.end_column,
                    ))),
            ),
            (None, line) => title.element(
                Origin::path(file.as_str())
                    .line(line)
                    .char_column(self.column),
            ),
        };
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        Renderer::plain().render(&[group]).trim_end().to_string()
    }
}

/// The bytes of `source_line` the caret marks: the token that starts at the 1-based character
/// `column`, up to `end_column` when the parser said where it ends (less a trailing blank: its
/// span can take in the blank after a quoted scalar or a closing bracket), else to the token's
/// end as found from the text (a quoted string, a bracketed list, or a plain word).
fn token_span(
    source_line: &str,
    column: usize,
    end_column: Option<usize>,
) -> std::ops::Range<usize> {
    let characters: Vec<char> = source_line.chars().collect();
    let start = column.saturating_sub(1).min(characters.len());
    let rest = characters.len() - start;
    let length = match end_column
        .and_then(|end| end.checked_sub(column))
        .filter(|length| *length > 0)
    {
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
    };
    let byte = |index: usize| {
        characters[..index]
            .iter()
            .map(|c| c.len_utf8())
            .sum::<usize>()
    };
    byte(start)..byte(start + length)
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
            "error: unknown key `fixturs` in `database`\n \
             --> pods/bad.yaml:4:3\n  \
             |\n\
             4 |   fixturs:\n  \
             |   ^^^^^^^\n  \
             |\n  \
             = help: did you mean `fixtures`?"
        );
    }

    #[test]
    fn gutter_grows_with_the_line_number() {
        let rendered = Diagnostic::new("a.yaml", 120, 1, "boom")
            .with_source_from(&"x: 1\n".repeat(130))
            .render();
        assert!(rendered.contains("\n   --> a.yaml:120:1\n"), "{rendered}");
        assert!(rendered.contains("\n120 | x: 1\n"), "{rendered}");
    }

    #[test]
    fn warnings_render_as_warnings() {
        let rendered = Diagnostic::new("a.yaml", 1, 1, "careful")
            .with_source_from("x: 1\n")
            .as_warning()
            .render();
        assert!(rendered.starts_with("warning: careful\n"), "{rendered}");
    }

    #[test]
    fn whole_file_problems_have_no_position() {
        let rendered = Diagnostic::new("a.yaml", 0, 0, "cannot read pod spec").render();
        assert_eq!(rendered, "error: cannot read pod spec\n--> a.yaml");
    }

    #[test]
    fn long_lines_are_cut_around_the_token() {
        let line = format!("{}bad{}", "x".repeat(500), "y".repeat(500));
        let rendered = Diagnostic::new("a.csv", 1, 501, "boom")
            .with_source_from(&line)
            .render();
        assert!(
            rendered.lines().all(|line| line.chars().count() < 200),
            "{rendered}"
        );
        assert!(rendered.contains("bad"), "{rendered}");
    }

    #[test]
    fn the_span_covers_the_token() {
        let text = |line: &str, column: usize, end: Option<usize>| {
            line[token_span(line, column, end)].to_string()
        };
        assert_eq!(text("pods: three # comment", 7, None), "three");
        assert_eq!(text("image: postgres:15", 8, None), "postgres:15");
        assert_eq!(text("timeout: \"30 s\" # x", 10, None), "\"30 s\"");
        assert_eq!(text("command: [a, [b]]", 10, None), "[a, [b]]");
        assert_eq!(text("1,foo,bar", 3, None), "foo");
        assert_eq!(text("é: ü", 4, None), "ü");
        // A column past the end marks the end.
        assert_eq!(token_span("name:", 6, None), 5..5);
        // A known end is used as it is, less a trailing blank.
        assert_eq!(text("a: [x, [y]] z", 4, Some(13)), "[x, [y]]");
        assert_eq!(text("a: \"q\" }", 4, Some(8)), "\"q\"");
    }
}
