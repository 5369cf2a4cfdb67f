//! Pod spec: load a YAML pod spec, validate it, and report every problem with file, line and
//! column.
//!
//! [`load`] is the one entry point. The YAML is parsed into a tree that keeps positions
//! (`yaml_tree`), then a hand-written decoder walks it and collects every problem as a
//! [`Diagnostic`] rather than stopping at the first.

mod access_class;
mod agent_isolation;
mod agent_limits;
mod agent_spec;
mod boundary_spec;
mod budgets_spec;
mod byte_size;
mod database_spec;
mod decoder;
mod diagnostic;
mod duration;
mod field_matcher;
mod fixture;
#[doc(hidden)]
pub mod fuzzing;
mod gate_spec;
mod gold_action_errors;
mod grading_spec;
mod identifier;
mod issues_spec;
mod json_value;
mod keys;
mod load;
mod model_spec;
mod model_upstream;
mod node;
mod paths;
mod pod_spec;
mod price_table_file;
mod production_spec;
mod proposal_response;
mod quoted_placeholder;
mod side_models_spec;
mod spec_error;
mod spec_locations;
mod sql_assertion;
mod template_part;
mod tool_calls_spec;
mod tools_spec;
mod upstream_limits_spec;
mod yaml_tree;

pub use access_class::{AccessClass, UnknownAccessClass};
pub use agent_isolation::AgentIsolation;
pub use agent_limits::AgentLimits;
pub use agent_spec::AgentSpec;
pub use boundary_spec::{BoundarySpec, ColumnRule, TableRule};
pub use budgets_spec::BudgetsSpec;
pub use database_spec::DatabaseSpec;
pub use diagnostic::{Diagnostic, Severity};
pub use field_matcher::FieldMatcher;
pub use fixture::{Fixture, FixtureKind};
pub use gate_spec::GateSpec;
pub use gold_action_errors::GoldActionErrors;
pub use grading_spec::GradingSpec;
pub use issues_spec::{IssueIdSource, IssuesSpec, MAX_TRIALS};
pub use load::load;
pub use model_spec::{ModelSpec, PROVIDER_FEATURES, StandInRuleSpec, StandInSpec};
pub use model_upstream::ModelUpstream;
pub use pod_spec::PodSpec;
pub use price_table_file::{ModelPriceEntry, load_price_table, price_table_from_source};
pub use production_spec::{CategoryMix, CurrentHandling, ProductionBudgets, ProductionSpec};
pub use proposal_response::ProposalResponse;
pub use side_models_spec::{CustomerSpec, JudgeSpec, SideModelSpec};
pub use spec_error::SpecError;
pub use spec_locations::SpecLocations;
pub use sql_assertion::SqlAssertion;
pub use template_part::{TemplateError, TemplatePart, parse_template};
pub use tool_calls_spec::{ExtraToolCalls, ToolCallOrder, ToolCallsSpec};
pub use tools_spec::{ToolServerKind, ToolServerSpec, ToolsSpec};
pub use upstream_limits_spec::{RetriesSpec, UpstreamLimitsSpec};

/// The model name of the offline stand-in (`upstream: stand-in`), what side models ask for when
/// their gateway is the stand-in and they name no model.
pub const STAND_IN_MODEL_NAME: &str = "agentpod-stand-in";
