//! Cassettes: one recorded exchange per file, named by a hash of the route and the canonical
//! JSON of the request body, so the same request replays the same answer.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One recorded answer: status, content type and the body as the upstream sent it, piece by
/// piece (for streams, the SSE bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cassette {
    pub(crate) key: String,
    pub(crate) route: String,
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) chunks: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct CassetteStore {
    directory: PathBuf,
}

impl CassetteStore {
    pub(crate) fn new(directory: &Path) -> CassetteStore {
        CassetteStore {
            directory: directory.to_owned(),
        }
    }

    /// The key of a request: independent of key order and whitespace in its JSON body.
    pub(crate) fn key(method: &str, route: &str, body: &[u8]) -> String {
        let canonical = match serde_json::from_slice::<Value>(body) {
            Ok(value) => canonical_json(&value),
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        };
        let digest = Sha256::digest(format!("{method} {route}\n{canonical}").as_bytes());
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.directory.join(format!("{key}.json"))
    }

    /// The cassette for `key`.
    pub(crate) async fn load(&self, key: &str) -> Result<Cassette, CassetteError> {
        let path = self.path(key);
        let text =
            tokio::fs::read_to_string(&path)
                .await
                .map_err(|source| CassetteError::Missing {
                    path: path.clone(),
                    source,
                })?;
        serde_json::from_str(&text).map_err(|source| CassetteError::Unreadable { path, source })
    }

    /// Writes through a temporary file so a reader never sees half a cassette.
    pub(crate) async fn save(&self, cassette: &Cassette) -> Result<(), CassetteError> {
        let path = self.path(&cassette.key);
        let temporary =
            self.directory
                .join(format!(".{}.{}.tmp", cassette.key, std::process::id()));
        // A struct of strings and numbers always serializes.
        let text = serde_json::to_string_pretty(cassette).unwrap_or_default();
        tokio::fs::write(&temporary, text)
            .await
            .map_err(|source| CassetteError::Write {
                path: temporary.clone(),
                source,
            })?;
        tokio::fs::rename(&temporary, &path)
            .await
            .map_err(|source| CassetteError::Write { path, source })
    }
}

/// Why a cassette could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CassetteError {
    #[error("no cassette {}", path.display())]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse cassette {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write cassette {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// JSON with object keys sorted at every level and no whitespace.
pub(crate) fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (index, key) in keys.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String((*key).clone()).to_string());
                    out.push(':');
                    write(&map[*key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_key_order_and_whitespace_but_not_content_or_route() {
        let first = CassetteStore::key(
            "POST",
            "/v1/messages",
            br#"{"a": 1, "b": [1, {"d": 2, "c": 3}]}"#,
        );
        let second =
            CassetteStore::key("POST", "/v1/messages", br#"{"b":[1,{"c":3,"d":2}],"a":1}"#);
        assert_eq!(first, second);
        assert_ne!(
            first,
            CassetteStore::key("POST", "/v1/responses", br#"{"a":1,"b":[1,{"c":3,"d":2}]}"#)
        );
        assert_ne!(
            first,
            CassetteStore::key("POST", "/v1/messages", br#"{"a":2,"b":[1,{"c":3,"d":2}]}"#)
        );
    }

    #[tokio::test]
    async fn saved_cassettes_load_back() {
        let directory = tempfile::tempdir().unwrap();
        let store = CassetteStore::new(directory.path());
        let cassette = Cassette {
            key: "k".to_owned(),
            route: "/v1/messages".to_owned(),
            status: 200,
            content_type: "text/event-stream".to_owned(),
            chunks: vec!["data: 1\n\n".to_owned()],
        };
        store.save(&cassette).await.unwrap();
        assert_eq!(store.load("k").await.unwrap(), cassette);
        let missing = store.load("missing").await.unwrap_err();
        assert!(
            matches!(&missing, CassetteError::Missing { path, .. } if path.ends_with("missing.json"))
        );
        // The message names the file; the cause (no such file) is the source, said once.
        let text = agentpod_error_chain::error_chain(&missing);
        assert!(
            text.starts_with("no cassette ") && text.matches("missing.json").count() == 1,
            "{text}"
        );
        assert!(std::error::Error::source(&missing).is_some());
    }
}
