//! Turning one HTTP export request into an OTLP message: content type, gzip, size limits.
//! Every refusal carries the HTTP status the client gets and a message saying why.

use std::io::Read;

use axum::http::{HeaderMap, StatusCode, header};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::intake_record::PayloadEncoding;

/// Why an export request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }
}

pub(crate) fn payload_encoding(headers: &HeaderMap) -> PayloadEncoding {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    // Parameters such as `; charset=utf-8` do not change the encoding.
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => PayloadEncoding::Protobuf,
        "application/json" => PayloadEncoding::Json,
        _ => PayloadEncoding::Unsupported,
    }
}

/// `Ok(true)` for gzip, `Ok(false)` for none or identity.
pub(crate) fn is_gzip(headers: &HeaderMap) -> Result<bool, Refusal> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    let encoding = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(false),
        "gzip" => Ok(true),
        other => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_encoding",
            format!("content encoding `{other}` is not supported (use gzip or none)"),
        )),
    }
}

/// Inflates a gzip body, refusing output larger than `limit` so a small bomb cannot exhaust
/// memory.
pub(crate) fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, Refusal> {
    let mut inflated = Vec::new();
    let limit_plus_one = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(body)
        .take(limit_plus_one)
        .read_to_end(&mut inflated)
        .map_err(|error| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed_gzip",
                format!("cannot decode the gzip body: {error}"),
            )
        })?;
    if inflated.len() > limit {
        return Err(too_large(limit, "after gzip decoding"));
    }
    Ok(inflated)
}

pub(crate) fn too_large(limit: usize, when: &str) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("request body is larger than {limit} bytes {when}"),
    )
}

pub(crate) fn decode_request(
    encoding: PayloadEncoding,
    body: &[u8],
) -> Result<ExportTraceServiceRequest, Refusal> {
    match encoding {
        PayloadEncoding::Protobuf => ExportTraceServiceRequest::decode(body).map_err(|error| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed_protobuf",
                format!("cannot decode the protobuf ExportTraceServiceRequest: {error}"),
            )
        }),
        PayloadEncoding::Json => serde_json::from_slice(body).map_err(|error| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("cannot decode the JSON ExportTraceServiceRequest: {error}"),
            )
        }),
        PayloadEncoding::Unsupported => Err(unsupported_content_type()),
    }
}

pub(crate) fn unsupported_content_type() -> Refusal {
    Refusal::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_content_type",
        "content type must be application/x-protobuf or application/json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::io::Write;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn content_types_are_read_with_parameters_and_case() {
        assert_eq!(
            payload_encoding(&headers(&[(
                header::CONTENT_TYPE,
                "Application/JSON; charset=utf-8"
            )])),
            PayloadEncoding::Json
        );
        assert_eq!(
            payload_encoding(&headers(&[(
                header::CONTENT_TYPE,
                "application/x-protobuf"
            )])),
            PayloadEncoding::Protobuf
        );
        assert_eq!(
            payload_encoding(&HeaderMap::new()),
            PayloadEncoding::Unsupported
        );
    }

    #[test]
    fn unknown_content_encodings_are_refused() {
        let refusal = is_gzip(&headers(&[(header::CONTENT_ENCODING, "br")])).unwrap_err();
        assert_eq!(refusal.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            is_gzip(&headers(&[(header::CONTENT_ENCODING, "gzip")])),
            Ok(true)
        );
    }

    #[test]
    fn gzip_output_over_the_limit_is_refused() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 10_000]).unwrap();
        let compressed = encoder.finish().unwrap();
        assert_eq!(gunzip(&compressed, 10_000).unwrap().len(), 10_000);
        let refusal = gunzip(&compressed, 9_999).unwrap_err();
        assert_eq!(refusal.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(gunzip(b"not gzip", 100).unwrap_err().code, "malformed_gzip");
    }

    #[test]
    fn malformed_bodies_are_refused_with_their_encoding_named() {
        let refusal = decode_request(PayloadEncoding::Json, b"{not json").unwrap_err();
        assert_eq!(refusal.code, "malformed_json");
        let refusal = decode_request(PayloadEncoding::Protobuf, &[0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(refusal.code, "malformed_protobuf");
    }
}
