//! `seed_key`: what a seeded template is cached under — a hash of everything that goes into it,
//! so a template is reused exactly when seeding again would make the same one.

use agentpod_postgres_server::POSTGRES_SETTINGS;
use agentpod_spec::{BoundarySpec, Fixture};
use sha2::{Digest, Sha256};

use crate::FixtureError;

/// Bump when seeding or `apply_boundary` changes what they leave in the template (statements,
/// grants, the audit schema), so templates cached by an older agentpod are not reused.
const SEED_FORMAT_VERSION: u32 = 4;

/// Hex SHA-256 over: the format version, the database image's identity (its id: a rebuilt image
/// may initialise clusters differently), the server settings, every fixture in order (its kind,
/// table and content — not its path, so moving the checkout keeps the cache), and the boundary's
/// rules (not their line numbers). The agent role's password is not part of it: it is set per
/// pod when the template is attached.
pub fn seed_key(
    image_identity: &str,
    fixtures: &[Fixture],
    boundary: Option<&BoundarySpec>,
) -> Result<String, FixtureError> {
    let mut hasher = Sha256::new();
    let mut part = |label: &str, bytes: &[u8]| {
        // Length-prefixed, so no two different inputs hash the same concatenation.
        hasher.update(label.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    part("format", &SEED_FORMAT_VERSION.to_le_bytes());
    part("image", image_identity.as_bytes());
    for (name, value) in POSTGRES_SETTINGS {
        part("setting", format!("{name}={value}").as_bytes());
    }
    for fixture in fixtures {
        let kind = serde_json::to_string(&fixture.kind).unwrap_or_default();
        part("fixture", kind.as_bytes());
        let content = std::fs::read(&fixture.path).map_err(|source| FixtureError::Read {
            file: fixture.path.clone(),
            source,
        })?;
        part("content", &content);
    }
    part("boundary", boundary_rules(boundary).to_string().as_bytes());
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// The boundary as it acts on the template: classes and rules in order, without positions.
fn boundary_rules(boundary: Option<&BoundarySpec>) -> serde_json::Value {
    let Some(boundary) = boundary else {
        return serde_json::Value::Null;
    };
    serde_json::json!({
        "default": boundary.default,
        "on_proposal": boundary.on_proposal,
        "tables": boundary.tables.iter()
            .map(|rule| serde_json::json!([rule.table, rule.access]))
            .collect::<Vec<_>>(),
        "columns": boundary.columns.iter()
            .map(|rule| serde_json::json!([rule.table, rule.column, rule.access]))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use agentpod_spec::{AccessClass, FixtureKind, TableRule};

    use super::*;

    fn fixture(directory: &tempfile::TempDir, name: &str, content: &str) -> Fixture {
        let path = directory.path().join(name);
        std::fs::write(&path, content).expect("write fixture");
        Fixture {
            path,
            kind: FixtureKind::Sql,
            line: 1,
        }
    }

    fn boundary(access: AccessClass, line: usize) -> BoundarySpec {
        BoundarySpec {
            default: None,
            on_proposal: Default::default(),
            tables: vec![TableRule {
                table: "tickets".to_string(),
                access,
                line,
                column: 3,
            }],
            columns: Vec::new(),
            line,
            column: 1,
        }
    }

    #[test]
    fn the_key_follows_content_image_and_boundary_but_not_paths_or_lines() {
        let first = tempfile::tempdir().expect("temp dir");
        let second = tempfile::tempdir().expect("temp dir");
        let schema = fixture(&first, "schema.sql", "CREATE TABLE tickets (id int);");
        let moved = fixture(&second, "other.sql", "CREATE TABLE tickets (id int);");
        let changed = fixture(&second, "changed.sql", "CREATE TABLE tickets (id bigint);");
        let read_only = boundary(AccessClass::ReadOnly, 10);
        let key = |image: &str, fixture: &Fixture, boundary: &BoundarySpec| {
            seed_key(image, std::slice::from_ref(fixture), Some(boundary)).expect("key")
        };

        let base = key("sha256:a", &schema, &read_only);
        assert_eq!(base.len(), 64);
        assert_eq!(base, key("sha256:a", &moved, &read_only));
        assert_eq!(
            base,
            key("sha256:a", &schema, &boundary(AccessClass::ReadOnly, 20))
        );
        assert_ne!(base, key("sha256:a", &changed, &read_only));
        assert_ne!(base, key("sha256:b", &schema, &read_only));
        assert_ne!(
            base,
            key("sha256:a", &schema, &boundary(AccessClass::Writable, 10))
        );
        assert_ne!(
            base,
            seed_key("sha256:a", std::slice::from_ref(&schema), None).expect("key")
        );
    }

    #[test]
    fn a_missing_fixture_is_a_read_error() {
        let missing = Fixture {
            path: PathBuf::from("/nonexistent/agentpod/schema.sql"),
            kind: FixtureKind::Sql,
            line: 1,
        };
        assert!(matches!(
            seed_key("sha256:a", &[missing], None),
            Err(FixtureError::Read { .. })
        ));
    }
}
