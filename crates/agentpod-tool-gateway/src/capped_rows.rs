//! Rows read as JSON, one at a time, up to the result cap. Postgres writes each row's JSON text
//! and its size; a row larger than the cap alone comes back as its size only, so neither the
//! wire nor the gateway ever carries more than the cap for one row. Reading stops at the first
//! row that would take the result past the cap, so a query that would return 50 MB costs the
//! gateway about 1 MiB.

use std::ops::ControlFlow;

use serde_json::{Value, json};

use crate::result_cap::{NOTE_RESERVE_BYTES, RESULT_CAP_BYTES, json_size};

/// The statement that reads `select`'s rows for [`CappedRowsReader`]. `select` must yield one
/// text column named `agentpod_json` holding each row's JSON, and must not be flattened into the
/// outer query (a `LIMIT` or `OFFSET 0` keeps it apart), so each row's JSON is made once.
pub(crate) fn capped_json_rows(select: &str) -> String {
    format!(
        "SELECT CASE WHEN octet_length(agentpod_json) <= {RESULT_CAP_BYTES} THEN agentpod_json END, \
                octet_length(agentpod_json) \
         FROM ({select}) AS agentpod_rows"
    )
}

/// A row of [`capped_json_rows`]: its JSON text when it fits the cap, and its size in bytes.
pub(crate) type CappedRow = (Option<String>, Option<i32>);

/// Why reading stopped before the rows ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowsStop {
    /// There were more than `max_rows` rows.
    RowLimit { max_rows: usize },
    /// The next row would have taken the result past the cap.
    ByteCap,
    /// The next row alone is larger than the cap.
    OversizedRow { row_bytes: usize },
}

/// The rows that fit, in order, and why reading stopped early, if it did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CappedRows {
    pub(crate) rows: Vec<Value>,
    pub(crate) stop: Option<RowsStop>,
}

impl CappedRows {
    /// Whether the byte cap, rather than the rows running out or the row limit, ended reading:
    /// the statement then still has rows the server would send.
    pub(crate) fn stopped_at_the_cap(&self) -> bool {
        matches!(
            self.stop,
            Some(RowsStop::ByteCap | RowsStop::OversizedRow { .. })
        )
    }

    /// The rows as an object that says whether, and why, they are not all of them.
    pub(crate) fn into_result(self) -> Value {
        let row_count = self.rows.len();
        let mut result = json!({
            "rows": self.rows,
            "row_count": row_count,
            "truncated": self.stop.is_some(),
        });
        let note = match self.stop {
            None => return result,
            Some(RowsStop::RowLimit { max_rows }) => format!(
                "only the first {max_rows} rows are returned; narrow the query or add LIMIT/OFFSET"
            ),
            Some(RowsStop::ByteCap) => format!(
                "the rows passed the {RESULT_CAP_BYTES}-byte result cap: only the first {row_count} \
                 are returned; select fewer or shorter columns, or narrow the query with WHERE or \
                 LIMIT/OFFSET"
            ),
            Some(RowsStop::OversizedRow { row_bytes }) => format!(
                "row {} alone is {row_bytes} bytes of JSON, over the {RESULT_CAP_BYTES}-byte result \
                 cap: only the {row_count} rows before it are returned; select fewer or shorter \
                 columns (for example left(column, 1000))",
                row_count + 1
            ),
        };
        result["cap_bytes"] = json!(RESULT_CAP_BYTES);
        result["note"] = json!(note);
        result
    }
}

/// Reads the rows of a [`capped_json_rows`] statement, one at a time as they arrive, until they
/// run out, `max_rows` of them were read, or the next would take their JSON array past the cap
/// less room for a note.
pub(crate) struct CappedRowsReader {
    max_rows: Option<usize>,
    /// Bytes of the JSON array so far, its brackets included.
    used: usize,
    read: CappedRows,
}

impl CappedRowsReader {
    pub(crate) fn new(max_rows: Option<usize>) -> CappedRowsReader {
        CappedRowsReader {
            max_rows,
            used: 2,
            read: CappedRows {
                rows: Vec::new(),
                stop: None,
            },
        }
    }

    /// Takes the next row; `Break` once reading should stop. A row whose JSON text does not
    /// decode is an error.
    pub(crate) fn push(
        &mut self,
        (text, row_bytes): CappedRow,
    ) -> Result<ControlFlow<()>, serde_json::Error> {
        let read = &mut self.read;
        if let Some(max_rows) = self.max_rows
            && read.rows.len() >= max_rows
        {
            read.stop = Some(RowsStop::RowLimit { max_rows });
            return Ok(ControlFlow::Break(()));
        }
        let Some(text) = text else {
            let row_bytes = row_bytes
                .and_then(|bytes| usize::try_from(bytes).ok())
                .unwrap_or(0);
            // NULL JSON text with no size is a row that is SQL NULL itself: JSON null.
            if row_bytes == 0 {
                read.rows.push(Value::Null);
                self.used += 5;
                return Ok(ControlFlow::Continue(()));
            }
            read.stop = Some(RowsStop::OversizedRow { row_bytes });
            return Ok(ControlFlow::Break(()));
        };
        let row: Value = serde_json::from_str(&text)?;
        drop(text);
        let separator = usize::from(!read.rows.is_empty());
        let size = json_size(&row) + separator;
        if self.used + size > RESULT_CAP_BYTES - NOTE_RESERVE_BYTES {
            read.stop = Some(RowsStop::ByteCap);
            return Ok(ControlFlow::Break(()));
        }
        self.used += size;
        read.rows.push(row);
        Ok(ControlFlow::Continue(()))
    }

    /// The rows read, and why reading stopped early, if it did.
    pub(crate) fn finish(self) -> CappedRows {
        self.read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: Value) -> CappedRow {
        let text = value.to_string();
        let size = i32::try_from(text.len()).unwrap_or(i32::MAX);
        (Some(text), Some(size))
    }

    /// What a reader keeps of `rows`, given one at a time until it says stop.
    fn read(rows: Vec<CappedRow>, max_rows: Option<usize>) -> CappedRows {
        let mut reader = CappedRowsReader::new(max_rows);
        for row in rows {
            if reader.push(row).expect("rows that decode").is_break() {
                break;
            }
        }
        reader.finish()
    }

    #[test]
    fn rows_under_every_limit_are_all_read() {
        let read = read(
            vec![row(json!({ "n": 1 })), row(json!({ "n": 2 }))],
            Some(5),
        );
        assert_eq!(read.rows, vec![json!({ "n": 1 }), json!({ "n": 2 })]);
        assert_eq!(read.stop, None);
        assert_eq!(
            read.into_result(),
            json!({ "rows": [{ "n": 1 }, { "n": 2 }], "row_count": 2, "truncated": false })
        );
    }

    #[test]
    fn reading_stops_before_the_row_that_passes_the_cap() {
        let wide = json!({ "text": "w".repeat(RESULT_CAP_BYTES / 3) });
        let read = read((0..10).map(|_| row(wide.clone())).collect(), None);
        assert_eq!(read.rows.len(), 2);
        assert_eq!(read.stop, Some(RowsStop::ByteCap));
        assert!(read.stopped_at_the_cap());
        let result = read.into_result();
        assert_eq!(result["truncated"], json!(true));
        assert!(result.to_string().len() <= RESULT_CAP_BYTES);
    }

    #[test]
    fn a_row_over_the_cap_alone_stops_reading_with_its_size() {
        let oversized: CappedRow = (None, Some(50_000_000));
        let read = read(vec![row(json!(1)), oversized, row(json!(3))], None);
        assert_eq!(read.rows, vec![json!(1)]);
        assert_eq!(
            read.stop,
            Some(RowsStop::OversizedRow {
                row_bytes: 50_000_000
            })
        );
        let note = read.into_result()["note"].as_str().map(str::to_owned);
        assert!(note.is_some_and(|note| note.contains("row 2 alone is 50000000 bytes")));
    }

    #[test]
    fn the_row_limit_reads_one_row_past_it_to_know_there_are_more() {
        let read = read((1..=4).map(|n| row(json!(n))).collect(), Some(3));
        assert_eq!(read.rows.len(), 3);
        assert_eq!(read.stop, Some(RowsStop::RowLimit { max_rows: 3 }));
        assert!(!read.stopped_at_the_cap());
    }
}
