//! The numbers OTLP gives span kinds and status codes, for the stored span's enums (which the run
//! store owns, so the mapping lives here as a trait).

use agentpod_store::{SpanKind, SpanStatusCode};

/// An enum of the stored span with a number on the OTLP wire.
pub(crate) trait OtlpNumber: Sized {
    fn from_otlp(number: i32) -> Self;
    fn to_otlp(self) -> i32;
}

impl OtlpNumber for SpanKind {
    fn from_otlp(kind: i32) -> SpanKind {
        match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    fn to_otlp(self) -> i32 {
        match self {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }
}

impl OtlpNumber for SpanStatusCode {
    fn from_otlp(code: i32) -> SpanStatusCode {
        match code {
            1 => SpanStatusCode::Ok,
            2 => SpanStatusCode::Error,
            _ => SpanStatusCode::Unset,
        }
    }

    fn to_otlp(self) -> i32 {
        match self {
            SpanStatusCode::Unset => 0,
            SpanStatusCode::Ok => 1,
            SpanStatusCode::Error => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_status_codes_round_trip_through_their_otlp_numbers() {
        for number in 0..=5 {
            assert_eq!(SpanKind::from_otlp(number).to_otlp(), number);
        }
        for number in 0..=2 {
            assert_eq!(SpanStatusCode::from_otlp(number).to_otlp(), number);
        }
        assert_eq!(SpanKind::from_otlp(42), SpanKind::Unspecified);
        assert_eq!(SpanStatusCode::from_otlp(-1), SpanStatusCode::Unset);
    }
}
