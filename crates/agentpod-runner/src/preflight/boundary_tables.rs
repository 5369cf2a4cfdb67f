//! The boundary's tables must be tables the fixtures create. The seeded catalog is checked when
//! a run starts; this finds a misspelt table before any pod does, where the fixtures can be read
//! honestly (see `agentpod_db::FixtureTables`; when they cannot, nothing is reported here).

use agentpod_db::FixtureTables;
use agentpod_spec::{Diagnostic, PodSpec, SpecLocations};

use super::{closest, quoted_list};

pub(super) fn check(spec: &PodSpec, locations: &SpecLocations) -> Vec<Diagnostic> {
    let Some(boundary) = &spec.boundary else {
        return Vec::new();
    };
    let tables = FixtureTables::read(&spec.database.fixtures);
    if !tables.is_complete() {
        return Vec::new();
    }
    let names = tables.names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let rules = boundary
        .tables
        .iter()
        .map(|rule| (rule.table.as_str(), rule.line, rule.column))
        .chain(
            boundary
                .columns
                .iter()
                .map(|rule| (rule.table.as_str(), rule.line, rule.column_number)),
        );
    let mut reported: Vec<&str> = Vec::new();
    let mut diagnostics = Vec::new();
    for (table, line, column) in rules {
        if tables.contains(table) || reported.contains(&table) {
            continue;
        }
        reported.push(table);
        let created = if names.is_empty() {
            "the fixtures create no table".to_owned()
        } else {
            format!("the fixtures create {}", quoted_list(&names, 8))
        };
        let help = match closest(table, &names) {
            Some(suggestion) => format!("did you mean `{suggestion}`? {created}"),
            None => format!("{created}; check the spelling, or the schema (`schema.table`)"),
        };
        diagnostics.push(
            locations
                .at(
                    line,
                    column,
                    format!("boundary names table `{table}`, which the fixtures do not create"),
                )
                .with_help(help),
        );
    }
    diagnostics
}
