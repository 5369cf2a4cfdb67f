//! Durations as written in a spec: a whole number and a unit, `500ms`, `30s`, `2m`, `1h`; and
//! the decoding of a positive one at a spec key.

use std::time::Duration;

pub(crate) const DURATION_HELP: &str =
    "write a whole number and a unit: `500ms`, `30s`, `2m` or `1h`";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    #[error("missing a unit")]
    MissingUnit,
    #[error("missing a number")]
    MissingNumber,
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    #[error("too large")]
    TooLarge,
}

const UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    let digits_end = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(DurationError::MissingNumber);
    }
    let unit = unit.trim_start();
    if unit.is_empty() {
        return Err(DurationError::MissingUnit);
    }
    let &(_, milliseconds_per_unit) = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .ok_or_else(|| DurationError::UnknownUnit(unit.to_owned()))?;
    let number: u64 = digits.parse().map_err(|_| DurationError::TooLarge)?;
    number
        .checked_mul(milliseconds_per_unit)
        .map(Duration::from_millis)
        .ok_or(DurationError::TooLarge)
}

/// The inverse of [`parse_duration`], in the largest unit that is exact.
pub(crate) fn format_duration(duration: Duration) -> String {
    let milliseconds = duration.as_millis();
    UNITS
        .iter()
        .rev()
        .find(|(_, per_unit)| {
            milliseconds.is_multiple_of(u128::from(*per_unit)) && milliseconds > 0
        })
        .map_or_else(
            || format!("{milliseconds}ms"),
            |(name, per_unit)| format!("{}{name}", milliseconds / u128::from(*per_unit)),
        )
}

/// Serializes a duration as a spec writes it, e.g. `30s`.
pub(crate) fn serialize_duration<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*duration))
}

/// A duration greater than zero at `node`, for the key `name`; a zero gets `zero_help` under
/// it, anything unreadable the format's help.
pub(crate) fn decode_positive_duration(
    decoder: &mut crate::decoder::Decoder<'_>,
    node: &crate::node::Node,
    name: &str,
    zero_help: Option<&str>,
) -> Option<Duration> {
    let text = decoder.string(node, name)?;
    match parse_duration(&text) {
        Ok(Duration::ZERO) => {
            decoder.report_with_help(
                node.position,
                format!("`{name}` must be greater than zero"),
                zero_help,
            );
            None
        }
        Ok(duration) => Some(duration),
        Err(error) => {
            decoder.report_with_help(
                node.position,
                format!("invalid duration `{text}` for `{name}`: {error}"),
                Some(DURATION_HELP),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30 s"), Ok(Duration::from_secs(30)));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse_duration("30"), Err(DurationError::MissingUnit));
        assert_eq!(parse_duration("s"), Err(DurationError::MissingNumber));
        assert_eq!(parse_duration("-1s"), Err(DurationError::MissingNumber));
        assert_eq!(
            parse_duration("30 seconds"),
            Err(DurationError::UnknownUnit("seconds".to_owned()))
        );
        assert_eq!(
            parse_duration("1.5s"),
            Err(DurationError::UnknownUnit(".5s".to_owned()))
        );
        assert_eq!(
            parse_duration("99999999999999999999h"),
            Err(DurationError::TooLarge)
        );
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::ZERO), "0ms");
    }
}
