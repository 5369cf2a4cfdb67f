//! The agent's answer: the JSON object it wrote to its output path.

use std::io::Read;
use std::path::Path;

/// Above this, an answer is not read: no honest answer is that large, and it would be held in
/// memory whole.
pub(crate) const OUTPUT_SIZE_LIMIT: u64 = 16 * 1024 * 1024;

/// What the agent left at its output path.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum AgentOutput {
    /// A JSON object.
    Valid(serde_json::Value),
    /// No file at the output path.
    Missing,
    /// A file that is not a JSON object, or could not be read.
    Malformed { message: String },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OutputError {
    #[error("cannot read output file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("output larger than {limit} bytes ({size} bytes)")]
    TooLarge { limit: u64, size: u64 },
    #[error("output is not valid JSON: {0}")]
    Syntax(serde_json::Error),
    #[error("output is a JSON {found}, expected an object")]
    NotAnObject { found: &'static str },
}

impl AgentOutput {
    /// Reads and checks the answer at `path`.
    pub(crate) fn read(path: &Path) -> AgentOutput {
        match read_object(path, OUTPUT_SIZE_LIMIT) {
            Ok(Some(value)) => AgentOutput::Valid(value),
            Ok(None) => AgentOutput::Missing,
            Err(error) => AgentOutput::Malformed {
                message: error.to_string(),
            },
        }
    }
}

fn read_object(path: &Path, limit: u64) -> Result<Option<serde_json::Value>, OutputError> {
    let read_error = |source| OutputError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(read_error(error)),
    };
    // Read one byte past the limit instead of trusting the size in metadata: the file may be a
    // pipe or still growing.
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        let size = std::fs::metadata(path).map_or(limit + 1, |metadata| metadata.len());
        return Err(OutputError::TooLarge { limit, size });
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(OutputError::Syntax)?;
    let found = match &value {
        serde_json::Value::Object(_) => return Ok(Some(value)),
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
    };
    Err(OutputError::NotAnObject { found })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(contents: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let directory = tempfile::tempdir().expect("create temporary directory");
        let path = directory.path().join("output.json");
        std::fs::write(&path, contents).expect("write output file");
        (directory, path)
    }

    #[test]
    fn an_object_is_valid() {
        let (_directory, path) = write(br#"{"category": "billing"}"#);
        assert_eq!(
            AgentOutput::read(&path),
            AgentOutput::Valid(serde_json::json!({"category": "billing"}))
        );
    }

    #[test]
    fn no_file_is_missing() {
        let directory = tempfile::tempdir().expect("create temporary directory");
        assert_eq!(
            AgentOutput::read(&directory.path().join("absent.json")),
            AgentOutput::Missing
        );
    }

    #[test]
    fn a_syntax_error_names_line_and_column() {
        let (_directory, path) = write(b"{\n  \"category\": billing\n}");
        let AgentOutput::Malformed { message } = AgentOutput::read(&path) else {
            panic!("expected malformed output");
        };
        assert!(message.starts_with("output is not valid JSON"), "{message}");
        assert!(message.contains("line 2 column"), "{message}");
    }

    #[test]
    fn an_array_is_not_an_answer() {
        let (_directory, path) = write(b"[1, 2]");
        assert_eq!(
            AgentOutput::read(&path),
            AgentOutput::Malformed {
                message: "output is a JSON array, expected an object".to_owned()
            }
        );
    }

    #[test]
    fn a_file_over_the_limit_is_not_parsed() {
        let (_directory, path) = write(br#"{"padding": "0123456789"}"#);
        let error = read_object(&path, 8).expect_err("over the limit");
        assert_eq!(error.to_string(), "output larger than 8 bytes (25 bytes)");
    }

    #[test]
    fn a_directory_is_malformed_not_missing() {
        let directory = tempfile::tempdir().expect("create temporary directory");
        let AgentOutput::Malformed { message } = AgentOutput::read(directory.path()) else {
            panic!("expected malformed output");
        };
        assert!(message.starts_with("cannot read output file"), "{message}");
    }
}
