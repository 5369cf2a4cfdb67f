//! Entry points for the fuzz targets under `tests/fuzz`: the SQL fixture splitter on text. Not
//! part of the crate's interface; hidden from its documentation.

/// One statement the splitter found: its byte offset in the script, its 1-based first line, and
/// its text.
pub struct SplitStatement<'script> {
    pub offset: usize,
    pub line: usize,
    pub text: &'script str,
    /// The line a 1-based character position inside the statement is on (as Postgres reports
    /// an error's position).
    pub line_of_last_character: usize,
}

/// Splits `script` as a SQL fixture is split.
pub fn split_statements(script: &str) -> Vec<SplitStatement<'_>> {
    crate::sql_script::split_statements(script)
        .into_iter()
        .map(|statement| SplitStatement {
            offset: statement.text.as_ptr() as usize - script.as_ptr() as usize,
            line: statement.line,
            text: statement.text,
            line_of_last_character: statement.line_of_position(statement.text.chars().count()),
        })
        .collect()
}
