//! `SqlAssertion`: one query under `grading.sql`, run on the database after the agent
//! ended; it passes when it returns a single true or non-zero value.

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::Node;
use crate::quoted_placeholder::{QuotedPlaceholder, quoted_placeholders};
use crate::{TemplateError, TemplatePart, parse_template};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlAssertion {
    /// What the assertion checks, in words; unique within the spec.
    pub name: String,
    /// SQL with `{{field}}` placeholders for the fields.
    pub query: String,
    /// The line of the assertion in the spec, for messages about it later.
    pub line: usize,
}

impl SqlAssertion {
    /// The query split into SQL text and placeholders.
    ///
    /// # Errors
    ///
    /// A [`TemplateError`] only for an assertion built by hand: the spec's were checked when it
    /// loaded.
    pub fn template_parts(&self) -> Result<Vec<TemplatePart<'_>>, TemplateError> {
        parse_template(&self.query)
    }

    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        index: usize,
    ) -> Option<SqlAssertion> {
        let label = format!("grading.sql[{index}]");
        let fields = decoder.mapping(
            node,
            node.position,
            &format!("`{label}`"),
            keys::SQL_ASSERTION,
        )?;
        decoder.require(&fields, keys::SQL_ASSERTION_REQUIRED);
        let name = fields
            .get("name")
            .and_then(|field| decoder.non_empty_string(field.value, &format!("{label}.name")));
        let query = fields.get("query").and_then(|field| {
            let name = format!("{label}.query");
            let query = decoder.non_empty_string(field.value, &name)?;
            if let Err(error) = parse_template(&query) {
                decoder.report_with_help(
                    field.value.position,
                    format!("{} in `{name}`", error.message),
                    Some("a placeholder names one of the issue's fields, e.g. `{{ticket_id}}` or `{{expected.category}}`"),
                );
                return None;
            }
            let quoted = quoted_placeholders(&query);
            for placeholder in &quoted {
                report_quoted_placeholder(decoder, field.value, &name, placeholder);
            }
            quoted.is_empty().then_some(query)
        });
        Some(SqlAssertion {
            name: name?,
            query: query?,
            line: node.position.line,
        })
    }
}

/// A placeholder inside quotes, reported where it is written in the query (at the query when
/// the spec's text spells it otherwise, with escapes).
fn report_quoted_placeholder(
    decoder: &mut Decoder<'_>,
    query: &Node,
    name: &str,
    placeholder: &QuotedPlaceholder<'_>,
) {
    let position = decoder
        .locate_text(query.position, placeholder.written, placeholder.occurrence)
        .unwrap_or(query.position);
    let written = placeholder.written;
    let field = placeholder.field;
    let (message, help) = match (placeholder.quote, placeholder.alone) {
        ('"', _) => (
            format!("placeholder `{written}` is inside double quotes in `{name}`"),
            format!(
                "a placeholder is filled in as a quoted SQL literal (`'T-1'`), never as a name; \
                 compare a column with it instead, e.g. `WHERE id = {{{{{field}}}}}`"
            ),
        ),
        (_, true) => (
            format!("placeholder `{written}` is inside quotes in `{name}`"),
            format!(
                "a placeholder is filled in as a quoted SQL literal already: `{written}` becomes \
                 `'T-1'`, so `'{written}'` becomes `''T-1''`; write `{written}` without the \
                 quotes around it"
            ),
        ),
        (_, false) => (
            format!("placeholder `{written}` is inside a quoted string in `{name}`"),
            format!(
                "a placeholder is filled in as a quoted SQL literal of its own (`'T-1'`), not \
                 as text inside a string; join it with `||`, e.g. `'%' || {{{{{field}}}}} || '%'`"
            ),
        ),
    };
    decoder.report_with_help(position, message, Some(help));
}
