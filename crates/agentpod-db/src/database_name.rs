//! Names of the databases this crate creates, and quoting of names that come from users.

use rand::RngExt;

/// The seeded database every issue database is cloned from.
pub(crate) const TEMPLATE_DATABASE: &str = "agentpod_template";

/// Postgres truncates identifiers longer than this many bytes.
const IDENTIFIER_LIMIT: usize = 63;

/// A unique, always-valid database name for an issue: the readable part of the id plus a random
/// suffix, because ids are user text and two runs may reuse one.
pub(crate) fn issue_database_name(issue_id: &str) -> String {
    const PREFIX: &str = "issue_";
    const SUFFIX_LENGTH: usize = 8;
    let readable: String = issue_id
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(IDENTIFIER_LIMIT - PREFIX.len() - SUFFIX_LENGTH - 1)
        .collect();
    let suffix: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(SUFFIX_LENGTH)
        .map(|byte| char::from(byte).to_ascii_lowercase())
        .collect();
    format!("{PREFIX}{readable}_{suffix}")
}

/// Quotes one identifier exactly as written.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a possibly schema-qualified table name (`orders`, `billing.invoices`), each part
/// exactly as written, so the fixture's `table:` means the same as a quoted identifier in SQL.
pub(crate) fn quote_table(table: &str) -> String {
    table
        .split('.')
        .map(quote_identifier)
        .collect::<Vec<_>>()
        .join(".")
}

/// Quotes a string literal for SQL text where parameters cannot be used (role passwords).
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_names_are_safe_unique_and_short_enough() {
        let first = issue_database_name("Ticket #42; DROP DATABASE x --");
        let second = issue_database_name("Ticket #42; DROP DATABASE x --");
        assert_ne!(first, second);
        assert!(
            first.starts_with("issue_ticket__42__drop_database_x____"),
            "{first}"
        );
        assert!(
            first
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        );
        let long = issue_database_name(&"é".repeat(200));
        assert!(long.len() <= IDENTIFIER_LIMIT, "{long}");
    }

    #[test]
    fn quoting_doubles_embedded_quotes() {
        assert_eq!(
            quote_table("billing.In\"voices"),
            "\"billing\".\"In\"\"voices\""
        );
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
