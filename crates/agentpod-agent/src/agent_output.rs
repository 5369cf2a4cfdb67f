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
    #[error("cannot read output file {path}")]
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
    #[error("output is a symbolic link; write the answer itself to AGENTPOD_OUTPUT")]
    SymbolicLink,
    #[error("output is not a regular file ({kind})")]
    NotARegularFile { kind: &'static str },
    #[error("output has other names (hard links); write the answer itself to AGENTPOD_OUTPUT")]
    HardLinked,
}

impl AgentOutput {
    /// Reads and checks the answer at `path`.
    pub(crate) fn read(path: &Path) -> AgentOutput {
        match read_object(path, OUTPUT_SIZE_LIMIT) {
            Ok(Some(value)) => AgentOutput::Valid(value),
            Ok(None) => AgentOutput::Missing,
            Err(error) => AgentOutput::Malformed {
                message: agentpod_error_chain::error_chain(&error),
            },
        }
    }
}

/// The answer sits in a directory the agent may write, and agentpod may be root: the file is
/// opened without following a symbolic link (which could name any file of the host) and without
/// blocking (a FIFO would hang the run), and only a regular file with no other name is read,
/// one byte past the limit at most.
fn read_object(path: &Path, limit: u64) -> Result<Option<serde_json::Value>, OutputError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let read_error = |source| OutputError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) if error.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(OutputError::SymbolicLink);
        }
        Err(error) => return Err(read_error(error)),
    };
    let metadata = file.metadata().map_err(read_error)?;
    let file_type = metadata.file_type();
    if !file_type.is_file() {
        let kind = if file_type.is_dir() {
            "a directory"
        } else if file_type.is_fifo() {
            "a FIFO"
        } else if file_type.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(OutputError::NotARegularFile { kind });
    }
    if metadata.nlink() > 1 {
        return Err(OutputError::HardLinked);
    }
    if metadata.len() > limit {
        return Err(OutputError::TooLarge {
            limit,
            size: metadata.len(),
        });
    }
    // Read one byte past the limit as well: the file may still be growing.
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(OutputError::TooLarge {
            limit,
            size: bytes.len() as u64,
        });
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
        assert_eq!(message, "output is not a regular file (a directory)");
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let (directory, secret) = write(br#"{"secret": "of the host"}"#);
        let link = directory.path().join("answer.json");
        std::os::unix::fs::symlink(&secret, &link).expect("make a symbolic link");
        assert_eq!(
            AgentOutput::read(&link),
            AgentOutput::Malformed {
                message: OutputError::SymbolicLink.to_string()
            }
        );
    }

    #[test]
    fn a_hard_link_is_refused() {
        let (directory, secret) = write(br#"{"secret": "of the host"}"#);
        let link = directory.path().join("answer.json");
        std::fs::hard_link(&secret, &link).expect("make a hard link");
        assert_eq!(
            AgentOutput::read(&link),
            AgentOutput::Malformed {
                message: OutputError::HardLinked.to_string()
            }
        );
    }

    #[test]
    fn a_fifo_does_not_block_the_reader() {
        let directory = tempfile::tempdir().expect("create temporary directory");
        let fifo = directory.path().join("output.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("make a FIFO");
        assert_eq!(
            AgentOutput::read(&fifo),
            AgentOutput::Malformed {
                message: "output is not a regular file (a FIFO)".to_owned()
            }
        );
    }
}
