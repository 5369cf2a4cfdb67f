//! `EffectiveBoundary`: the spec's boundary resolved against the tables the fixtures created —
//! what a reviewer approves, and what the grants and triggers are built from.

use agentpod_spec::{AccessClass, BoundarySpec};
use serde::Serialize;

use crate::BoundaryError;
use crate::catalog::Catalog;

/// Every user table of the template with the class the agent gets, sorted by schema and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveBoundary {
    pub tables: Vec<EffectiveTable>,
}

/// One table's class, and the columns whose class differs from the table's by a column rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveTable {
    pub schema: String,
    pub name: String,
    pub access: AccessClass,
    /// False when the class comes from the boundary's `default` (or from having no boundary).
    pub declared: bool,
    /// Only the columns a column rule names, in the table's column order.
    pub columns: Vec<(String, AccessClass)>,
}

impl EffectiveTable {
    /// The class of one column: its rule's, or the table's.
    pub fn column_access(&self, column: &str) -> AccessClass {
        self.columns
            .iter()
            .find(|(name, _)| name == column)
            .map_or(self.access, |(_, access)| *access)
    }
}

/// Gives every table of `catalog` its class. Without a boundary every table is writable, which
/// is what pods did before boundaries existed.
pub(crate) fn resolve(
    boundary: Option<&BoundarySpec>,
    catalog: &Catalog,
) -> Result<EffectiveBoundary, BoundaryError> {
    let Some(boundary) = boundary else {
        return Ok(EffectiveBoundary {
            tables: catalog
                .tables
                .iter()
                .map(|table| EffectiveTable {
                    schema: table.schema.clone(),
                    name: table.name.clone(),
                    access: AccessClass::Writable,
                    declared: false,
                    columns: Vec::new(),
                })
                .collect(),
        });
    };

    let mut declared: Vec<Option<AccessClass>> = vec![None; catalog.tables.len()];
    for rule in &boundary.tables {
        let index = catalog
            .find(&rule.table)
            .ok_or_else(|| BoundaryError::UnknownTable {
                table: rule.table.clone(),
                line: rule.line,
                column: rule.column,
            })?;
        declared[index] = Some(rule.access);
    }

    let mut overrides: Vec<Vec<(String, AccessClass)>> = vec![Vec::new(); catalog.tables.len()];
    for rule in &boundary.columns {
        let index = catalog
            .find(&rule.table)
            .ok_or_else(|| BoundaryError::UnknownTable {
                table: rule.table.clone(),
                line: rule.line,
                column: rule.column_number,
            })?;
        if !catalog.tables[index].columns.contains(&rule.column) {
            return Err(BoundaryError::UnknownColumn {
                table: rule.table.clone(),
                column_name: rule.column.clone(),
                line: rule.line,
                column: rule.column_number,
            });
        }
        overrides[index].retain(|(column, _)| column != &rule.column);
        overrides[index].push((rule.column.clone(), rule.access));
    }

    let unclassified: Vec<String> = catalog
        .tables
        .iter()
        .zip(&declared)
        .filter(|(_, class)| class.is_none())
        .map(|(table, _)| table.display_name())
        .collect();
    if boundary.default.is_none() && !unclassified.is_empty() {
        return Err(BoundaryError::Unclassified {
            tables: unclassified,
            line: boundary.line,
            column: boundary.column,
        });
    }

    let tables = catalog
        .tables
        .iter()
        .zip(declared)
        .zip(overrides)
        .map(|((table, class), mut columns)| {
            columns.sort_by_key(|(column, _)| {
                table
                    .columns
                    .iter()
                    .position(|candidate| candidate == column)
            });
            EffectiveTable {
                schema: table.schema.clone(),
                name: table.name.clone(),
                // Checked above: with no declared class there is a default.
                access: class.or(boundary.default).unwrap_or(AccessClass::Hidden),
                declared: class.is_some(),
                columns,
            }
        })
        .collect();
    Ok(EffectiveBoundary { tables })
}
