//! The rows a session touched as a fixture delta: a SQL file of `INSERT`s that a spec lists
//! after its own fixtures, so a pod meets the state the session met. Values are SQL literals
//! (text quoted, quotes doubled; lists and objects as JSON text), names quoted identifiers.

use serde_json::{Map, Value};

/// One row of one table, column to value.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The table as the trace names it, `schema.table` or `table`.
    pub table: String,
    pub columns: Map<String, Value>,
}

/// The SQL file: a header comment, then one `INSERT` per row, in order.
pub fn fixture_delta_sql(rows: &[TableRow], header: &str) -> String {
    let mut sql = String::new();
    for line in header.lines() {
        sql.push_str("-- ");
        sql.push_str(line);
        sql.push('\n');
    }
    for row in rows {
        let columns: Vec<String> = row.columns.keys().map(|name| identifier(name)).collect();
        let values: Vec<String> = row.columns.values().map(literal).collect();
        let table: Vec<String> = row.table.split('.').map(identifier).collect();
        sql.push_str(&format!(
            "INSERT INTO {} ({}) VALUES ({});\n",
            table.join("."),
            columns.join(", "),
            values.join(", ")
        ));
    }
    sql
}

fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(flag) => if *flag { "TRUE" } else { "FALSE" }.to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => quoted(text),
        other => quoted(&other.to_string()),
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_become_inserts_with_quoted_names_and_literals() {
        let rows = [TableRow {
            table: "public.items".into(),
            columns: json!({"id": 7, "name": "O'Brien", "tags": ["a"], "gone": null, "ok": true})
                .as_object()
                .cloned()
                .unwrap(),
        }];
        let sql = fixture_delta_sql(&rows, "from a trace\nsecond line");
        assert_eq!(
            sql,
            "-- from a trace\n-- second line\n\
             INSERT INTO \"public\".\"items\" (\"gone\", \"id\", \"name\", \"ok\", \"tags\") \
             VALUES (NULL, 7, 'O''Brien', TRUE, '[\"a\"]');\n"
        );
    }
}
