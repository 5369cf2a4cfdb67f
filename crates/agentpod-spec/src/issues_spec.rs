//! The `issues` section: where the issues come from and how they are sampled.

use std::path::PathBuf;

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, Position};

/// The most trials per issue a spec may ask for: beyond this, a typo rather than a plan.
pub const MAX_TRIALS: i64 = 100;

/// The formats the issues crate reads, by file extension.
const SOURCE_EXTENSIONS: &[&str] = &["jsonl", "csv"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuesSpec {
    /// A `.jsonl` or `.csv` file, resolved against the spec's directory.
    pub source: PathBuf,
    /// How many issues to sample; `None` runs every issue.
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
        let sample = decoder.optional(&fields, "sample", |decoder, node| {
            let sample = decoder.integer(node, "issues.sample")?;
            if sample < 1 {
                decoder.report_with_help(
                    node.position,
                    format!("`issues.sample` must be at least 1, found {sample}"),
                    Some("leave out `sample` to run every issue"),
                );
                return None;
            }
            usize::try_from(sample).ok()
        });
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
        Some(IssuesSpec {
            source: source?,
            sample: sample?,
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
