//! `SqlAssertion`: one query under `grading.sql`, run on the database after the agent
//! ended; it passes when it returns a single true or non-zero value.

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::Node;
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
            Some(query)
        });
        Some(SqlAssertion {
            name: name?,
            query: query?,
            line: node.position.line,
        })
    }
}
