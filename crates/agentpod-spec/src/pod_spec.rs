//! The decoded pod spec and the decoding of its top level.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::Node;
use crate::{
    AgentSpec, BoundarySpec, BudgetsSpec, CustomerSpec, DatabaseSpec, GateSpec, GradingSpec,
    IssuesSpec, JudgeSpec, ModelSpec, ProductionSpec, ToolsSpec,
};

/// More parallel pods than this would starve a single machine; the cap can grow with the
/// Kubernetes runtime.
const MAXIMUM_PODS: i64 = 64;

/// A validated pod spec; every path in it is resolved against the spec's directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodSpec {
    pub name: String,
    pub description: Option<String>,
    /// The spec file, as given to [`crate::load`].
    pub path: PathBuf,
    pub database: DatabaseSpec,
    pub agent: AgentSpec,
    pub issues: IssuesSpec,
    /// How many pods serve the run in parallel.
    pub pods: usize,
    /// What the agent may write, propose, read or not see; `None` when the spec declares no
    /// boundary, and every table is writable.
    pub boundary: Option<BoundarySpec>,
    /// Where the LLM gateway sends model calls; `None` when the spec names no model, and the
    /// agent gets no LLM gateway.
    pub model: Option<ModelSpec>,
    /// Per-issue limits; every one is unlimited when the section is absent.
    pub budgets: BudgetsSpec,
    /// What the tool gateway serves besides its built-in database tools.
    pub tools: ToolsSpec,
    /// How each issue is judged; the defaults compare expected fields for equality and fail
    /// issues with boundary violations or budget stops.
    pub grading: GradingSpec,
    /// The LLM-as-judge grader; `None` when the spec has no `judge` section.
    pub judge: Option<JudgeSpec>,
    /// The model behind simulated customers, and their turn limit.
    pub customer: CustomerSpec,
    /// The production profile a run is projected to; `None` when the spec gives none, and the
    /// report shows no projection.
    pub production: Option<ProductionSpec>,
    /// The thresholds `--gate` checks; every one is unchecked when the section is absent.
    pub gate: GateSpec,
}

impl PodSpec {
    pub(crate) fn decode(decoder: &mut Decoder<'_>, root: &Node, path: &Path) -> Option<PodSpec> {
        let fields = decoder.mapping(root, root.position, "the pod spec", keys::TOP_LEVEL)?;
        decoder.require(&fields, keys::TOP_LEVEL_REQUIRED);

        let name = fields
            .get("name")
            .and_then(|field| decode_name(decoder, field.value));
        let description = decoder.optional(&fields, "description", |decoder, node| {
            decoder.string(node, "description")
        });
        let database = fields
            .get("database")
            .and_then(|field| DatabaseSpec::decode(decoder, field.value, field.key_position));
        let agent = fields
            .get("agent")
            .and_then(|field| AgentSpec::decode(decoder, field.value, field.key_position));
        let issues = fields
            .get("issues")
            .and_then(|field| IssuesSpec::decode(decoder, field.value, field.key_position));
        let pods = decoder.optional(&fields, "pods", |decoder, node| {
            decoder
                .integer_in_range(node, "pods", 1, MAXIMUM_PODS)
                .and_then(|pods| usize::try_from(pods).ok())
        });
        let boundary = decoder.optional(&fields, "boundary", |decoder, node| {
            let owner = fields
                .get("boundary")
                .map_or(node.position, |field| field.key_position);
            BoundarySpec::decode(decoder, node, owner)
        });
        let model = fields
            .get("model")
            .map(|field| ModelSpec::decode(decoder, field.value, field.key_position));
        let budgets = fields
            .get("budgets")
            .map(|field| BudgetsSpec::decode(decoder, field.value, field.key_position));
        let tools = fields
            .get("tools")
            .map(|field| ToolsSpec::decode(decoder, field.value, field.key_position));
        let grading = fields
            .get("grading")
            .map(|field| GradingSpec::decode(decoder, field.value, field.key_position));
        let judge = fields
            .get("judge")
            .map(|field| JudgeSpec::decode(decoder, field.value, field.key_position));
        let customer = fields
            .get("customer")
            .map(|field| CustomerSpec::decode(decoder, field.value, field.key_position));
        let production = fields
            .get("production")
            .map(|field| ProductionSpec::decode(decoder, field.value, field.key_position));
        let gate = fields
            .get("gate")
            .map(|field| GateSpec::decode(decoder, field.value, field.key_position));

        let model = model.map_or(Some(None), |model| model.map(Some))?;
        let judge = judge.map_or(Some(None), |judge| judge.map(Some))?;
        let customer = customer.unwrap_or(Some(CustomerSpec::default()))?;
        let position = |key: &str| {
            fields
                .get(key)
                .map_or(root.position, |field| field.key_position)
        };
        crate::side_models_spec::check_gateways(
            decoder,
            model.as_ref(),
            &[
                (
                    "judge",
                    position("judge"),
                    judge.as_ref().map(|judge| &judge.side_model),
                ),
                (
                    "customer",
                    position("customer"),
                    customer.side_model.as_ref(),
                ),
            ],
        )?;
        Some(PodSpec {
            name: name?,
            description: description?,
            path: path.to_path_buf(),
            database: database?,
            agent: agent?,
            issues: issues?,
            pods: pods?.unwrap_or(1),
            boundary: boundary?,
            model,
            budgets: budgets.unwrap_or(Some(BudgetsSpec::default()))?,
            tools: tools.unwrap_or(Some(ToolsSpec::default()))?,
            grading: grading.unwrap_or(Some(GradingSpec::default()))?,
            judge,
            customer,
            production: production.map_or(Some(None), |production| production.map(Some))?,
            gate: gate.unwrap_or(Some(GateSpec::default()))?,
        })
    }
}

/// Names end up in run ids, container labels and database names, so they are kept to a
/// lowercase slug.
fn decode_name(decoder: &mut Decoder<'_>, node: &Node) -> Option<String> {
    let name = decoder.non_empty_string(node, "name")?;
    if is_slug(&name) {
        return Some(name);
    }
    let slug = slugify(&name);
    let help = if slug.is_empty() {
        "use lowercase letters, digits and `-`, starting with a letter or digit".to_owned()
    } else {
        format!("use lowercase letters, digits and `-`, e.g. `{slug}`")
    };
    decoder.report_with_help(node.position, format!("invalid name `{name}`"), Some(help));
    None
}

fn is_slug(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
        && characters.all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for character in name.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words() {
        assert!(is_slug("support-triage"));
        assert!(is_slug("0day"));
        assert!(!is_slug("-leading"));
        assert!(!is_slug("Support"));
        assert!(!is_slug("a_b"));
        assert!(!is_slug(""));
    }

    #[test]
    fn slugify_suggests_a_valid_name() {
        assert_eq!(slugify("Support Triage!"), "support-triage");
        assert_eq!(slugify("__x__y"), "x-y");
        assert!(is_slug(&slugify("Support Triage!")));
        assert_eq!(slugify("!!!"), "");
    }
}
