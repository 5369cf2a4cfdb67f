//! The projection against a direct computation: the point estimates exactly, the intervals by
//! redoing the documented bootstrap draws here, and the intervals shrinking with the sample.

use std::collections::BTreeMap;

use agentpod_report::{
    CategoryMix, CurrentHandling, DEFAULT_RESAMPLES, ProductionBudgets, ProductionProfile,
    RunInput, RunReport, Standing,
};
use agentpod_store::OutcomeStatus;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::support::{Issue, close, nearest_rank, percentile_band, run_input};

const SECONDS_PER_MONTH: f64 = 365.25 / 12.0 * 24.0 * 3600.0;

/// `count` issues with costs, tool calls and times that vary in a fixed, skewed pattern.
fn varied_run(count: usize) -> (RunInput, Vec<f64>, Vec<f64>) {
    let ids: Vec<String> = (0..count).map(|i| format!("I-{i}")).collect();
    let costs: Vec<f64> = (0..count)
        .map(|i| 0.01 + 0.002 * ((i * 7) % 13) as f64 + if i % 10 == 9 { 0.05 } else { 0.0 })
        .collect();
    let seconds: Vec<f64> = (0..count).map(|i| 3.0 + ((i * 5) % 11) as f64).collect();
    let issues: Vec<Issue<'_>> = (0..count)
        .map(|i| Issue {
            id: &ids[i],
            status: if i % 4 == 0 {
                OutcomeStatus::Failed
            } else {
                OutcomeStatus::Passed
            },
            cost: Some(costs[i]),
            tool_calls: (i % 6) as u32,
            seconds: seconds[i],
        })
        .collect();
    (run_input("varied", "v1", &issues), costs, seconds)
}

fn profile(issues_per_month: f64) -> ProductionProfile {
    ProductionProfile {
        issues_per_month,
        by_category: None,
        current: Some(CurrentHandling {
            cost_usd_per_issue: 4.0,
            minutes_per_issue: 12.0,
        }),
        budgets: ProductionBudgets {
            monthly_cost_usd: Some(10_000.0),
            p95_cost_usd_per_issue: Some(0.01),
            p95_seconds_per_issue: None,
        },
    }
}

/// The documented draws: per resample, per stratum in order, one index per member.
fn direct_bootstrap(strata: &[Vec<f64>], shares: &[f64], seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut means, mut tails) = (Vec::new(), Vec::new());
    for _ in 0..DEFAULT_RESAMPLES {
        let mut weighted: Vec<(f64, f64)> = Vec::new();
        let mut mean = 0.0;
        for (values, share) in strata.iter().zip(shares) {
            let drawn: Vec<f64> = (0..values.len())
                .map(|_| values[rng.random_range(0..values.len())])
                .collect();
            mean += share * drawn.iter().sum::<f64>() / drawn.len() as f64;
            weighted.extend(
                drawn
                    .iter()
                    .map(|value| (*value, share / drawn.len() as f64)),
            );
        }
        weighted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cumulative = 0.0;
        let tail = weighted
            .iter()
            .find(|(_, weight)| {
                cumulative += weight;
                cumulative >= 0.95 - 1e-9
            })
            .map(|(value, _)| *value)
            .unwrap_or(weighted[weighted.len() - 1].0);
        means.push(mean);
        tails.push(tail);
    }
    (means, tails)
}

#[test]
fn unweighted_projection_matches_a_direct_computation() {
    let (input, costs, seconds) = varied_run(40);
    let volume = 20_000.0;
    let report = RunReport::build(&input, Some(&profile(volume)), 5);
    let projection = report.projection.as_ref().unwrap();
    assert_eq!(projection.sample_issues, 40);
    let mean_cost = costs.iter().sum::<f64>() / 40.0;
    let mean_seconds = seconds.iter().sum::<f64>() / 40.0;
    let monthly = projection.monthly_cost_usd.unwrap();
    assert!(close(monthly.estimate.value, volume * mean_cost, 1e-9));

    let (means, tails) = direct_bootstrap(std::slice::from_ref(&costs), &[1.0], 5);
    let (low, high) = percentile_band(means);
    assert!(
        close(
            monthly.estimate.low,
            (volume * low).min(monthly.estimate.value),
            1e-9
        ),
        "{monthly:?} vs {}",
        volume * low
    );
    assert!(close(monthly.estimate.high, volume * high, 1e-9));
    assert!(monthly.estimate.contains(monthly.estimate.value));

    let mut sorted = costs.clone();
    sorted.sort_by(f64::total_cmp);
    let p95 = projection.p95_cost_usd_per_issue.unwrap();
    assert_eq!(p95.estimate.value, nearest_rank(&sorted, 0.95));
    let (low, high) = percentile_band(tails);
    assert!(
        close(p95.estimate.low, low.min(p95.estimate.value), 1e-12)
            && close(p95.estimate.high, high.max(p95.estimate.value), 1e-12)
    );

    let hours = projection.monthly_agent_hours.unwrap();
    assert!(close(
        hours.estimate.value,
        volume * mean_seconds / 3600.0,
        1e-9
    ));
    let concurrency = projection.concurrency_mean.unwrap();
    assert!(close(
        concurrency.estimate.value,
        volume / SECONDS_PER_MONTH * mean_seconds,
        1e-12
    ));
    let mut sorted_seconds = seconds.clone();
    sorted_seconds.sort_by(f64::total_cmp);
    assert!(close(
        projection.concurrency_p95.unwrap().estimate.value,
        volume / SECONDS_PER_MONTH * nearest_rank(&sorted_seconds, 0.95),
        1e-12
    ));
    let tool_calls: f64 = (0..40).map(|i| (i % 6) as f64).sum::<f64>() / 40.0;
    assert!(close(
        projection.monthly_tool_calls.unwrap().estimate.value,
        volume * tool_calls,
        1e-9
    ));
    let model_calls: f64 = (0..40).map(|i| (2 + (i % 6) / 2) as f64).sum::<f64>() / 40.0;
    assert!(close(
        projection.monthly_model_calls.unwrap().estimate.value,
        volume * model_calls,
        1e-9
    ));

    // Against today's handling: $4 and 12 minutes per issue.
    assert_eq!(projection.current_monthly_cost_usd, Some(80_000.0));
    assert_eq!(projection.current_monthly_hours, Some(4_000.0));
    assert_eq!(monthly.against_current.unwrap().standing, Standing::Within);
    assert_eq!(hours.against_current.unwrap().standing, Standing::Within);
    // The p95 per issue is far above the $0.01 budget.
    assert_eq!(p95.against_budget.unwrap().standing, Standing::Over);
    assert!(!report.verdict.ok);
}

#[test]
fn undecided_budget_says_how_many_issues_would_decide_it() {
    let (input, costs, _) = varied_run(40);
    let volume = 20_000.0;
    let estimate = volume * costs.iter().sum::<f64>() / 40.0;
    let mut production = profile(volume);
    // Just above the estimate, inside the interval.
    production.budgets.monthly_cost_usd = Some(estimate * 1.03);
    let report = RunReport::build(&input, Some(&production), 5);
    let monthly = report.projection.unwrap().monthly_cost_usd.unwrap();
    let budget = monthly.against_budget.unwrap();
    assert_eq!(budget.standing, Standing::Undecided, "{monthly:?}");
    let half_width = monthly.estimate.high - monthly.estimate.value;
    let distance = estimate * 0.03;
    let expected = (40.0 * (half_width / distance).powi(2)).ceil() as usize;
    assert_eq!(budget.issues_to_decide, Some(expected));
    assert!(expected > 40);
    assert!(
        report
            .verdict
            .concerns
            .iter()
            .any(|concern| concern.contains(&format!("about {expected} issues would decide it"))),
        "{:?}",
        report.verdict.concerns
    );
}

#[test]
fn intervals_shrink_as_the_sample_grows() {
    let width = |count: usize| {
        let (input, _, _) = varied_run(count);
        let report = RunReport::build(&input, Some(&profile(10_000.0)), 9);
        let estimate = report
            .projection
            .unwrap()
            .monthly_cost_usd
            .unwrap()
            .estimate;
        estimate.high - estimate.low
    };
    let (small, large) = (width(40), width(400));
    // 1/√n: ten times the issues, about a third of the width.
    assert!(large < small * 0.5, "{small} → {large}");
    assert!(large > small * 0.2, "{small} → {large}");
}

#[test]
fn category_mix_weights_strata_by_production_share() {
    use OutcomeStatus::*;
    // Sampled half and half; production is 80% cheap "faq" and 20% dear "refund", plus a
    // "legal" category nobody sampled and one sampled issue outside the mix.
    let ids: Vec<String> = (0..21).map(|i| format!("C-{i}")).collect();
    let issues: Vec<Issue<'_>> = (0..21)
        .map(|i| Issue {
            id: &ids[i],
            status: Passed,
            cost: Some(if i < 10 {
                0.01 + 0.001 * i as f64
            } else {
                0.10 + 0.01 * (i - 10) as f64
            }),
            tool_calls: 1,
            seconds: if i < 10 { 2.0 } else { 20.0 },
        })
        .collect();
    let mut input = run_input("mix", "v1", &issues);
    input.issues = (0..21)
        .map(|i| {
            let category = match i {
                0..10 => "faq",
                10..20 => "refund",
                _ => "spam",
            };
            (ids[i].clone(), json!({"expected": {"category": category}}))
        })
        .collect();
    let production = ProductionProfile {
        issues_per_month: 1_000.0,
        by_category: Some(CategoryMix {
            field: "expected.category".into(),
            weights: BTreeMap::from([
                ("faq".into(), 720.0),
                ("refund".into(), 180.0),
                ("legal".into(), 100.0),
            ]),
        }),
        current: None,
        budgets: ProductionBudgets::default(),
    };
    let report = RunReport::build(&input, Some(&production), 17);
    let projection = report.projection.as_ref().unwrap();
    assert_eq!(
        projection.category_field.as_deref(),
        Some("expected.category")
    );
    assert_eq!(projection.unsampled_categories, ["legal"]);
    assert_eq!(projection.issues_outside_mix, 1);
    assert_eq!(projection.sample_issues, 20);
    let shares: Vec<(&str, f64)> = projection
        .categories
        .iter()
        .map(|c| (c.value.as_str(), c.share))
        .collect();
    assert_eq!(shares, [("faq", 0.8), ("refund", 0.2)]);

    let faq: Vec<f64> = (0..10).map(|i| 0.01 + 0.001 * i as f64).collect();
    let refund: Vec<f64> = (10..20).map(|i| 0.10 + 0.01 * (i - 10) as f64).collect();
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let monthly = projection.monthly_cost_usd.unwrap();
    assert!(close(
        monthly.estimate.value,
        1_000.0 * (0.8 * mean(&faq) + 0.2 * mean(&refund)),
        1e-9
    ));
    let (means, tails) = direct_bootstrap(&[faq.clone(), refund.clone()], &[0.8, 0.2], 17);
    let (low, high) = percentile_band(means);
    assert!(
        close(monthly.estimate.low, 1_000.0 * low, 1e-9)
            && close(monthly.estimate.high, 1_000.0 * high, 1e-9),
        "{monthly:?}"
    );
    // The mixture's p95 lies in the dear category (it holds 20% of the weight).
    let p95 = projection.p95_cost_usd_per_issue.unwrap();
    let (_, tail_high) = percentile_band(tails);
    assert!(refund.contains(&p95.estimate.value), "{p95:?}");
    assert!(close(
        p95.estimate.high,
        tail_high.max(p95.estimate.value),
        1e-12
    ));
    // Time: 80% at 2 s and 20% at 20 s.
    assert!(close(
        projection.monthly_agent_hours.unwrap().estimate.value,
        1_000.0 * (0.8 * 2.0 + 0.2 * 20.0) / 3600.0,
        1e-9
    ));
}
