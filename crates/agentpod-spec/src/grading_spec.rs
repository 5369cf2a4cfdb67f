//! The `grading` section: how each issue is judged. Expected output fields with a matcher each,
//! SQL assertions on the final database, the final state against the gold actions' state, no
//! boundary violations, and the per-issue budgets.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decoder::Decoder;
use crate::identifier::{is_identifier, is_table_name};
use crate::keys;
use crate::node::{Node, Position};
use crate::{FieldMatcher, GoldActionErrors, SqlAssertion, ToolCallsSpec};

const IGNORED_COLUMN_HELP: &str =
    "write `table.column` or `schema.table.column`, e.g. `ticket_notes.created_at`";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradingSpec {
    /// Matchers by expected field; a field the issue expects and this map leaves out is compared
    /// with [`FieldMatcher::Equal`].
    pub fields: BTreeMap<String, FieldMatcher>,
    /// In the order written.
    pub sql: Vec<SqlAssertion>,
    /// Compare the final database with the state the issue's `gold_actions` reach.
    pub gold_actions: bool,
    /// What a failing gold action does: `skip` (default) or `fail`.
    pub gold_action_errors: GoldActionErrors,
    /// Columns left out of the state comparison, as written: `table.column` or
    /// `schema.table.column`; for values no two runs share, such as `now()` timestamps.
    pub ignore_columns: Vec<String>,
    /// How an issue's `expected_tool_calls` are held against the calls the agent made.
    pub tool_calls: ToolCallsSpec,
    /// An issue with a boundary violation fails.
    pub no_violations: bool,
    /// An issue stopped by a per-issue budget fails.
    pub budgets: bool,
}

impl Default for GradingSpec {
    fn default() -> GradingSpec {
        GradingSpec {
            fields: BTreeMap::new(),
            sql: Vec::new(),
            gold_actions: false,
            gold_action_errors: GoldActionErrors::Skip,
            ignore_columns: Vec::new(),
            tool_calls: ToolCallsSpec::default(),
            no_violations: true,
            budgets: true,
        }
    }
}

impl GradingSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<GradingSpec> {
        let fields = decoder.mapping(node, owner, "`grading`", keys::GRADING)?;
        let matchers = decoder.optional(&fields, "fields", decode_matchers);
        let sql = decoder.optional(&fields, "sql", decode_assertions);
        let gold_actions = decoder.optional(&fields, "gold_actions", |decoder, node| {
            decoder.boolean(node, "grading.gold_actions")
        });
        let gold_action_errors =
            decoder.optional(&fields, "gold_action_errors", GoldActionErrors::decode);
        let ignore_columns = decoder.optional(&fields, "ignore_columns", decode_ignored_columns);
        let tool_calls = decoder.optional(&fields, "tool_calls", ToolCallsSpec::decode);
        let no_violations = decoder.optional(&fields, "no_violations", |decoder, node| {
            decoder.boolean(node, "grading.no_violations")
        });
        let budgets = decoder.optional(&fields, "budgets", |decoder, node| {
            decoder.boolean(node, "grading.budgets")
        });
        let gold_actions = gold_actions?.unwrap_or(false);
        if let (false, Some(field)) = (gold_actions, fields.get("ignore_columns")) {
            decoder.report_with_help(
                field.key_position,
                "`grading.ignore_columns` has no use without `gold_actions: true`",
                Some("the columns are left out of the comparison with the gold actions' state; set `gold_actions: true` or remove them"),
            );
            return None;
        }
        if let (false, Some(field)) = (gold_actions, fields.get("gold_action_errors")) {
            decoder.report_with_help(
                field.key_position,
                "`grading.gold_action_errors` has no use without `gold_actions: true`",
                Some("it says what a failing gold action does; set `gold_actions: true` or remove it"),
            );
            return None;
        }
        let defaults = GradingSpec::default();
        Some(GradingSpec {
            fields: matchers?.unwrap_or_default(),
            sql: sql?.unwrap_or_default(),
            gold_actions,
            gold_action_errors: gold_action_errors?.unwrap_or_default(),
            ignore_columns: ignore_columns?.unwrap_or_default(),
            tool_calls: tool_calls?.unwrap_or_default(),
            no_violations: no_violations?.unwrap_or(defaults.no_violations),
            budgets: budgets?.unwrap_or(defaults.budgets),
        })
    }
}

fn decode_matchers(
    decoder: &mut Decoder<'_>,
    node: &Node,
) -> Option<BTreeMap<String, FieldMatcher>> {
    let fields = decoder.open_mapping(node, node.position, "`grading.fields`")?;
    let mut matchers = BTreeMap::new();
    let mut valid = true;
    for field in fields.iter() {
        let name = format!("grading.fields.{}", field.key);
        match FieldMatcher::decode(decoder, field.value, &name) {
            Some(matcher) => {
                matchers.insert(field.key.to_owned(), matcher);
            }
            None => valid = false,
        }
    }
    valid.then_some(matchers)
}

fn decode_assertions(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<SqlAssertion>> {
    let items = decoder.sequence(node, "grading.sql")?;
    let mut assertions: Vec<SqlAssertion> = Vec::new();
    let mut valid = true;
    for (index, item) in items.iter().enumerate() {
        let Some(assertion) = SqlAssertion::decode(decoder, item, index) else {
            valid = false;
            continue;
        };
        if let Some(first) = assertions.iter().find(|first| first.name == assertion.name) {
            decoder.report_with_help(
                item.position,
                format!("two SQL assertions are named `{}`", assertion.name),
                Some(format!(
                    "the first is on line {}; reports tell assertions apart by name",
                    first.line
                )),
            );
            valid = false;
            continue;
        }
        assertions.push(assertion);
    }
    valid.then_some(assertions)
}

fn decode_ignored_columns(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<String>> {
    let items = decoder.sequence(node, "grading.ignore_columns")?;
    let mut columns: Vec<String> = Vec::new();
    let mut valid = true;
    for (index, item) in items.iter().enumerate() {
        let name = format!("grading.ignore_columns[{index}]");
        let Some(written) = decoder.non_empty_string(item, &name) else {
            valid = false;
            continue;
        };
        let well_formed = written
            .rsplit_once('.')
            .is_some_and(|(table, column)| is_table_name(table) && is_identifier(column));
        if !well_formed {
            decoder.report_with_help(
                item.position,
                format!("invalid column `{written}` in `grading.ignore_columns`"),
                Some(IGNORED_COLUMN_HELP),
            );
            valid = false;
            continue;
        }
        if columns.contains(&written) {
            decoder.report(
                item.position,
                format!("`{written}` is listed twice in `grading.ignore_columns`"),
            );
            valid = false;
            continue;
        }
        columns.push(written);
    }
    valid.then_some(columns)
}
