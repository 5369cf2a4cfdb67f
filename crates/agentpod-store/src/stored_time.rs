//! The one way the run store writes a time: RFC 3339 in UTC with exactly six fractional digits
//! and a `Z` (`2026-11-25T12:00:01.250000Z`), in every time column.
//!
//! Text of one fixed width sorts as the times it holds, so the store orders by these columns as
//! text (`ORDER BY started_at`) and gets time order. Text rather than integer microseconds: the
//! columns were declared `TEXT`, and SQLite converts an integer put in a `TEXT` column back to
//! text; giving them another type means rebuilding `runs`, whose rebuild would cascade-delete
//! every outcome and step with foreign keys on. Text also stays readable in `sqlite3` and its
//! date functions. Microseconds are what the gateways' clocks and Postgres give; the agent's spans
//! keep their nanoseconds in their own detail.
//!
//! Migration `0005_one_time_format.sql` rewrites the times of older stores into this form.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::StoreError;

/// `time` as the store writes it. Sub-microsecond digits are dropped, as the migration does.
pub(crate) fn stored_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A time column read back. Any RFC 3339 text is read, so a store opened read-only, and thus
/// never migrated, still reads.
pub(crate) fn parse_stored_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| StoreError::Corrupt(format!("time `{text}`: {error}")))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn every_time_is_written_with_the_same_width_and_sorts_as_text() {
        let whole = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap();
        let later = whole + chrono::Duration::nanoseconds(250_000_999);
        assert_eq!(stored_time(&whole), "2026-11-25T12:00:01.000000Z");
        assert_eq!(stored_time(&later), "2026-11-25T12:00:01.250000Z");
        assert!(stored_time(&whole) < stored_time(&later));
        assert_eq!(
            parse_stored_time(&stored_time(&later)).unwrap(),
            whole + chrono::Duration::microseconds(250_000)
        );
    }

    #[test]
    fn older_forms_still_read() {
        let expected = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap();
        assert_eq!(
            parse_stored_time("2026-11-25T12:00:01+00:00").unwrap(),
            expected
        );
        assert_eq!(
            parse_stored_time("2026-11-25T13:00:01+01:00").unwrap(),
            expected
        );
        assert!(matches!(
            parse_stored_time("yesterday"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
