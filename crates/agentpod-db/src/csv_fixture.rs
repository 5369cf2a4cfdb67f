//! CSV data fixtures: the header names the columns, every other record is a row.
//!
//! Records are found with a small scanner rather than the csv crate, for two reasons: its
//! record positions drift over blank lines and CRLF endings, and only the original bytes keep
//! the difference between an unquoted empty field (NULL) and a quoted one (empty string), which
//! `COPY ... (FORMAT csv)` honours as `psql \copy` does. The header itself is parsed by the csv
//! crate, since its quoting rules are the same as Postgres'.

use std::path::Path;

use crate::FixtureError;
use crate::copy_load::CopyLoad;

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// One record as it sits in the file.
struct RawRecord {
    /// Byte range without the line terminator.
    start: usize,
    end: usize,
    /// 1-based line the record starts on.
    line: usize,
    fields: usize,
}

pub(crate) fn parse(file: &Path, table: &str, content: &[u8]) -> Result<CopyLoad, FixtureError> {
    let content = content.strip_prefix(BYTE_ORDER_MARK).unwrap_or(content);
    let records = scan(file, content)?;
    let Some((header, rows)) = records.split_first() else {
        return Err(FixtureError::invalid(file, 1, "CSV file has no header row"));
    };
    let columns = parse_header(file, header, &content[header.start..header.end])?;
    let mut load = CopyLoad::new(table, columns, header.line);
    for row in rows {
        if row.fields != load.columns.len() {
            return Err(FixtureError::invalid(
                file,
                row.line,
                format!(
                    "row has {} values but the header has {} columns",
                    row.fields,
                    load.columns.len()
                ),
            ));
        }
        load.push_row(&content[row.start..row.end], row.line);
    }
    Ok(load)
}

/// Splits the file into records: a newline ends a record unless it sits inside quotes. A doubled
/// quote toggles twice, so simple toggling tracks quoting correctly. Blank lines are skipped.
fn scan(file: &Path, content: &[u8]) -> Result<Vec<RawRecord>, FixtureError> {
    let mut records = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    let mut start_line = 1;
    let mut line = 1;
    let mut fields = 1;
    for (index, &byte) in content.iter().enumerate() {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => fields += 1,
            b'\n' => {
                line += 1;
                if !in_quotes {
                    push_record(&mut records, content, start, index, start_line, fields);
                    start = index + 1;
                    start_line = line;
                    fields = 1;
                }
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err(FixtureError::invalid(
            file,
            start_line,
            "quoted field is not closed before the end of the file",
        ));
    }
    push_record(
        &mut records,
        content,
        start,
        content.len(),
        start_line,
        fields,
    );
    Ok(records)
}

fn push_record(
    records: &mut Vec<RawRecord>,
    content: &[u8],
    start: usize,
    end: usize,
    line: usize,
    fields: usize,
) {
    let end = if end > start && content[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    if end > start {
        records.push(RawRecord {
            start,
            end,
            line,
            fields,
        });
    }
}

fn parse_header(
    file: &Path,
    header: &RawRecord,
    bytes: &[u8],
) -> Result<Vec<String>, FixtureError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            return Err(FixtureError::invalid(
                file,
                header.line,
                "CSV file has no header row",
            ));
        }
        Err(error) => {
            return Err(FixtureError::invalid(
                file,
                header.line,
                format!("cannot read the CSV header: {error}"),
            ));
        }
    }
    let mut columns = Vec::with_capacity(record.len());
    for name in &record {
        if name.trim().is_empty() {
            return Err(FixtureError::invalid(
                file,
                header.line,
                "CSV header has an empty column name",
            ));
        }
        columns.push(name.to_owned());
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(content: &str) -> Result<CopyLoad, FixtureError> {
        parse(Path::new("rows.csv"), "t", content.as_bytes())
    }

    #[test]
    fn records_keep_their_bytes_and_lines() -> Result<(), FixtureError> {
        let copy = load("id,name,note\r\n1,\"a, b\",\r\n\r\n2,\"multi\nline\",\"\"\r\n3,c,x")?;
        assert_eq!(copy.columns, vec!["id", "name", "note"]);
        assert_eq!(
            String::from_utf8_lossy(copy.data()),
            "1,\"a, b\",\n2,\"multi\nline\",\"\"\n3,c,x\n"
        );
        assert_eq!(copy.row_lines(), vec![2, 4, 6]);
        Ok(())
    }

    #[test]
    fn ragged_rows_name_their_line() {
        let error = load("a,b\r\n1,\"x,\ny\"\r\n\r\n3\n")
            .err()
            .map(|error| error.to_string());
        assert_eq!(
            error.as_deref(),
            Some("rows.csv:5: row has 1 values but the header has 2 columns")
        );
    }
}
