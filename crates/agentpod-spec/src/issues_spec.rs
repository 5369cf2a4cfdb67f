//! The `issues` section: where the issues come from, how their columns map to an issue (the
//! id, the answer, what the agent sees), and how they are sampled.

use std::path::PathBuf;

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, NodeValue, Position, ScalarValue};

/// The most trials per issue a spec may ask for: beyond this, a typo rather than a plan.
pub const MAX_TRIALS: i64 = 100;

/// The formats the issues crate reads, by file extension.
const SOURCE_EXTENSIONS: &[&str] = &["jsonl", "csv"];

/// `issues.id: row`: the record's position is its id.
const ROW_ID: &str = "row";

/// Where each issue's id comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueIdSource {
    /// A column (CSV) or top-level key (JSON lines).
    Field(String),
    /// The record's 1-based position in the file (`issues.id: row`).
    Row,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuesSpec {
    /// A `.jsonl` or `.csv` file, resolved against the spec's directory.
    pub source: PathBuf,
    /// The id column or key (default `id`), or the row number.
    pub id: Option<IssueIdSource>,
    /// Columns or keys that are the answer: they join the issue's `expected` part and are never
    /// given to the agent. Empty: only the file's own `expected.<field>` columns or `expected`.
    pub expected: Vec<String>,
    /// The columns or keys the agent gets; `None`: every one not used as the id or the answer.
    pub fields: Option<Vec<String>>,
    /// How many issues to sample; `None` (or `sample: all`) runs every issue.
    pub sample: Option<usize>,
    /// Seeds the sampler, so the same spec samples the same issues.
    pub seed: u64,
    /// The issue field whose values are sampled in proportion.
    pub stratify_by: Option<String>,
    /// How many times each sampled issue runs, each time in a fresh database; the report then
    /// gives pass^k (the share of issues passed in every trial) beside the pass rate.
    pub trials: u32,
}

impl IssuesSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<IssuesSpec> {
        let fields = decoder.mapping(node, owner, "`issues`", keys::ISSUES)?;
        decoder.require(&fields, keys::ISSUES_REQUIRED);
        let source = fields
            .get("source")
            .and_then(|field| decode_source(decoder, field.value));
        let id = decoder.optional(&fields, "id", |decoder, node| {
            let id = decoder.non_empty_string(node, "issues.id")?;
            Some(match id == ROW_ID {
                true => IssueIdSource::Row,
                false => IssueIdSource::Field(id),
            })
        });
        let expected = decoder.optional(&fields, "expected", |decoder, node| {
            names(decoder, node, "issues.expected")
        });
        let agent_fields = decoder.optional(&fields, "fields", |decoder, node| {
            names(decoder, node, "issues.fields")
        });
        let sample = decoder.optional(&fields, "sample", decode_sample);
        let seed = decoder.optional(&fields, "seed", |decoder, node| {
            decoder
                .integer_in_range(node, "issues.seed", 0, i64::MAX)
                .and_then(|seed| u64::try_from(seed).ok())
        });
        let stratify_by = decoder.optional(&fields, "stratify_by", |decoder, node| {
            decoder.non_empty_string(node, "issues.stratify_by")
        });
        let trials = decoder.optional(&fields, "trials", |decoder, node| {
            let trials = decoder.integer(node, "issues.trials")?;
            if !(1..=MAX_TRIALS).contains(&trials) {
                decoder.report_with_help(
                    node.position,
                    format!("`issues.trials` must be from 1 to {MAX_TRIALS}, found {trials}"),
                    Some("each issue runs this many times; 1 (the default) runs it once"),
                );
                return None;
            }
            u32::try_from(trials).ok()
        });
        let (id, expected, agent_fields) = (id?, expected?.unwrap_or_default(), agent_fields?);
        check_roles(decoder, id.as_ref(), &expected, agent_fields.as_deref())?;
        let without_positions =
            |names: Vec<(String, Position)>| names.into_iter().map(|(name, _)| name).collect();
        Some(IssuesSpec {
            source: source?,
            id,
            expected: without_positions(expected),
            fields: agent_fields.map(without_positions),
            sample: sample?.flatten(),
            seed: seed?.unwrap_or(0),
            stratify_by: stratify_by?,
            trials: trials?.unwrap_or(1),
        })
    }
}

fn decode_source(decoder: &mut Decoder<'_>, node: &Node) -> Option<PathBuf> {
    let source = decoder.path(node, "issues.source")?;
    let extension = source.extension().and_then(|extension| extension.to_str());
    if !extension.is_some_and(|extension| SOURCE_EXTENSIONS.contains(&extension)) {
        decoder.report_with_help(
            node.position,
            format!("unsupported issues file: {}", source.display()),
            Some("issues are read from a `.jsonl` or a `.csv` file"),
        );
        return None;
    }
    decoder.existing_file(node, source, "issues file")
}

/// `sample: N` (at least 1), or `sample: all` for every issue (`Some(None)`).
fn decode_sample(decoder: &mut Decoder<'_>, node: &Node) -> Option<Option<usize>> {
    match node.scalar() {
        Some(ScalarValue::String(text)) if text.eq_ignore_ascii_case("all") => return Some(None),
        Some(ScalarValue::Integer(_)) => {}
        _ => {
            decoder.report_with_help(
                node.position,
                format!(
                    "expected a number of issues or `all` for `issues.sample`, found {}",
                    node.kind_name()
                ),
                Some("write `sample: 50`, or `sample: all` to run every issue"),
            );
            return None;
        }
    }
    let sample = decoder.integer(node, "issues.sample")?;
    if sample < 1 {
        decoder.report_with_help(
            node.position,
            format!("`issues.sample` must be at least 1, found {sample}"),
            Some("write `sample: all` (or leave out `sample`) to run every issue"),
        );
        return None;
    }
    usize::try_from(sample).ok().map(Some)
}

/// One column name or a list of them, each non-empty and named once, with where each is written.
fn names(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<Vec<(String, Position)>> {
    if !matches!(node.value, NodeValue::Sequence(_)) {
        return decoder
            .non_empty_string(node, name)
            .map(|single| vec![(single, node.position)]);
    }
    let items = decoder.sequence(node, name)?;
    let mut names: Vec<(String, Position)> = Vec::with_capacity(items.len());
    let mut valid = true;
    for item in items {
        match decoder.non_empty_string(item, name) {
            // Reported, yet the list goes on to be checked: the load fails either way.
            Some(text) if names.iter().any(|(known, _)| *known == text) => {
                decoder.report(item.position, format!("`{name}` names `{text}` twice"));
            }
            Some(text) => names.push((text, item.position)),
            None => valid = false,
        }
    }
    if names.is_empty() && valid {
        decoder.report(node.position, format!("`{name}` is an empty list"));
        return None;
    }
    valid.then_some(names)
}

/// A column is the id, the answer or the agent's, never two of these: an answer column the agent
/// also got would be handed the answer.
fn check_roles(
    decoder: &mut Decoder<'_>,
    id: Option<&IssueIdSource>,
    expected: &[(String, Position)],
    agent_fields: Option<&[(String, Position)]>,
) -> Option<()> {
    let mut valid = true;
    let id_name = match id {
        Some(IssueIdSource::Field(name)) => Some(name.as_str()),
        Some(IssueIdSource::Row) => None,
        None => Some("id"),
    };
    for (name, position) in expected {
        if Some(name.as_str()) == id_name {
            decoder.report_with_help(
                *position,
                format!("`issues.expected` names `{name}`, which is the issues' id"),
                Some("the id is given to the agent; name the answer's own column"),
            );
            valid = false;
        }
    }
    for (name, position) in agent_fields.unwrap_or_default() {
        if expected.iter().any(|(answer, _)| answer == name) {
            decoder.report_with_help(
                *position,
                format!("`issues.fields` names `{name}`, which `issues.expected` names as the answer"),
                Some("a column is either the answer or given to the agent, not both: the agent would be handed the answer"),
            );
            valid = false;
        } else if Some(name.as_str()) == id_name {
            decoder.report_with_help(
                *position,
                format!("`issues.fields` names `{name}`, which is the issues' id"),
                Some("the agent always gets the issue's id, as `id`; leave it out of `fields`"),
            );
            valid = false;
        } else if name == "id" && id_name != Some("id") {
            // The agent's `id` is the issue's id (the row number, or the mapped column): a
            // column of the file named `id` would be silently replaced.
            decoder.report_with_help(
                *position,
                "`issues.fields` names `id`, but the agent's `id` is the issue's id (`issues.id`)"
                    .to_string(),
                Some("rename the column, or make it the id with `issues.id: id`"),
            );
            valid = false;
        }
    }
    valid.then_some(())
}
