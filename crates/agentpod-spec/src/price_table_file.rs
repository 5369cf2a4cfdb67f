//! Price tables: the YAML file `model.prices` names, of the form
//! `models: { NAME: { input: 2.5, cached_input: 1.25, output: 10, cache_write_input: 3 } }`
//! (USD per million tokens). Read with the spec's own YAML front end and decoder, so its
//! problems read like the spec's: every one at once, file, line and column, the token
//! underlined, the nearest key suggested.

use std::path::Path;

use serde::Serialize;

use crate::decoder::Decoder;
use crate::diagnostic::Diagnostic;
use crate::load::decode_file;
use crate::node::{Node, Position};
use crate::spec_error::SpecError;

/// Larger price tables are refused before they are read: a table is a page of models.
const MAX_PRICE_TABLE_BYTES: u64 = 1024 * 1024;

const PRICE_FIELDS: &[&str] = &["input", "cached_input", "output", "cache_write_input"];

const PRICE_HELP: &str = "prices are USD per million tokens, e.g. `input: 2.5`";

/// One model's price from a price table file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelPriceEntry {
    pub model: String,
    pub input: f64,
    /// `None`: the same as `input`.
    pub cached_input: Option<f64>,
    pub output: f64,
    /// `None`: the same as `input`.
    pub cache_write_input: Option<f64>,
}

/// Reads and validates the price table at `path`, reporting every problem at once.
///
/// # Errors
///
/// A [`SpecError`] holding every problem: the file cannot be read, is not valid YAML, or does not
/// describe prices.
pub fn load_price_table(path: &Path) -> Result<Vec<ModelPriceEntry>, SpecError> {
    let single = |message: String| SpecError {
        diagnostics: vec![Diagnostic::new(path, 0, 0, message)],
    };
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.len() > MAX_PRICE_TABLE_BYTES
    {
        return Err(single(format!(
            "price table is {:.1} MiB (limit {} KiB) — is this the right file?",
            metadata.len() as f64 / (1024.0 * 1024.0),
            MAX_PRICE_TABLE_BYTES / 1024
        )));
    }
    let source = std::fs::read_to_string(path)
        .map_err(|error| single(format!("cannot read price table: {error}")))?;
    price_table_from_source(path, &source)
}

/// [`load_price_table`] without the reading.
pub fn price_table_from_source(
    path: &Path,
    source: &str,
) -> Result<Vec<ModelPriceEntry>, SpecError> {
    decode_file(
        path,
        source,
        "price table",
        "a price table is `models: { NAME: { input: 2.5, output: 10 } }`",
        decode_price_table,
    )
}

fn decode_price_table(decoder: &mut Decoder<'_>, root: &Node) -> Option<Vec<ModelPriceEntry>> {
    let fields = decoder.mapping(root, Position::START, "the price table", &["models"])?;
    decoder.require(&fields, &["models"]);
    let models_field = fields.get("models")?;
    let models = decoder.open_mapping(models_field.value, models_field.key_position, "`models`")?;
    let mut entries = Vec::new();
    let mut complete = true;
    for model in models.iter() {
        match decode_model_price(decoder, model.key, model.key_position, model.value) {
            Some(entry) => entries.push(entry),
            None => complete = false,
        }
    }
    complete.then_some(entries)
}

fn decode_model_price(
    decoder: &mut Decoder<'_>,
    model: &str,
    owner: Position,
    node: &Node,
) -> Option<ModelPriceEntry> {
    let label = format!("`models.{model}`");
    let fields = decoder.mapping(node, owner, &label, PRICE_FIELDS)?;
    decoder.require(&fields, &["input", "output"]);
    let mut price = |key: &str| {
        decoder.optional(&fields, key, |decoder, node| {
            decoder.non_negative_number(node, &format!("models.{model}.{key}"), PRICE_HELP, true)
        })
    };
    let (input, cached_input, output, cache_write_input) = (
        price("input"),
        price("cached_input"),
        price("output"),
        price("cache_write_input"),
    );
    Some(ModelPriceEntry {
        model: model.to_owned(),
        input: input??,
        cached_input: cached_input?,
        output: output??,
        cache_write_input: cache_write_input?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_field() {
        let entries = price_table_from_source(
            Path::new("prices.yaml"),
            "models:\n  gpt-4o:\n    input: 1\n    output: 2\n  local-llama:\n    input: 0.1\n    cached_input: 0.05\n    output: 0.2\n    cache_write_input: 0.3\n",
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].model, "gpt-4o");
        assert_eq!((entries[0].input, entries[0].output), (1.0, 2.0));
        assert_eq!(entries[0].cached_input, None);
        assert_eq!(entries[1].cached_input, Some(0.05));
        assert_eq!(entries[1].cache_write_input, Some(0.3));
    }

    #[test]
    fn every_problem_is_reported_at_its_token() {
        let error = price_table_from_source(
            Path::new("prices.yaml"),
            "models:\n  a:\n    input: 1\n    outptu: 2\n  b:\n    input: -1\n    output: lots\n",
        )
        .unwrap_err();
        let rendered = error.to_string();
        assert!(rendered.contains("prices.yaml:4:5"), "{rendered}");
        assert!(rendered.contains("did you mean `output`?"), "{rendered}");
        assert!(
            rendered.contains("missing required key `output` in `models.a`"),
            "{rendered}"
        );
        assert!(rendered.contains("prices.yaml:6:12"), "{rendered}");
        assert!(rendered.contains("prices.yaml:7:13"), "{rendered}");
        assert!(
            rendered.contains("^^^^"),
            "the token is underlined: {rendered}"
        );
        let syntax = price_table_from_source(Path::new("prices.yaml"), "models: [\n").unwrap_err();
        assert!(syntax.to_string().contains("invalid YAML"), "{syntax}");
    }
}
