//! Splitting a SQL script into statements the way psql does, keeping where each one starts so a
//! Postgres error can be pointed at the right line of the fixture file.
//!
//! A semicolon ends a statement only outside quotes (`'...'`, `E'...'`, `"..."`, `$tag$...$tag$`),
//! comments (`--`, nested `/* */`), parentheses, and the `BEGIN ATOMIC ... END` body of a
//! SQL-standard function.

/// One statement of a script: its text exactly as in the file (through the semicolon, if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SqlStatement<'script> {
    pub(crate) text: &'script str,
    /// 1-based line of the statement's first character.
    pub(crate) line: usize,
}

impl SqlStatement<'_> {
    /// The first keyword, lowercased, to tell transaction control apart from everything else.
    pub(crate) fn first_word(&self) -> String {
        self.text
            .chars()
            .take_while(|character| character.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_lowercase()
    }

    /// The 1-based file line of a 1-based character position inside the statement, as Postgres
    /// reports it in an error.
    pub(crate) fn line_of_position(&self, position: usize) -> usize {
        let newlines = self
            .text
            .chars()
            .take(position.saturating_sub(1))
            .filter(|&character| character == '\n')
            .count();
        self.line + newlines
    }
}

/// Splits `script` into statements, dropping those that are only whitespace and comments.
pub(crate) fn split_statements(script: &str) -> Vec<SqlStatement<'_>> {
    let mut splitter = Splitter::new(script);
    splitter.run();
    splitter.statements
}

struct Splitter<'script> {
    script: &'script str,
    bytes: &'script [u8],
    position: usize,
    line: usize,
    /// Byte offset and line of the current statement's first significant character.
    start: Option<(usize, usize)>,
    parentheses: usize,
    /// Words seen so far at the top level of the statement, up to the few needed to recognise
    /// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
    leading_words: Vec<String>,
    begin_depth: usize,
    statements: Vec<SqlStatement<'script>>,
}

impl<'script> Splitter<'script> {
    fn new(script: &'script str) -> Self {
        Splitter {
            script,
            bytes: script.as_bytes(),
            position: 0,
            line: 1,
            start: None,
            parentheses: 0,
            leading_words: Vec::new(),
            begin_depth: 0,
            statements: Vec::new(),
        }
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.position + offset).copied()
    }

    /// Moves forward `count` bytes, counting newlines.
    fn advance(&mut self, count: usize) {
        let end = (self.position + count).min(self.bytes.len());
        self.line += self.bytes[self.position..end]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count();
        self.position = end;
    }

    fn mark_start(&mut self) {
        if self.start.is_none() {
            self.start = Some((self.position, self.line));
        }
    }

    fn run(&mut self) {
        while let Some(byte) = self.peek(0) {
            match byte {
                b'-' if self.peek(1) == Some(b'-') => self.skip_line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
                b'\'' => {
                    self.mark_start();
                    let backslash_escapes = self.previous_is_escape_prefix();
                    self.skip_quoted(b'\'', backslash_escapes);
                }
                b'"' => {
                    self.mark_start();
                    self.skip_quoted(b'"', false);
                }
                b'$' if !self.previous_is_identifier_character() => {
                    self.mark_start();
                    if !self.skip_dollar_quoted() {
                        self.advance(1);
                    }
                }
                b'(' => {
                    self.mark_start();
                    self.parentheses += 1;
                    self.advance(1);
                }
                b')' => {
                    self.mark_start();
                    self.parentheses = self.parentheses.saturating_sub(1);
                    self.advance(1);
                }
                b';' => {
                    self.mark_start();
                    self.advance(1);
                    if self.parentheses == 0 && self.begin_depth == 0 {
                        self.finish_statement();
                    }
                }
                byte if byte.is_ascii_whitespace() => self.advance(1),
                byte if is_identifier_start(byte) => {
                    self.mark_start();
                    self.read_word();
                }
                _ => {
                    self.mark_start();
                    self.advance(1);
                }
            }
        }
        self.finish_statement();
    }

    fn finish_statement(&mut self) {
        if let Some((start, line)) = self.start.take() {
            self.statements.push(SqlStatement {
                text: &self.script[start..self.position],
                line,
            });
        }
        self.parentheses = 0;
        self.begin_depth = 0;
        self.leading_words.clear();
    }

    fn skip_line_comment(&mut self) {
        while let Some(byte) = self.peek(0) {
            if byte == b'\n' {
                break;
            }
            self.advance(1);
        }
    }

    /// Postgres block comments nest.
    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        while self.position < self.bytes.len() {
            if self.peek(0) == Some(b'/') && self.peek(1) == Some(b'*') {
                depth += 1;
                self.advance(2);
            } else if self.peek(0) == Some(b'*') && self.peek(1) == Some(b'/') {
                depth -= 1;
                self.advance(2);
                if depth == 0 {
                    return;
                }
            } else {
                self.advance(1);
            }
        }
    }

    /// Skips a quoted string or identifier; a doubled quote stands for itself, and in `E'...'`
    /// strings a backslash escapes the next character.
    fn skip_quoted(&mut self, quote: u8, backslash_escapes: bool) {
        self.advance(1);
        while let Some(byte) = self.peek(0) {
            if backslash_escapes && byte == b'\\' {
                self.advance(2);
            } else if byte == quote {
                if self.peek(1) == Some(quote) {
                    self.advance(2);
                } else {
                    self.advance(1);
                    return;
                }
            } else {
                self.advance(1);
            }
        }
    }

    /// Skips `$tag$ ... $tag$` and returns true, or returns false when the `$` does not open a
    /// dollar quote (a `$1` parameter, say).
    fn skip_dollar_quoted(&mut self) -> bool {
        let rest = &self.bytes[self.position + 1..];
        let tag_length = rest.iter().take_while(|&&byte| byte != b'$').count();
        if tag_length == rest.len() {
            return false;
        }
        let tag = &rest[..tag_length];
        let valid_tag = tag.first().is_none_or(|&first| is_identifier_start(first))
            && tag
                .iter()
                .all(|&byte| is_identifier_character(byte) && byte != b'$');
        if !valid_tag {
            return false;
        }
        let delimiter_length = tag_length + 2;
        let delimiter = &self.bytes[self.position..self.position + delimiter_length];
        let body_start = self.position + delimiter_length;
        let closing = self.bytes[body_start..]
            .windows(delimiter_length)
            .position(|window| window == delimiter);
        match closing {
            Some(offset) => self.advance(delimiter_length + offset + delimiter_length),
            // An unterminated quote runs to the end, as in psql; Postgres will report it.
            None => self.advance(self.bytes.len() - self.position),
        }
        true
    }

    fn read_word(&mut self) {
        let start = self.position;
        while self.peek(0).is_some_and(is_identifier_character) {
            self.advance(1);
        }
        let word = self.script[start..self.position].to_ascii_lowercase();
        if self.parentheses > 0 {
            return;
        }
        if self.leading_words.len() < 4 {
            self.leading_words.push(word.clone());
        }
        if !self.is_routine_definition() {
            return;
        }
        match word.as_str() {
            "begin" => self.begin_depth += 1,
            "case" if self.begin_depth > 0 => self.begin_depth += 1,
            "end" if self.begin_depth > 0 => self.begin_depth -= 1,
            _ => {}
        }
    }

    /// Whether the statement is `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, whose SQL-standard
    /// body (`BEGIN ATOMIC ... END`) may hold semicolons.
    fn is_routine_definition(&self) -> bool {
        let words: Vec<&str> = self.leading_words.iter().map(String::as_str).collect();
        matches!(
            words.as_slice(),
            ["create", "function" | "procedure", ..]
                | ["create", "or", "replace", "function" | "procedure", ..]
        )
    }

    fn previous_is_identifier_character(&self) -> bool {
        self.position > 0 && is_identifier_character(self.bytes[self.position - 1])
    }

    /// `E'...'` (or `e'...'`) starts a string with backslash escapes, unless the `E` is the end
    /// of a longer word.
    fn previous_is_escape_prefix(&self) -> bool {
        if self.position == 0 || !matches!(self.bytes[self.position - 1], b'e' | b'E') {
            return false;
        }
        self.position == 1 || !is_identifier_character(self.bytes[self.position - 2])
    }
}

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_identifier_character(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts_and_lines(script: &str) -> Vec<(&str, usize)> {
        split_statements(script)
            .into_iter()
            .map(|statement| (statement.text, statement.line))
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_and_keeps_starting_lines() {
        let script = "-- schema\ncreate table a (x int);\n\n  insert into a values (1);\ninsert into a\n values (2)";
        assert_eq!(
            texts_and_lines(script),
            vec![
                ("create table a (x int);", 2),
                ("insert into a values (1);", 4),
                ("insert into a\n values (2)", 5),
            ]
        );
    }

    #[test]
    fn semicolons_inside_quotes_and_comments_do_not_split() {
        let script = concat!(
            "select 'a;b', \"c;d\", E'it\\'s;', 'x''; y' /* a; /* nested; */ b; */ ;\n",
            "select 1 -- trailing; comment\n;\n",
            "select $1, a$b from t;\n",
        );
        let statements = texts_and_lines(script);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert_eq!(statements[1], ("select 1 -- trailing; comment\n;", 2));
        assert_eq!(statements[2].1, 4);
    }

    #[test]
    fn dollar_quoted_bodies_stay_whole() {
        let script = "create function f() returns int language plpgsql as $body$\nbegin\n  return 1;\nend;\n$body$;\nselect f();\ndo $$ begin perform 1; end $$;";
        let statements = texts_and_lines(script);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(statements[0].0.ends_with("$body$;"));
        assert_eq!(statements[1], ("select f();", 6));
        assert_eq!(statements[2].1, 7);
    }

    #[test]
    fn begin_atomic_bodies_stay_whole() {
        let script = "create or replace function g() returns int language sql\nbegin atomic\n  select case when true then 1 end;\n  select 2;\nend;\nselect g();";
        let statements = texts_and_lines(script);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[1], ("select g();", 6));
    }

    #[test]
    fn transaction_blocks_split_normally() {
        let statements = texts_and_lines("begin;\ninsert into a values (1);\ncommit;");
        assert_eq!(statements.len(), 3);
        assert_eq!(split_statements("BEGIN;")[0].first_word(), "begin");
    }

    #[test]
    fn comment_only_script_has_no_statements() {
        assert!(split_statements("-- nothing\n/* here */\n  \n").is_empty());
    }

    #[test]
    fn positions_map_to_file_lines() {
        let statements = split_statements("\n\nselect 1,\n  selec 2;");
        let position = statements[0]
            .text
            .find("selec 2")
            .map_or(0, |offset| offset + 1);
        assert_eq!(statements[0].line_of_position(position), 4);
        assert_eq!(statements[0].line_of_position(1), 3);
    }
}
