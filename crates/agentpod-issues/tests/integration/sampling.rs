//! Seeded, optionally stratified sampling.

use std::collections::{BTreeMap, BTreeSet};

use agentpod_issues::{Issue, SampleError, sample};
use serde_json::{Map, Value, json};

fn issue(index: usize, category: Option<&str>) -> Issue {
    let mut fields = Map::new();
    fields.insert("subject".to_owned(), json!(format!("subject {index}")));
    if let Some(category) = category {
        fields.insert("category".to_owned(), json!(category));
    }
    Issue {
        id: format!("issue-{index}"),
        fields,
        expected: None,
        line: index + 1,
    }
}

/// 100 issues: 50 billing, 30 shipping, 15 account, 5 without a category, interleaved.
fn mixed_issues() -> Vec<Issue> {
    (0..100)
        .map(|index| {
            let category = match index % 20 {
                0..=9 => Some("billing"),
                10..=15 => Some("shipping"),
                16..=18 => Some("account"),
                _ => None,
            };
            issue(index, category)
        })
        .collect()
}

fn ids(issues: &[Issue]) -> Vec<String> {
    issues.iter().map(|issue| issue.id.clone()).collect()
}

fn category_counts(issues: &[Issue]) -> BTreeMap<Option<String>, usize> {
    let mut counts = BTreeMap::new();
    for issue in issues {
        let key = issue.fields.get("category").map(Value::to_string);
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[test]
fn same_seed_gives_the_same_sample() -> Result<(), SampleError> {
    let issues = mixed_issues();
    for stratify_by in [None, Some("category")] {
        let first = sample(&issues, Some(17), 42, stratify_by)?;
        let second = sample(&issues, Some(17), 42, stratify_by)?;
        assert_eq!(ids(&first), ids(&second));
        assert_eq!(first.len(), 17);
    }
    Ok(())
}

#[test]
fn different_seeds_give_different_samples() -> Result<(), SampleError> {
    let issues = mixed_issues();
    let samples: BTreeSet<Vec<String>> = (0..20)
        .map(|seed| sample(&issues, Some(10), seed, None).map(|drawn| ids(&drawn)))
        .collect::<Result<_, _>>()?;
    // 20 draws of 10 out of 100: a collision would point at a seed that is ignored.
    assert_eq!(samples.len(), 20);
    Ok(())
}

#[test]
fn size_at_or_above_the_set_returns_every_issue_in_order() -> Result<(), SampleError> {
    let issues = mixed_issues();
    for size in [None, Some(100), Some(1000)] {
        assert_eq!(ids(&sample(&issues, size, 7, None)?), ids(&issues));
        assert_eq!(
            ids(&sample(&issues, size, 7, Some("category"))?),
            ids(&issues)
        );
    }
    Ok(())
}

#[test]
fn unknown_stratify_field_and_zero_size_are_errors() {
    let issues = mixed_issues();
    assert_eq!(
        sample(&issues, Some(5), 1, Some("catgory")),
        Err(SampleError::UnknownStratifyField {
            field: "catgory".to_owned()
        })
    );
    assert_eq!(
        sample(&issues, Some(0), 1, None),
        Err(SampleError::ZeroSize)
    );
}

#[test]
fn stratified_shares_stay_within_one_of_proportional() -> Result<(), SampleError> {
    let issues = mixed_issues();
    let population = category_counts(&issues);
    for size in 1..100 {
        for seed in 0..10 {
            let drawn = sample(&issues, Some(size), seed, Some("category"))?;
            assert_eq!(drawn.len(), size);
            let counts = category_counts(&drawn);
            for (category, &available) in &population {
                let taken = counts.get(category).copied().unwrap_or(0) as f64;
                let proportional = size as f64 * available as f64 / issues.len() as f64;
                assert!(
                    (taken - proportional).abs() <= 1.0,
                    "size {size} seed {seed}: {category:?} took {taken}, proportional {proportional}"
                );
                if size >= population.len() {
                    assert!(taken >= 1.0, "size {size}: {category:?} left out");
                }
            }
        }
    }
    Ok(())
}

#[test]
fn samples_are_distinct_in_file_order_for_many_seeds_and_sizes() -> Result<(), SampleError> {
    // Uneven strata, including singletons, to exercise the keep-every-group repair.
    let issues: Vec<Issue> = (0..57)
        .map(|index| {
            let category = match index {
                0 => Some("rare"),
                1..=40 => Some("common"),
                41 => None,
                _ => Some("middle"),
            };
            issue(index, category)
        })
        .collect();
    let population = category_counts(&issues);
    for seed in 0..40 {
        for size in 1..=57 {
            for stratify_by in [None, Some("category")] {
                let drawn = sample(&issues, Some(size), seed, stratify_by)?;
                assert_eq!(drawn.len(), size);
                let lines: Vec<usize> = drawn.iter().map(|issue| issue.line).collect();
                assert!(lines.windows(2).all(|pair| pair[0] < pair[1]), "{lines:?}");
                assert!(drawn.iter().all(|picked| issues.contains(picked)));
                if stratify_by.is_some() && size >= population.len() {
                    assert_eq!(category_counts(&drawn).len(), population.len());
                }
            }
        }
    }
    Ok(())
}

#[test]
fn every_issue_can_be_drawn() -> Result<(), SampleError> {
    let issues = mixed_issues();
    let mut seen = BTreeSet::new();
    for seed in 0..200 {
        for picked in sample(&issues, Some(5), seed, Some("category"))? {
            seen.insert(picked.id);
        }
    }
    assert_eq!(seen.len(), issues.len());
    Ok(())
}
