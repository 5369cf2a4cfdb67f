//! The renderings: Markdown and terminal snapshots of a small fixed run, JSON and JUnit parsed
//! back and counted, and text from a hostile agent shown inertly in every format.

use std::collections::BTreeMap;

use agentpod_report::{
    CategoryMix, Comparison, CurrentHandling, GateThresholds, ProductionBudgets, ProductionProfile,
    ReportFormat, RunInput, RunReport, evaluate_gate, render_comparison, render_gate,
    render_report,
};
use agentpod_store::{BoundaryDetail, OutcomeStatus, StepDetail};
use quick_xml::events::Event;

use crate::support::small_run;

pub fn production() -> ProductionProfile {
    ProductionProfile {
        issues_per_month: 12_000.0,
        by_category: Some(CategoryMix {
            field: "category".into(),
            weights: BTreeMap::from([
                ("billing".into(), 0.5),
                ("shipping".into(), 0.3),
                ("account".into(), 0.2),
            ]),
        }),
        current: Some(CurrentHandling {
            cost_usd_per_issue: 3.5,
            minutes_per_issue: 9.0,
        }),
        budgets: ProductionBudgets {
            monthly_cost_usd: Some(400.0),
            p95_cost_usd_per_issue: Some(0.05),
            p95_seconds_per_issue: Some(60.0),
        },
    }
}

pub fn report() -> RunReport {
    RunReport::build(&small_run(), Some(&production()), 7)
}

pub fn comparison() -> Comparison {
    let mut baseline = small_run();
    baseline.run.id = "20261124-090000-beef".into();
    baseline.run.agent_version = "baseline-0".into();
    for outcome in &mut baseline.outcomes {
        if outcome.issue_id == "T-9" || outcome.issue_id == "T-3" {
            outcome.status = OutcomeStatus::Passed;
        }
        if outcome.issue_id == "T-2" {
            outcome.status = OutcomeStatus::Failed;
        }
        if let Some(cost) = &mut outcome.usage.cost_usd {
            *cost *= 0.8;
        }
    }
    Comparison::build(&[baseline, small_run()], 7).unwrap()
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(
        "report_markdown",
        render_report(&report(), ReportFormat::Markdown).unwrap()
    );
    insta::assert_snapshot!(
        "comparison_markdown",
        render_comparison(&comparison(), ReportFormat::Markdown).unwrap()
    );
}

#[test]
fn terminal_snapshot() {
    insta::assert_snapshot!(
        "report_terminal",
        render_report(&report(), ReportFormat::Terminal).unwrap()
    );
    insta::assert_snapshot!(
        "comparison_terminal",
        render_comparison(&comparison(), ReportFormat::Terminal).unwrap()
    );
    let gate = evaluate_gate(
        &report(),
        Some(&comparison()),
        &GateThresholds {
            min_pass_rate: Some(0.75),
            max_regressions: Some(0),
            ..GateThresholds::default()
        },
    );
    insta::assert_snapshot!(
        "gate_terminal",
        render_gate(&gate, ReportFormat::Terminal).unwrap()
    );
}

#[test]
fn json_holds_every_figure() {
    let report = report();
    let json: serde_json::Value =
        serde_json::from_str(&render_report(&report, ReportFormat::Json).unwrap()).unwrap();
    assert_eq!(json["quality"]["passed"], 7);
    assert_eq!(
        json["quality"]["pass_rate"]["low"],
        report.quality.pass_rate.unwrap().low
    );
    assert_eq!(json["cost_usd"]["distribution"]["p95"], 0.09);
    assert_eq!(
        json["projection"]["monthly_cost_usd"]["estimate"]["value"],
        report
            .projection
            .as_ref()
            .unwrap()
            .monthly_cost_usd
            .unwrap()
            .estimate
            .value
    );
    assert_eq!(
        json["projection"]["monthly_cost_usd"]["against_budget"]["standing"],
        report
            .projection
            .as_ref()
            .unwrap()
            .monthly_cost_usd
            .unwrap()
            .against_budget
            .unwrap()
            .standing
            .as_str()
    );
    assert_eq!(json["issues"].as_array().unwrap().len(), 10);
    assert_eq!(json["boundary"]["violations"], 1);
    assert_eq!(json["verdict"]["ok"], false);
    assert!(
        json.get("timelines").is_none(),
        "timelines are for the page, not figures"
    );
    let comparison: serde_json::Value =
        serde_json::from_str(&render_comparison(&comparison(), ReportFormat::Json).unwrap())
            .unwrap();
    assert_eq!(comparison["runs"][1]["against_baseline"]["regressions"], 2);
}

/// Counts of elements and the attributes of the first `testsuite`.
struct JunitCounts {
    elements: BTreeMap<String, usize>,
    suite: BTreeMap<String, String>,
    messages: Vec<String>,
    case_names: Vec<String>,
}

fn parse_junit(xml: &str) -> JunitCounts {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut counts = JunitCounts {
        elements: BTreeMap::new(),
        suite: BTreeMap::new(),
        messages: Vec::new(),
        case_names: Vec::new(),
    };
    let mut depth = 0_i32;
    loop {
        let event = reader.read_event().unwrap_or_else(|error| {
            panic!(
                "invalid XML at {}: {error}\n{xml}",
                reader.buffer_position()
            )
        });
        let element = match &event {
            Event::Start(element) | Event::Empty(element) => element.clone(),
            Event::End(_) => {
                depth -= 1;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if matches!(event, Event::Start(_)) {
            depth += 1;
        }
        let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
        *counts.elements.entry(name.clone()).or_default() += 1;
        let attributes: BTreeMap<String, String> = element
            .attributes()
            .map(|attribute| {
                let attribute = attribute.unwrap();
                (
                    String::from_utf8(attribute.key.as_ref().to_vec()).unwrap(),
                    attribute.unescape_value().unwrap().into_owned(),
                )
            })
            .collect();
        match name.as_str() {
            "testsuite" if counts.suite.is_empty() => counts.suite = attributes,
            "failure" | "error" => counts.messages.push(attributes["message"].clone()),
            "testcase" => counts.case_names.push(attributes["name"].clone()),
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced elements");
    counts
}

#[test]
fn junit_has_one_case_per_issue_and_escapes_reasons() {
    let mut input = small_run();
    // A reason with everything XML must escape, and a control character it forbids.
    input.outcomes[2].reason = "wanted <priority> & \"high\", got 'low'\u{1b}[0m".into();
    let xml = render_report(&RunReport::build(&input, None, 7), ReportFormat::Junit).unwrap();
    let counts = parse_junit(&xml);
    assert_eq!(counts.elements["testsuites"], 1);
    assert_eq!(counts.elements["testcase"], 10);
    assert_eq!(counts.elements["failure"], 2);
    assert_eq!(counts.elements["error"], 1);
    assert_eq!(counts.suite["tests"], "10");
    assert_eq!(counts.suite["failures"], "2");
    assert_eq!(counts.suite["errors"], "1");
    assert_eq!(counts.suite["name"], "support-triage · baseline-1");
    assert!(
        counts
            .messages
            .contains(&"wanted <priority> & \"high\", got 'low'[0m".to_string()),
        "{:?}",
        counts.messages
    );
    assert_eq!(counts.case_names[0], "T-1");
    // Run properties (run, agent, runtime, pass rate, verdict, gate), then per issue: cost,
    // model calls, tool calls, seconds; and one issue's violations.
    assert_eq!(counts.elements["property"], 6 + 10 * 4 + 1);

    let comparison_xml = render_comparison(&comparison(), ReportFormat::Junit).unwrap();
    let counts = parse_junit(&comparison_xml);
    assert_eq!(
        counts.elements["testcase"], 3,
        "the flips: two regressions and one improvement"
    );
    assert_eq!(counts.elements["failure"], 2);
    assert_eq!(
        counts.case_names[..2],
        ["T-3".to_string(), "T-9".to_string()]
    );

    let gate = evaluate_gate(
        &report(),
        None,
        &GateThresholds {
            min_pass_rate: Some(0.9),
            ..GateThresholds::default()
        },
    );
    let counts = parse_junit(&render_gate(&gate, ReportFormat::Junit).unwrap());
    // Pass rate and violations fail; the three production budgets are checks too (undecided or
    // within, so they pass).
    assert_eq!(
        (counts.elements["testcase"], counts.elements["failure"]),
        (5, 2)
    );
}

/// What a hostile agent puts in its output, and so in reasons, tool names and the statements the
/// database refused: escape sequences that clear the screen and plant a hyperlink (OSC 8, ended by
/// BEL), a carriage return, a bidi override, and Markdown for a fake passing table row, a
/// heading, a tracking pixel and HTML.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]8;;http://evil/\u{7}click\u{1b}]8;;\u{7} failed\rpassed \
                       \u{202e}deliaf\u{202c} | ✅ | passed |\n### Approved\n\
                       ![x](http://evil/p.png)<img src=x>";

/// The small run with `text` wherever the agent or an issue can put it: a failed issue's and an
/// errored issue's reason, a tool name, a violation's statement and a category.
fn run_with(text: &str) -> RunInput {
    let mut input = small_run();
    for outcome in &mut input.outcomes {
        match outcome.issue_id.as_str() {
            "T-3" => outcome.reason = text.to_string(),
            "T-6" => outcome.reason = format!("agent exited with code 1: {text}"),
            _ => {}
        }
    }
    for step in &mut input.steps {
        if step.issue_id == "T-3"
            && let StepDetail::ToolCall(call) = &mut step.detail
        {
            call.tool = text.into();
        }
    }
    for event in &mut input.boundary_events {
        if let BoundaryDetail::Violation(violation) = &mut event.detail {
            violation.error = text.into();
        }
    }
    if let Some(issue) = input.issues.get_mut("T-9") {
        issue["category"] = text.into();
    }
    input
}

/// The first character of `text` a terminal or a viewer would act on instead of showing, other
/// than a newline.
fn active_character(text: &str) -> Option<char> {
    text.chars().find(|&character| {
        (character.is_control() && character != '\n')
            || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// Per Markdown table (consecutive lines starting with `|`), the column breaks of each row: the
/// pipes a GFM table splits at, those not after an odd run of backslashes.
fn table_column_breaks(markdown: &str) -> Vec<Vec<usize>> {
    let mut tables: Vec<Vec<usize>> = Vec::new();
    let mut in_table = false;
    for line in markdown.lines() {
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let mut backslashes = 0;
        let mut breaks = 0;
        for character in line.chars() {
            match character {
                '\\' => backslashes += 1,
                '|' if backslashes % 2 == 0 => {
                    breaks += 1;
                    backslashes = 0;
                }
                _ => backslashes = 0,
            }
        }
        if !in_table {
            tables.push(Vec::new());
            in_table = true;
        }
        if let Some(table) = tables.last_mut() {
            table.push(breaks);
        }
    }
    tables
}

/// A candidate run whose issues T-3 and T-9 regressed with `text` as their reason.
fn comparison_with(text: &str) -> Comparison {
    let mut baseline = run_with("plain");
    baseline.run.id = "20261124-090000-beef".into();
    for outcome in &mut baseline.outcomes {
        if outcome.issue_id == "T-9" || outcome.issue_id == "T-3" {
            outcome.status = OutcomeStatus::Passed;
        }
    }
    let mut candidate = run_with(text);
    for outcome in &mut candidate.outcomes {
        if outcome.issue_id == "T-9" {
            outcome.reason = text.to_string();
        }
    }
    // The same issues in both runs: only the agent's text differs (changed issues would add a
    // warning line to one rendering and not the other).
    baseline.issues = candidate.issues.clone();
    Comparison::build(&[baseline, candidate], 7).unwrap()
}

#[test]
fn text_from_the_agent_is_inert_in_the_terminal_rendering() {
    let plain = render_report(
        &RunReport::build(&run_with("plain"), None, 7),
        ReportFormat::Terminal,
    )
    .unwrap();
    let text = render_report(
        &RunReport::build(&run_with(HOSTILE), None, 7),
        ReportFormat::Terminal,
    )
    .unwrap();
    assert_eq!(active_character(&text), None, "{text}");
    assert_eq!(text.lines().count(), plain.lines().count(), "{text}");
    assert!(
        text.contains("T-3  failed   \\x1b[2J\\x1b]8;;http://evil/\\x07click"),
        "{text}"
    );
    assert!(
        text.contains("\\rpassed \\u{202e}deliaf\\u{202c}"),
        "{text}"
    );
    assert!(
        text.lines()
            .all(|line| !line.trim_start().starts_with("###")),
        "{text}"
    );

    let plain = render_comparison(&comparison_with("plain"), ReportFormat::Terminal).unwrap();
    let text = render_comparison(&comparison_with(HOSTILE), ReportFormat::Terminal).unwrap();
    assert_eq!(active_character(&text), None, "{text}");
    assert_eq!(text.lines().count(), plain.lines().count(), "{text}");
}

#[test]
fn text_from_the_agent_cannot_add_markup_to_the_markdown() {
    for (plain, markdown) in [
        (
            render_report(
                &RunReport::build(&run_with("plain"), Some(&production()), 7),
                ReportFormat::Markdown,
            )
            .unwrap(),
            render_report(
                &RunReport::build(&run_with(HOSTILE), Some(&production()), 7),
                ReportFormat::Markdown,
            )
            .unwrap(),
        ),
        (
            render_comparison(&comparison_with("plain"), ReportFormat::Markdown).unwrap(),
            render_comparison(&comparison_with(HOSTILE), ReportFormat::Markdown).unwrap(),
        ),
    ] {
        assert!(
            markdown.contains("deliaf"),
            "the reason is shown: {markdown}"
        );
        assert_eq!(active_character(&markdown), None, "{markdown}");
        assert_eq!(
            markdown.lines().count(),
            plain.lines().count(),
            "{markdown}"
        );
        assert!(!markdown.contains("<img"), "{markdown}");
        assert!(!markdown.contains("!["), "{markdown}");
        assert!(
            !markdown.replace("\\]", "").contains("]("),
            "no link or image: {markdown}"
        );
        assert!(
            !markdown.contains("http://"),
            "bare links are not autolinked: {markdown}"
        );
        assert_eq!(
            markdown
                .lines()
                .filter(|line| line.trim_start().starts_with('#'))
                .count(),
            1,
            "only the title is a heading: {markdown}"
        );
        // Every table keeps its columns: each row has as many column breaks as its header, and
        // as many as the same table with a plain reason.
        let tables = table_column_breaks(&markdown);
        assert_eq!(tables, table_column_breaks(&plain), "{markdown}");
        for table in &tables {
            assert!(table.iter().all(|&breaks| breaks == table[0]), "{markdown}");
        }
    }
}

#[test]
fn text_from_the_agent_is_inert_in_the_html_page() {
    let html = render_report(
        &RunReport::build(&run_with(HOSTILE), Some(&production()), 7),
        ReportFormat::Html,
    )
    .unwrap();
    let control = html
        .chars()
        .find(|&character| character.is_control() && character != '\n');
    assert_eq!(control, None);
    assert!(!html.contains('\u{202e}') && !html.contains("<img"));
    assert!(html.contains("&lt;img src=x&gt;"), "shown as text");
    let comparison = render_comparison(&comparison_with(HOSTILE), ReportFormat::Html).unwrap();
    assert_eq!(active_character(&comparison), None);
    assert!(!comparison.contains("<img"));
}

#[test]
fn text_from_the_agent_keeps_the_junit_file_parsable() {
    let xml = render_report(
        &RunReport::build(&run_with(HOSTILE), None, 7),
        ReportFormat::Junit,
    )
    .unwrap();
    assert_eq!(active_character(&xml), None);
    let counts = parse_junit(&xml);
    assert_eq!(counts.elements["testcase"], 10);
    assert_eq!(counts.elements["failure"], 2);
    assert_eq!(counts.elements["error"], 1);
    // The reason reads back as the agent wrote it, less what XML forbids or would reorder.
    let reason = counts
        .messages
        .iter()
        .find(|message| message.contains("[2J]8;;http://evil/click]8;; failed"))
        .unwrap_or_else(|| panic!("{:?}", counts.messages));
    assert!(
        reason.contains("passed deliaf | ✅ | passed |"),
        "{reason:?}"
    );
    assert!(
        reason.contains("![x](http://evil/p.png)<img src=x>"),
        "{reason:?}"
    );
    let comparison = render_comparison(&comparison_with(HOSTILE), ReportFormat::Junit).unwrap();
    assert_eq!(parse_junit(&comparison).elements["failure"], 2);
}
