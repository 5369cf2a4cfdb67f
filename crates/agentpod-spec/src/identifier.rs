//! The database names a spec may write: table names and column rules are interpolated into SQL
//! by the seeder and the boundary, so only plain identifiers are accepted.

pub(crate) const TABLE_NAME_HELP: &str =
    "use letters, digits and `_`, not starting with a digit, optionally as `schema.table`";

/// A plain SQL identifier: a letter or `_`, then letters, digits or `_`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// `table` or `schema.table`.
pub(crate) fn is_table_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2 && parts.iter().all(|part| is_identifier(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_plain_words() {
        assert!(is_identifier("customers"));
        assert!(is_identifier("_t1"));
        assert!(!is_identifier("1tickets"));
        assert!(!is_identifier("ticket-notes"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn table_names_are_identifiers() {
        assert!(is_table_name("customers"));
        assert!(is_table_name("support.tickets"));
        assert!(is_table_name("_t1"));
        assert!(!is_table_name("1tickets"));
        assert!(!is_table_name("tickets; drop table x"));
        assert!(!is_table_name("a.b.c"));
        assert!(!is_table_name(""));
        assert!(!is_table_name("a."));
    }
}
