//! Run store: runs, the issues they sampled and each issue's outcome, in a SQLite file or a shared
//! Postgres database (sqlx, migrations).
//!
//! Outcomes are written one by one as issues end, so a run that dies half-way keeps what it did.
//! A run may try each issue several times (`--trials K`): outcomes, steps and boundary events
//! carry their trial, from 1.
//!
//! This crate owns the types of what it writes out, so writers (the runner) and readers (traces,
//! reports) share one shape: a step's detail is a typed [`StepDetail`], a boundary event's a
//! typed [`BoundaryDetail`], and every time column holds one format (see `stored_time`).

mod boundary_event;
mod error;
mod issue_pages;
mod model_call_detail;
mod records;
mod rejected_request_detail;
mod report_model;
mod run_bundle;
mod run_sharding;
mod run_store;
mod shard_merge;
mod side_model_usage;
mod span;
mod step;
mod step_detail;
mod store_location;
mod stored_time;
mod tool_call_detail;

pub use boundary_event::{
    BoundaryDetail, BoundaryEventKind, BoundaryEventRecord, ProposalDetail, RowChangeDetail,
    ViolationDetail,
};
pub use error::StoreError;
pub use issue_pages::Page;
pub use model_call_detail::{ModelCallDetail, ModelCallOutcome, RecordedText, TokenCounts};
pub use records::{
    EvaluationSet, NewRun, OutcomeRecord, OutcomeStatus, OwnTime, PendingTrial, RunRecord,
    RunStatus,
};
pub use rejected_request_detail::RejectedRequestDetail;
pub use report_model::ReportModelLookup;
pub use run_bundle::{RUN_BUNDLE_FORMAT, RunBundle};
pub use run_sharding::{
    RunSharding, ShardPart, ShardRecord, bytes_sha256, derived_group, sample_fingerprint,
    shard_wall_seconds, work_index,
};
pub use run_store::{DEFAULT_STORE_PATH, RunHold, RunStore};
pub use shard_merge::{ShardMergeError, merge_shard_bundles};
pub use side_model_usage::{JudgeVerdict, SideModelUsage, SideModelsUsage};
pub use span::{Span, SpanEvent, SpanKind, SpanStatus, SpanStatusCode};
pub use step::{IssueUsage, StepKind, StepRecord};
pub use step_detail::StepDetail;
pub use store_location::StoreLocation;
pub use tool_call_detail::{CUSTOMER_TOOL, ToolCallDetail, ToolCallOutcome};
