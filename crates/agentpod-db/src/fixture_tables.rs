//! `FixtureTables`: the tables a spec's fixtures will create, read from the files without a
//! database, so `validate` can check the boundary's table names before any pod starts.
//!
//! Honest rather than clever: a SQL fixture is split into statements as it is applied, and
//! only `CREATE TABLE` (not temporary, not a partition), `ALTER TABLE … RENAME TO` and
//! `DROP TABLE` are followed. A fixture that could make tables some other way — a `DO` block, a
//! procedure, a function whose body creates tables, `SELECT … INTO`, `CREATE EXTENSION`, a
//! schema with elements, a changed `search_path`, a table moved to another schema — or that
//! cannot be read makes the list incomplete, and then nothing is judged missing from it: the
//! seeded catalog is checked when the run starts either way.

use std::path::Path;

use agentpod_spec::{Fixture, FixtureKind};

use crate::catalog::{display_table_name, split_table_name};
use crate::sql_script::split_statements;

/// The tables the fixtures create, as `(schema, name)` in the order created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixtureTables {
    tables: Vec<(String, String)>,
    /// Why the list may miss tables (the first reason found); `None` when it is complete.
    pub incomplete: Option<String>,
}

impl FixtureTables {
    /// Reads every SQL fixture and takes the tables of CSV and JSON lines fixtures as named.
    pub fn read(fixtures: &[Fixture]) -> FixtureTables {
        let mut found = FixtureTables::default();
        for fixture in fixtures {
            match &fixture.kind {
                FixtureKind::Sql => match std::fs::read_to_string(&fixture.path) {
                    Ok(script) => found.follow_script(&fixture.path, &script),
                    Err(error) => found.give_up(format!(
                        "{} cannot be read: {error}",
                        fixture.path.display()
                    )),
                },
                FixtureKind::Csv { table } | FixtureKind::JsonLines { table } => {
                    let (schema, name) = split_table_name(table);
                    found.add(schema.to_owned(), name.to_owned());
                }
            }
        }
        found
    }

    /// Whether the table a spec names (`table` in `public`, or `schema.table`, exactly as
    /// written, as the boundary resolves it) is among them.
    pub fn contains(&self, spec_name: &str) -> bool {
        let (schema, name) = split_table_name(spec_name);
        self.tables
            .iter()
            .any(|(known_schema, known_name)| known_schema == schema && known_name == name)
    }

    /// The tables as a spec names them: unqualified in `public`.
    pub fn names(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|(schema, name)| display_table_name(schema, name))
            .collect()
    }

    pub fn is_complete(&self) -> bool {
        self.incomplete.is_none()
    }

    fn add(&mut self, schema: String, name: String) {
        if !self.tables.contains(&(schema.clone(), name.clone())) {
            self.tables.push((schema, name));
        }
    }

    fn remove(&mut self, table: &(String, String)) {
        self.tables.retain(|known| known != table);
    }

    fn give_up(&mut self, reason: String) {
        self.incomplete.get_or_insert(reason);
    }

    fn follow_script(&mut self, file: &Path, script: &str) {
        for statement in split_statements(script) {
            let words = words(statement.text);
            let at = |reason: &str| format!("{}:{} {reason}", file.display(), statement.line);
            let keywords: Vec<&str> = words.iter().map(|word| word.keyword.as_str()).collect();
            match keywords.as_slice() {
                ["create", rest @ ..] => {
                    let rest_start = words.len() - rest.len();
                    self.follow_create(&words[rest_start..], &at);
                }
                ["alter", "table", ..] => self.follow_alter_table(&words[2..], &at),
                ["drop", "table", ..] => {
                    let names = skip(&words[2..], &["if", "exists"]);
                    for name in names.split(|word| word.keyword == ",") {
                        if let Some(table) = table_name(name) {
                            self.remove(&table);
                        }
                    }
                }
                ["do" | "call" | "execute", ..] => self.give_up(at(&format!(
                    "runs a `{}` statement",
                    keywords[0].to_uppercase()
                ))),
                ["set" | "reset", "search_path", ..]
                | ["set", "session" | "local", "search_path", ..] => {
                    self.give_up(at("changes the `search_path`"))
                }
                ["select" | "with", ..]
                    if keywords.contains(&"into") || keywords.contains(&"set_config") =>
                {
                    self.give_up(at(
                        "creates tables with `SELECT … INTO` or changes settings",
                    ))
                }
                _ if keywords.first().is_some_and(|word| word.starts_with('\\')) => {
                    self.give_up(at("holds a psql command"))
                }
                _ => {}
            }
        }
    }

    fn follow_create(&mut self, words: &[Word], at: &dyn Fn(&str) -> String) {
        let words = skip(words, &["or", "replace"]);
        let keyword = |index: usize| words.get(index).map_or("", |word| word.keyword.as_str());
        let mut index = 0;
        let mut temporary = false;
        while matches!(
            keyword(index),
            "global" | "local" | "temp" | "temporary" | "unlogged"
        ) {
            temporary |= matches!(keyword(index), "temp" | "temporary");
            index += 1;
        }
        match keyword(index) {
            "table" => {
                let rest = skip(&words[index + 1..], &["if", "not", "exists"]);
                let Some(table) = table_name(rest) else {
                    return;
                };
                let after = &rest[name_length(rest)..];
                let partition = after
                    .first()
                    .is_some_and(|word| word.keyword == "partition");
                if !temporary && !partition {
                    self.add(table.0, table.1);
                }
            }
            "extension" => self.give_up(at("creates an extension")),
            "schema"
                if words
                    .iter()
                    .skip(index + 1)
                    .any(|word| word.keyword == "create") =>
            {
                self.give_up(at("creates a schema with elements"))
            }
            "function" | "procedure"
                if words
                    .windows(2)
                    .any(|pair| pair[0].keyword == "create" && pair[1].keyword == "table")
                    || words.iter().any(|word| word.body_creates_table) =>
            {
                self.give_up(at("defines a routine that creates tables"))
            }
            _ => {}
        }
    }

    fn follow_alter_table(&mut self, words: &[Word], at: &dyn Fn(&str) -> String) {
        let words = skip(words, &["if", "exists"]);
        let words = skip(words, &["only"]);
        let Some(table) = table_name(words) else {
            return;
        };
        let rest: Vec<&str> = words[name_length(words)..]
            .iter()
            .map(|word| word.keyword.as_str())
            .collect();
        match rest.as_slice() {
            ["rename", "to", ..] => {
                if let Some(new_name) = words[name_length(words) + 2..].first() {
                    self.remove(&table);
                    self.add(table.0, new_name.identifier.clone());
                }
            }
            ["set", "schema", ..] => self.give_up(at("moves a table to another schema")),
            _ => {}
        }
    }
}

/// One token of a statement: a keyword as compared (lowercase), and the identifier it names
/// (an unquoted name folds to lowercase, a quoted one keeps its case).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    keyword: String,
    identifier: String,
    /// A dollar-quoted body holding `create table` (a routine's).
    body_creates_table: bool,
}

/// The statement's words, dots and commas, without comments, strings and parenthesised parts.
fn words(text: &str) -> Vec<Word> {
    let characters: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut index = 0;
    let mut depth = 0usize;
    let word = |keyword: String, identifier: String| Word {
        keyword,
        identifier,
        body_creates_table: false,
    };
    while index < characters.len() {
        let character = characters[index];
        let next = characters.get(index + 1).copied();
        match character {
            '-' if next == Some('-') => {
                while index < characters.len() && characters[index] != '\n' {
                    index += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut nesting = 0usize;
                while index < characters.len() {
                    if characters[index] == '/' && characters.get(index + 1) == Some(&'*') {
                        nesting += 1;
                        index += 1;
                    } else if characters[index] == '*' && characters.get(index + 1) == Some(&'/') {
                        nesting -= 1;
                        index += 1;
                        if nesting == 0 {
                            break;
                        }
                    }
                    index += 1;
                }
            }
            '\'' => {
                index += 1;
                while index < characters.len() {
                    if characters[index] == '\'' {
                        if characters.get(index + 1) == Some(&'\'') {
                            index += 1;
                        } else {
                            break;
                        }
                    }
                    index += 1;
                }
            }
            '"' => {
                let mut name = String::new();
                index += 1;
                while index < characters.len() {
                    if characters[index] == '"' {
                        if characters.get(index + 1) == Some(&'"') {
                            index += 1;
                        } else {
                            break;
                        }
                    }
                    name.push(characters[index]);
                    index += 1;
                }
                if depth == 0 {
                    words.push(word(format!("\"{name}\""), name));
                }
            }
            '$' => {
                let rest: String = characters[index + 1..].iter().collect();
                if let Some(tag_end) = rest.find('$') {
                    let tag = &rest[..tag_end];
                    if tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        let delimiter = format!("${tag}$");
                        let body_and_rest = &rest[tag_end + 1..];
                        let body_length = body_and_rest.find(&delimiter);
                        let body = &body_and_rest[..body_length.unwrap_or(body_and_rest.len())];
                        let lowered = body.to_lowercase();
                        let creates = lowered
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .windows(2)
                            .any(|pair| pair == ["create", "table"]);
                        if creates {
                            words.push(Word {
                                keyword: "$body$".to_owned(),
                                identifier: String::new(),
                                body_creates_table: true,
                            });
                        }
                        let consumed = tag.chars().count()
                            + 2
                            + body.chars().count()
                            + body_length.map_or(0, |_| delimiter.chars().count());
                        index += consumed;
                        continue;
                    }
                }
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '.' | ',' if depth == 0 => words.push(word(character.to_string(), String::new())),
            '\\' if depth == 0 && words.is_empty() => {
                let command: String = characters[index..]
                    .iter()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                words.push(word(command, String::new()));
                index += 1;
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::new();
                while index < characters.len()
                    && (characters[index].is_alphanumeric()
                        || characters[index] == '_'
                        || characters[index] == '$')
                {
                    name.push(characters[index]);
                    index += 1;
                }
                if depth == 0 {
                    let folded = name.to_lowercase();
                    words.push(word(folded.clone(), folded));
                }
                continue;
            }
            _ => {}
        }
        index += 1;
    }
    words
}

/// `words` past `optional`, when they start with all of it.
fn skip<'w>(words: &'w [Word], optional: &[&str]) -> &'w [Word] {
    let starts = words.len() >= optional.len()
        && words
            .iter()
            .zip(optional)
            .all(|(word, keyword)| word.keyword == *keyword);
    if starts {
        &words[optional.len()..]
    } else {
        words
    }
}

/// The table a name at the start of `words` means: `name` in `public`, or `schema.name`.
fn table_name(words: &[Word]) -> Option<(String, String)> {
    let first = words.first().filter(|word| is_name(word))?;
    match (words.get(1), words.get(2)) {
        (Some(dot), Some(second)) if dot.keyword == "." && is_name(second) => {
            Some((first.identifier.clone(), second.identifier.clone()))
        }
        _ => Some(("public".to_owned(), first.identifier.clone())),
    }
}

/// How many words the name at the start of `words` takes: 1, or 3 for `schema.name`.
fn name_length(words: &[Word]) -> usize {
    if words.get(1).is_some_and(|word| word.keyword == ".") {
        3
    } else {
        1
    }
}

fn is_name(word: &Word) -> bool {
    !word.identifier.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(script: &str) -> FixtureTables {
        let mut found = FixtureTables::default();
        found.follow_script(Path::new("schema.sql"), script);
        found
    }

    #[test]
    fn created_tables_are_followed() {
        let found = tables(
            "-- schema\nCREATE TABLE tickets (id int, note text DEFAULT 'create table x');\n\
             create table if not exists support.\"Queue\" (id int);\n\
             CREATE UNLOGGED TABLE scratch AS SELECT 1;\n\
             CREATE TEMP TABLE gone (id int);\n\
             CREATE TABLE tickets_2026 PARTITION OF tickets FOR VALUES IN (1);\n\
             CREATE TABLE old_name (id int);\nALTER TABLE old_name RENAME TO new_name;\n\
             ALTER TABLE tickets RENAME COLUMN note TO body;\n\
             CREATE TABLE dropped (id int); DROP TABLE IF EXISTS dropped;\n\
             INSERT INTO tickets VALUES (1);\n\
             CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;",
        );
        assert!(found.is_complete(), "{:?}", found.incomplete);
        assert_eq!(
            found.names(),
            ["tickets", "support.Queue", "scratch", "new_name"]
        );
        assert!(found.contains("tickets"));
        assert!(found.contains("public.tickets"));
        assert!(found.contains("support.Queue"));
        assert!(!found.contains("Tickets"));
        assert!(!found.contains("old_name"));
    }

    #[test]
    fn scripts_that_could_make_tables_otherwise_are_incomplete() {
        for script in [
            "DO $$ BEGIN EXECUTE 'CREATE TABLE t (id int)'; END $$;",
            "CALL make_tables();",
            "CREATE EXTENSION postgis;",
            "SELECT * INTO copy FROM tickets;",
            "SET search_path = support;",
            "CREATE SCHEMA s CREATE TABLE t (id int);",
            "ALTER TABLE t SET SCHEMA s;",
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE t (id int); END $$;",
            "SELECT set_config('search_path', 's', false);",
        ] {
            let found = tables(script);
            assert!(!found.is_complete(), "{script}");
            assert!(
                found
                    .incomplete
                    .as_deref()
                    .is_some_and(|reason| reason.starts_with("schema.sql:1 ")),
                "{script}: {:?}",
                found.incomplete
            );
        }
    }

    #[test]
    fn data_fixtures_name_their_tables() {
        let fixtures = [Fixture {
            path: "tickets.csv".into(),
            kind: FixtureKind::Csv {
                table: "support.tickets".to_owned(),
            },
            line: 3,
        }];
        let found = FixtureTables::read(&fixtures);
        assert!(found.contains("support.tickets"));
        assert!(!found.contains("tickets"));
    }
}
