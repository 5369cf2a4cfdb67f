//! Byte sizes as written in a spec: a whole number and a binary unit, `512B`, `64KiB`, `1MiB`.

pub(crate) const BYTE_SIZE_HELP: &str =
    "write a whole number and a unit: `B`, `KiB`, `MiB` or `GiB`, e.g. `1MiB`";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ByteSizeError {
    #[error("missing a unit")]
    MissingUnit,
    #[error("missing a number")]
    MissingNumber,
    #[error("unknown unit `{unit}`")]
    UnknownUnit {
        unit: String,
        /// The binary unit a decimal or miscapitalised one most likely meant (`MB` → `MiB`).
        suggestion: Option<&'static str>,
    },
    #[error("too large")]
    TooLarge,
}

const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

pub(crate) fn parse_byte_size(text: &str) -> Result<usize, ByteSizeError> {
    let text = text.trim();
    let digits_end = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(ByteSizeError::MissingNumber);
    }
    let unit = unit.trim_start();
    if unit.is_empty() {
        return Err(ByteSizeError::MissingUnit);
    }
    let Some(&(_, bytes_per_unit)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(ByteSizeError::UnknownUnit {
            unit: unit.to_owned(),
            suggestion: suggest_unit(unit),
        });
    };
    let number: u64 = digits.parse().map_err(|_| ByteSizeError::TooLarge)?;
    number
        .checked_mul(bytes_per_unit)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .ok_or(ByteSizeError::TooLarge)
}

fn suggest_unit(unit: &str) -> Option<&'static str> {
    match unit.to_ascii_lowercase().as_str() {
        "b" | "byte" | "bytes" => Some("B"),
        "k" | "kb" | "kib" => Some("KiB"),
        "m" | "mb" | "mib" => Some("MiB"),
        "g" | "gb" | "gib" => Some("GiB"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_units() {
        assert_eq!(parse_byte_size("512B"), Ok(512));
        assert_eq!(parse_byte_size("64KiB"), Ok(65_536));
        assert_eq!(parse_byte_size("1MiB"), Ok(1_048_576));
        assert_eq!(parse_byte_size("2 GiB"), Ok(2_147_483_648));
    }

    #[test]
    fn suggests_binary_units_for_decimal_ones() {
        assert_eq!(
            parse_byte_size("1MB"),
            Err(ByteSizeError::UnknownUnit {
                unit: "MB".to_owned(),
                suggestion: Some("MiB"),
            })
        );
        assert_eq!(
            parse_byte_size("1 parsecs"),
            Err(ByteSizeError::UnknownUnit {
                unit: "parsecs".to_owned(),
                suggestion: None,
            })
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse_byte_size("1024"), Err(ByteSizeError::MissingUnit));
        assert_eq!(parse_byte_size("MiB"), Err(ByteSizeError::MissingNumber));
        assert_eq!(
            parse_byte_size("99999999999999999999GiB"),
            Err(ByteSizeError::TooLarge)
        );
    }
}
