//! Tools declared as SQL functions: every function in the configured schema that the agent's
//! role may execute becomes a tool named after it, its arguments mapped to JSON Schema and its
//! comment used as the description, with each argument's meaning when the comment follows the
//! JSON convention of [`FunctionComment`]. A call runs the function as the agent's role.

use std::ops::ControlFlow;

use serde_json::{Map, Value, json};

use crate::capped_rows::{CappedRow, CappedRowsReader, capped_json_rows};
use crate::function_comment::FunctionComment;
use crate::result_cap::{CappedValue, NOTE_RESERVE_BYTES, RESULT_CAP_BYTES, cut_at_boundary};
use crate::statement_connections::TransactionEnd::{Committed, ReadOnlyRolledBack};
use crate::statement_connections::{StatementConnections, StatementError};

/// One function found in the schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlFunction {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) arguments: Vec<SqlArgument>,
    /// Unnamed arguments cannot be passed by name, so such functions are called positionally.
    pub(crate) positional: bool,
    pub(crate) returns_set: bool,
    pub(crate) returns_void: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlArgument {
    pub(crate) name: String,
    /// As `format_type` prints it: `integer`, `text`, `numeric(10,2)`, `integer[]`...
    pub(crate) type_name: String,
    pub(crate) required: bool,
    /// What the argument means, from the function's comment; empty when it does not say.
    pub(crate) meaning: String,
}

/// The functions of `schema` that the connections' role may execute. Overloads after the first
/// of a name are skipped: a tool name must say which function runs.
pub(crate) async fn discover(
    connections: &StatementConnections,
    schema: &str,
) -> Result<Vec<SqlFunction>, StatementError> {
    let mut functions: Vec<SqlFunction> = Vec::new();
    connections.run(
        ReadOnlyRolledBack,
        "SELECT p.proname::text, \
                coalesce(obj_description(p.oid, 'pg_proc'), ''), \
                coalesce(p.proargnames, ARRAY[]::text[]), \
                ARRAY(SELECT m.mode::text FROM unnest(p.proargmodes) WITH ORDINALITY AS m(mode, position) ORDER BY m.position), \
                ARRAY(SELECT format_type(t.type_oid, NULL) \
                      FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS t(type_oid, position) \
                      ORDER BY t.position), \
                p.pronargdefaults::int4, \
                p.proretset, \
                format_type(p.prorettype, NULL) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = $1 AND p.prokind = 'f' AND has_function_privilege(p.oid, 'EXECUTE') \
         ORDER BY p.proname, p.oid",
        &[Some(schema.to_owned())],
        |row| {
            let name: String = row.try_get(0)?;
            if !functions.iter().any(|function| function.name == name) {
                let (names, modes, types): (Vec<String>, Vec<String>, Vec<String>) =
                    (row.try_get(2)?, row.try_get(3)?, row.try_get(4)?);
                functions.push(function_from_catalog(
                    name,
                    row.try_get(1)?,
                    &names,
                    &modes,
                    &types,
                    row.try_get(5)?,
                    row.try_get(6)?,
                    row.try_get(7)?,
                ));
            }
            Ok(ControlFlow::Continue(()))
        },
    )
    .await?;
    Ok(functions)
}

#[allow(clippy::too_many_arguments)]
fn function_from_catalog(
    name: String,
    comment: &str,
    names: &[String],
    modes: &[String],
    types: &[String],
    default_count: i32,
    returns_set: bool,
    return_type: &str,
) -> SqlFunction {
    let FunctionComment {
        description,
        parameters,
    } = FunctionComment::parse(comment);
    let mut arguments = Vec::new();
    let mut positional = false;
    for (position, type_name) in types.iter().enumerate() {
        // Without modes every argument is an input; `o` and `t` are outputs, not parameters.
        let mode = modes.get(position).map(String::as_str).unwrap_or("i");
        if !matches!(mode, "i" | "b" | "v") {
            continue;
        }
        let argument_name = match names.get(position) {
            Some(argument_name) if !argument_name.is_empty() => argument_name.clone(),
            _ => {
                positional = true;
                format!("arg{}", arguments.len() + 1)
            }
        };
        arguments.push(SqlArgument {
            meaning: parameters.get(&argument_name).cloned().unwrap_or_default(),
            name: argument_name,
            type_name: type_name.clone(),
            required: true,
        });
    }
    // Defaults belong to the last inputs; positional calls cannot skip any argument.
    if !positional {
        let optional = usize::try_from(default_count)
            .unwrap_or(0)
            .min(arguments.len());
        let first_optional = arguments.len() - optional;
        for argument in &mut arguments[first_optional..] {
            argument.required = false;
        }
    }
    SqlFunction {
        name,
        description,
        arguments,
        positional,
        returns_set,
        returns_void: return_type == "void",
    }
}

impl SqlArgument {
    /// `the order's id, like #W1234 (Postgres type text)`, or only the type when the comment
    /// does not say what the argument means.
    fn schema_description(&self) -> String {
        if self.meaning.is_empty() {
            format!("Postgres type {}", self.type_name)
        } else {
            format!("{} (Postgres type {})", self.meaning, self.type_name)
        }
    }
}

/// The JSON Schema of a Postgres type.
pub(crate) fn json_schema_of(type_name: &str) -> Value {
    if let Some(element) = type_name.strip_suffix("[]") {
        return json!({ "type": "array", "items": json_schema_of(element) });
    }
    let base = type_name.split('(').next().unwrap_or(type_name).trim();
    match base {
        "smallint" | "integer" | "bigint" => json!({ "type": "integer" }),
        "numeric" | "real" | "double precision" => json!({ "type": "number" }),
        "boolean" => json!({ "type": "boolean" }),
        "json" | "jsonb" => json!({ "type": "object" }),
        "date" => json!({ "type": "string", "format": "date" }),
        "timestamp without time zone" | "timestamp with time zone" => {
            json!({ "type": "string", "format": "date-time" })
        }
        "uuid" => json!({ "type": "string", "format": "uuid" }),
        _ => json!({ "type": "string" }),
    }
}

impl SqlFunction {
    pub(crate) fn input_schema(&self) -> Map<String, Value> {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for argument in &self.arguments {
            let mut property = json_schema_of(&argument.type_name);
            property["description"] = json!(argument.schema_description());
            properties.insert(argument.name.clone(), property);
            if argument.required {
                required.push(json!(argument.name));
            }
        }
        let mut schema = Map::new();
        schema.insert("type".to_owned(), json!("object"));
        schema.insert("properties".to_owned(), Value::Object(properties));
        schema.insert("required".to_owned(), Value::Array(required));
        schema.insert("additionalProperties".to_owned(), json!(false));
        schema
    }

    pub(crate) fn tool_description(&self, schema: &str) -> String {
        if self.description.is_empty() {
            format!("SQL function {schema}.{}", self.name)
        } else {
            self.description.clone()
        }
    }

    /// Runs the function with `arguments` as the connections' role, committed (a function may
    /// write); the result is its value as JSON (a set-returning function gives an array), held
    /// to the result cap. An argument problem is an `Err` message.
    pub(crate) async fn call(
        &self,
        connections: &StatementConnections,
        schema: &str,
        arguments: &Map<String, Value>,
    ) -> Result<CappedValue, String> {
        if let Some(unknown) = arguments
            .keys()
            .find(|key| !self.arguments.iter().any(|argument| &argument.name == *key))
        {
            return Err(format!(
                "unknown argument {unknown:?} for function {}",
                self.name
            ));
        }
        let mut expressions = Vec::new();
        let mut values: Vec<Option<String>> = Vec::new();
        for argument in &self.arguments {
            let value = match arguments.get(&argument.name) {
                Some(value) => value,
                None if argument.required => {
                    return Err(format!("missing argument {:?}", argument.name));
                }
                // A named call can leave a defaulted argument out; positional ones are required.
                None => continue,
            };
            values.push(bind_text(value));
            let placeholder = values.len();
            // `format_type` output is already valid type syntax, quoted where needed.
            let cast = &argument.type_name;
            let expression = if argument.type_name.ends_with("[]") && value.is_array() {
                format!("ARRAY(SELECT jsonb_array_elements_text(${placeholder}::jsonb))::{cast}")
            } else {
                format!("${placeholder}::text::{cast}")
            };
            if self.positional {
                expressions.push(expression);
            } else {
                expressions.push(format!(
                    "{} => {expression}",
                    quote_identifier(&argument.name)
                ));
            }
        }
        let call = format!(
            "{}.{}({})",
            quote_identifier(schema),
            quote_identifier(&self.name),
            expressions.join(", ")
        );
        if self.returns_void {
            // `void` has no JSON form: run the call for its effect and answer null.
            let statement = format!("SELECT NULL FROM (SELECT {call}) AS agentpod_result");
            connections
                .run(Committed, &statement, &values, |_row| {
                    Ok(ControlFlow::Continue(()))
                })
                .await
                .map_err(|error| error.describe())?;
            return Ok(CappedValue::whole(Value::Null));
        }
        if self.returns_set {
            return call_set_returning(connections, &call, &values).await;
        }
        call_single_value(connections, &call, &values).await
    }
}

/// A set-returning function's rows, read one at a time up to the result cap: all of them as a
/// JSON array, or, cut at the cap, an object with the rows that fit and a note.
async fn call_set_returning(
    connections: &StatementConnections,
    call: &str,
    values: &[Option<String>],
) -> Result<CappedValue, String> {
    // `OFFSET 0` keeps the call apart from the capping query, so each row's JSON is made once.
    let statement = capped_json_rows(&format!(
        "SELECT to_jsonb(agentpod_result)::text AS agentpod_json \
         FROM {call} AS agentpod_result OFFSET 0"
    ));
    // The function may write, so the statement is left to finish even when reading stops at
    // the cap (the rest of its rows is read and dropped): closing the connection instead would
    // roll its writes back.
    let mut reader = CappedRowsReader::new(None);
    connections
        .run(Committed, &statement, values, |row| {
            Ok(reader.push((row.try_get(0)?, row.try_get(1)?))?)
        })
        .await
        .map_err(|error| error.describe())?;
    let read = reader.finish();
    if read.stop.is_none() {
        return Ok(CappedValue::whole(Value::Array(read.rows)));
    }
    let capped = read.stopped_at_the_cap();
    Ok(CappedValue {
        value: read.into_result(),
        capped,
    })
}

/// A single-valued function's result; one over the cap comes back as the start of its JSON text
/// with a note, and Postgres sends no more of it than that start.
async fn call_single_value(
    connections: &StatementConnections,
    call: &str,
    values: &[Option<String>],
) -> Result<CappedValue, String> {
    // Room for the start of an oversized value once it is escaped as a JSON string (at most
    // twice its length: JSON text escapes only quotes and backslashes again), with its note.
    let partial_bytes = RESULT_CAP_BYTES / 2 - NOTE_RESERVE_BYTES;
    let statement = format!(
        "SELECT CASE WHEN octet_length(agentpod_json) <= {RESULT_CAP_BYTES} THEN agentpod_json \
                     ELSE left(agentpod_json, {partial_bytes}) END, \
                octet_length(agentpod_json) \
         FROM (SELECT to_jsonb({call})::text AS agentpod_json OFFSET 0) AS agentpod_value"
    );
    let mut value: CappedRow = (None, None);
    connections
        .run(Committed, &statement, values, |row| {
            value = (row.try_get(0)?, row.try_get(1)?);
            Ok(ControlFlow::Continue(()))
        })
        .await
        .map_err(|error| error.describe())?;
    let (text, size) = value;
    let Some(mut text) = text else {
        return Ok(CappedValue::whole(Value::Null));
    };
    let size = size
        .and_then(|size| usize::try_from(size).ok())
        .unwrap_or(0);
    if size <= RESULT_CAP_BYTES {
        let value = serde_json::from_str(&text)
            .map_err(|error| format!("cannot read the function's result as JSON: {error}"))?;
        return Ok(CappedValue::whole(value));
    }
    // `left` counts characters; the start is cut again here to a byte length.
    cut_at_boundary(&mut text, partial_bytes);
    Ok(CappedValue {
        value: json!({
            "truncated": true,
            "result_bytes": size,
            "cap_bytes": RESULT_CAP_BYTES,
            "note": format!(
                "the function's result is {size} bytes of JSON, over the {RESULT_CAP_BYTES}-byte \
                 result cap: `partial` holds the start of its JSON text; call it with narrower \
                 arguments to see the rest"
            ),
            "partial": text,
        }),
        capped: true,
    })
}

/// The text a JSON value is bound as before Postgres casts it to the argument's type.
fn bind_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

pub(crate) fn quote_identifier(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_types_map_to_json_schema() {
        assert_eq!(json_schema_of("integer"), json!({ "type": "integer" }));
        assert_eq!(json_schema_of("numeric(10,2)"), json!({ "type": "number" }));
        assert_eq!(json_schema_of("text"), json!({ "type": "string" }));
        assert_eq!(json_schema_of("boolean"), json!({ "type": "boolean" }));
        assert_eq!(json_schema_of("jsonb"), json!({ "type": "object" }));
        assert_eq!(
            json_schema_of("bigint[]"),
            json!({ "type": "array", "items": { "type": "integer" } })
        );
    }

    #[test]
    fn output_arguments_are_not_parameters_and_defaults_are_optional() {
        let function = function_from_catalog(
            "f".to_owned(),
            r#"{"parameters": {"b": "how many", "out_c": "not a parameter"}}"#,
            &["a".to_owned(), "b".to_owned(), "out_c".to_owned()],
            &["i".to_owned(), "i".to_owned(), "o".to_owned()],
            &[
                "integer".to_owned(),
                "text".to_owned(),
                "boolean".to_owned(),
            ],
            1,
            false,
            "record",
        );
        assert!(!function.positional);
        assert_eq!(
            function
                .arguments
                .iter()
                .map(|argument| (argument.name.as_str(), argument.required))
                .collect::<Vec<_>>(),
            vec![("a", true), ("b", false)]
        );
        assert_eq!(function.input_schema()["required"], json!(["a"]));
        assert_eq!(
            function.input_schema()["properties"]["b"]["description"],
            json!("how many (Postgres type text)")
        );
        assert_eq!(
            function.input_schema()["properties"]["a"]["description"],
            json!("Postgres type integer")
        );
    }

    #[test]
    fn unnamed_arguments_make_a_positional_call() {
        let function = function_from_catalog(
            "g".to_owned(),
            "",
            &[],
            &[],
            &["integer".to_owned()],
            1,
            false,
            "void",
        );
        assert!(function.positional);
        assert!(function.returns_void);
        assert_eq!(function.arguments[0].name, "arg1");
        assert!(function.arguments[0].required);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
