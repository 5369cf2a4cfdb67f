//! SQL assertion templates: `{{ticket_id}}` placeholders in a query, split from the SQL around
//! them. The spec checks the syntax when it loads; the grader fills the placeholders in, each as
//! a SQL literal, so an issue's text can never become SQL.

use serde::Serialize;

/// One piece of a template, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TemplatePart<'a> {
    /// SQL as written.
    Text(&'a str),
    /// A placeholder's field path: `ticket_id`, or `expected.category` for a nested value.
    Field(&'a str),
}

/// Why a template cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Byte offset of the offending `{{` in the template.
    pub offset: usize,
    pub message: String,
}

/// Splits `template` into text and placeholders.
///
/// `{{` opens a placeholder only when a name follows (after optional spaces), since SQL has `{{`
/// of its own in array literals such as `'{{1,2},{3,4}}'`; a started placeholder must then be
/// a dotted name closed by `}}`.
///
/// # Errors
///
/// A [`TemplateError`] for a placeholder that is not closed or does not hold a plain name.
pub fn parse_template(template: &str) -> Result<Vec<TemplatePart<'_>>, TemplateError> {
    let mut parts = Vec::new();
    let mut text_start = 0;
    let mut search_from = 0;
    while let Some(found) = template[search_from..].find("{{") {
        let open = search_from + found;
        let inner_start = open + 2;
        let after_open = &template[inner_start..];
        let name_start = inner_start + (after_open.len() - after_open.trim_start().len());
        let starts_name = template[name_start..]
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
        if !starts_name {
            search_from = inner_start;
            continue;
        }
        let Some(close) = template[name_start..]
            .find("}}")
            .map(|end| name_start + end)
        else {
            return Err(TemplateError {
                offset: open,
                message: format!("unclosed placeholder `{}`", excerpt(&template[open..])),
            });
        };
        let name = template[name_start..close].trim_end();
        if !is_field_path(name) {
            return Err(TemplateError {
                offset: open,
                message: format!("invalid placeholder `{}`", &template[open..close + 2]),
            });
        }
        if open > text_start {
            parts.push(TemplatePart::Text(&template[text_start..open]));
        }
        parts.push(TemplatePart::Field(name));
        text_start = close + 2;
        search_from = text_start;
    }
    if text_start < template.len() {
        parts.push(TemplatePart::Text(&template[text_start..]));
    }
    Ok(parts)
}

/// `name` or `name.name…`, each a letter or `_` then letters, digits or `_`.
pub(crate) fn is_field_path(path: &str) -> bool {
    path.split('.').all(|segment| {
        let mut characters = segment.chars();
        characters
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
            && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
    })
}

/// The start of an unclosed placeholder, short enough for a message.
fn excerpt(rest: &str) -> String {
    let line = rest.lines().next().unwrap_or(rest);
    let shortened: String = line.chars().take(24).collect();
    if shortened.len() < line.len() {
        format!("{shortened}…")
    } else {
        shortened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_split_from_the_text() {
        assert_eq!(
            parse_template("SELECT {{ticket_id}} = id AND x = {{ expected.category }}"),
            Ok(vec![
                TemplatePart::Text("SELECT "),
                TemplatePart::Field("ticket_id"),
                TemplatePart::Text(" = id AND x = "),
                TemplatePart::Field("expected.category"),
            ])
        );
        assert_eq!(parse_template(""), Ok(vec![]));
        assert_eq!(
            parse_template("{{a}}{{b}}"),
            Ok(vec![TemplatePart::Field("a"), TemplatePart::Field("b")])
        );
    }

    #[test]
    fn array_literals_stay_text() {
        let query = "SELECT '{{1,2},{3,4}}'::int[] IS NOT NULL";
        assert_eq!(parse_template(query), Ok(vec![TemplatePart::Text(query)]));
    }

    #[test]
    fn broken_placeholders_are_errors() {
        let unclosed = parse_template("SELECT {{ticket_id").map(|_| ());
        assert_eq!(
            unclosed,
            Err(TemplateError {
                offset: 7,
                message: "unclosed placeholder `{{ticket_id`".to_owned()
            })
        );
        let spaced = parse_template("x = {{ticket id}}").map(|_| ());
        assert_eq!(
            spaced.map_err(|error| error.message),
            Err("invalid placeholder `{{ticket id}}`".to_owned())
        );
        assert!(parse_template("{{a..b}}").is_err());
    }
}
