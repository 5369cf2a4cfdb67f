//! Why a pod spec's boundary could not be applied to the seeded template.

/// A boundary that does not fit the fixtures, or a failure installing it.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    #[error(
        "boundary names table `{table}` (line {line}, column {column}), which the fixtures do not create"
    )]
    UnknownTable {
        table: String,
        line: usize,
        column: usize,
    },
    #[error(
        "boundary names column `{column_name}` of table `{table}` (line {line}, column {column}), which the table does not have"
    )]
    UnknownColumn {
        table: String,
        column_name: String,
        line: usize,
        column: usize,
    },
    #[error(
        "boundary (line {line}, column {column}) gives no class to {}, and declares no `default`",
        list(tables)
    )]
    Unclassified {
        tables: Vec<String>,
        line: usize,
        column: usize,
    },
    #[error("cannot {action}")]
    Setup {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

fn list(tables: &[String]) -> String {
    let quoted: Vec<String> = tables.iter().map(|table| format!("`{table}`")).collect();
    match quoted.len() {
        1 => format!("table {}", quoted[0]),
        _ => format!("tables {}", quoted.join(", ")),
    }
}

pub(crate) fn setup(action: &'static str) -> impl FnOnce(sqlx::Error) -> BoundaryError {
    move |source| BoundaryError::Setup { action, source }
}
