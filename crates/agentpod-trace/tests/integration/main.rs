//! Integration tests of the trace intake and the OTLP export, in one binary: the official
//! OpenTelemetry Python SDK exporting to the intake, raw OTLP requests (JSON, gzip, bad tokens,
//! malformed and oversized bodies), the limits a flooding agent runs into, and a run exported to
//! a second intake acting as collector.

mod export;
mod limits;
mod python_sdk;
mod raw_requests;
mod support;
