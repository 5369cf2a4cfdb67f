//! The keys every section of a pod spec accepts, in one place: a new section (`model`,
//! `grading`, `production`, `gate`) starts by being added here.

pub(crate) const TOP_LEVEL: &[&str] = &[
    "name",
    "description",
    "database",
    "agent",
    "issues",
    "pods",
    "boundary",
    "model",
    "budgets",
    "tools",
    "grading",
    "judge",
    "customer",
    "production",
    "gate",
];
pub(crate) const DATABASE: &[&str] = &["image", "fixtures"];
pub(crate) const FIXTURE: &[&str] = &["sql", "table", "csv", "jsonl"];
pub(crate) const AGENT: &[&str] = &[
    "command",
    "image",
    "version",
    "timeout",
    "output_limit",
    "env",
    "limits",
    "isolation",
    "read_only",
];
pub(crate) const AGENT_LIMITS: &[&str] = &["memory", "cpus", "pids"];
pub(crate) const ISSUES: &[&str] = &[
    "source",
    "id",
    "expected",
    "fields",
    "sample",
    "seed",
    "stratify_by",
    "trials",
];
pub(crate) const BOUNDARY: &[&str] = &["default", "on_proposal", "tables", "columns"];
pub(crate) const MODEL: &[&str] = &[
    "upstream",
    "base_url",
    "api_key_env",
    "cassettes",
    "prices",
    "timeout",
    "stand_in",
    "allow_provider_features",
    "limits",
    "retries",
];
pub(crate) const MODEL_LIMITS: &[&str] = &[
    "requests_per_minute",
    "tokens_per_minute",
    "concurrent_calls",
    "max_queued_calls",
];
pub(crate) const MODEL_RETRIES: &[&str] = &["max_retries", "initial_backoff", "max_backoff"];
pub(crate) const STAND_IN: &[&str] = &["rules"];
pub(crate) const STAND_IN_RULE: &[&str] = &["when", "tool", "arguments", "reply"];
pub(crate) const BUDGETS: &[&str] = &[
    "max_cost_usd",
    "max_llm_calls",
    "max_tokens",
    "max_tool_calls",
    "max_run_cost_usd",
];
pub(crate) const TOOLS: &[&str] = &["sql_functions_schema", "servers"];
pub(crate) const TOOL_SERVER: &[&str] = &["name", "command", "url"];
pub(crate) const GRADING: &[&str] = &[
    "fields",
    "sql",
    "gold_actions",
    "gold_action_errors",
    "ignore_columns",
    "tool_calls",
    "no_violations",
    "budgets",
];
pub(crate) const JUDGE: &[&str] = &["rubric", "repeats", "model", "gateway"];
pub(crate) const JUDGE_REQUIRED: &[&str] = &["rubric"];
pub(crate) const CUSTOMER: &[&str] = &["max_turns", "model", "gateway"];
pub(crate) const TOOL_CALLS: &[&str] = &["order", "extra_calls"];
/// The matchers written as a mapping; `equal` is written as a plain word.
pub(crate) const FIELD_MATCHER: &[&str] = &["one_of", "regex", "within"];
pub(crate) const FIELD_MATCHER_WORDS: &[&str] = &["equal"];
pub(crate) const SQL_ASSERTION: &[&str] = &["name", "query"];
pub(crate) const PRODUCTION: &[&str] = &["issues_per_month", "by_category", "current", "budgets"];
pub(crate) const CATEGORY_MIX: &[&str] = &["field", "shares"];
pub(crate) const CURRENT_HANDLING: &[&str] = &["cost_usd_per_issue", "minutes_per_issue"];
pub(crate) const PRODUCTION_BUDGETS: &[&str] = &[
    "monthly_cost_usd",
    "p95_cost_usd_per_issue",
    "p95_seconds_per_issue",
];
pub(crate) const GATE: &[&str] = &[
    "min_pass_rate",
    "max_regressions",
    "max_monthly_cost_usd",
    "max_p95_cost_usd",
    "max_p95_seconds",
    "max_violations",
];

/// The keys a spec must set, by section.
pub(crate) const TOP_LEVEL_REQUIRED: &[&str] = &["name", "database", "agent", "issues"];
pub(crate) const DATABASE_REQUIRED: &[&str] = &["image"];
/// `command` or `image` is required too; `AgentSpec::decode` checks for one of the two.
pub(crate) const AGENT_REQUIRED: &[&str] = &["version"];
pub(crate) const ISSUES_REQUIRED: &[&str] = &["source"];
pub(crate) const MODEL_REQUIRED: &[&str] = &["upstream"];
pub(crate) const STAND_IN_RULE_REQUIRED: &[&str] = &["when"];
/// `command` or `url` is required too; `ToolServerSpec::decode` checks for exactly one.
pub(crate) const TOOL_SERVER_REQUIRED: &[&str] = &["name"];
pub(crate) const SQL_ASSERTION_REQUIRED: &[&str] = &["name", "query"];
pub(crate) const PRODUCTION_REQUIRED: &[&str] = &["issues_per_month"];
pub(crate) const CATEGORY_MIX_REQUIRED: &[&str] = &["field", "shares"];

/// The known key closest to `unknown`, if it is close enough to be a typo.
pub(crate) fn suggest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(unknown, candidate), *candidate))
        .filter(|(distance, candidate)| {
            // Short keys need a tighter bound, or every two-letter key suggests something.
            let allowed = (candidate.len().max(unknown.len()) / 3).max(1);
            *distance <= allowed
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// "`a`, `b` or `c`", for help lines listing the accepted keys.
pub(crate) fn list(keys: &[&str]) -> String {
    join(keys, "or")
}

/// "`a`, `b` and `c`", for messages listing missing keys.
pub(crate) fn list_all(keys: &[&str]) -> String {
    join(keys, "and")
}

fn join(keys: &[&str], conjunction: &str) -> String {
    let quoted: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(suggest("fixturs", DATABASE), Some("fixtures"));
        assert_eq!(suggest("timout", AGENT), Some("timeout"));
        assert_eq!(suggest("stratifyby", ISSUES), Some("stratify_by"));
        assert_eq!(suggest("grading", TOP_LEVEL), Some("grading"));
        assert_eq!(suggest("sandbox", TOP_LEVEL), None);
        assert_eq!(suggest("gradin", TOP_LEVEL), Some("grading"));
        assert_eq!(suggest("one_off", FIELD_MATCHER), Some("one_of"));
        assert_eq!(suggest("min_passrate", GATE), Some("min_pass_rate"));
        assert_eq!(suggest("boundry", TOP_LEVEL), Some("boundary"));
        assert_eq!(suggest("on_proposals", BOUNDARY), Some("on_proposal"));
        assert_eq!(suggest("xyz", FIXTURE), None);
        assert_eq!(suggest("max_cost", BUDGETS), Some("max_cost_usd"));
        assert_eq!(suggest("upstrem", MODEL), Some("upstream"));
    }

    #[test]
    fn lists_keys_for_help() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` or `c`");
        assert_eq!(list_all(&["a", "b"]), "`a` and `b`");
    }
}
