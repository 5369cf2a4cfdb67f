//! Seeded sampling of issues, optionally stratified so each value of a field keeps its share.
//!
//! The sample depends only on the issues, the size, the seed and the field: ChaCha8 is portable
//! and stable across platforms and rand versions, so a run can be reproduced from its seed.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::{Issue, SampleError};

/// Draws `size` issues (all of them when `size` is `None` or not smaller than the set), returned
/// in file order.
///
/// With `stratify_by`, issues are grouped by the value of that field (issues without it form
/// their own group) and each group gets its proportional share, rounded by largest remainder so
/// the total is exactly `size`; when `size` allows, every group is represented at least once.
pub fn sample(
    issues: &[Issue],
    size: Option<usize>,
    seed: u64,
    stratify_by: Option<&str>,
) -> Result<Vec<Issue>, SampleError> {
    if let Some(field) = stratify_by
        && !issues
            .iter()
            .any(|issue| stratum_value(issue, field).is_some())
    {
        return Err(SampleError::UnknownStratifyField {
            field: field.to_owned(),
        });
    }
    let size = match size {
        Some(0) => return Err(SampleError::ZeroSize),
        Some(size) if size < issues.len() => size,
        _ => return Ok(issues.to_vec()),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = match stratify_by {
        None => {
            let mut indices: Vec<usize> = (0..issues.len()).collect();
            indices.shuffle(&mut rng);
            indices.truncate(size);
            indices
        }
        Some(field) => {
            let strata = strata(issues, field);
            let counts: Vec<usize> = strata.iter().map(Vec::len).collect();
            let allocation = allocate(&counts, size);
            let mut chosen = Vec::with_capacity(size);
            for (mut members, take) in strata.into_iter().zip(allocation) {
                members.shuffle(&mut rng);
                chosen.extend_from_slice(&members[..take]);
            }
            chosen
        }
    };
    chosen.sort_unstable();
    Ok(chosen
        .into_iter()
        .map(|index| issues[index].clone())
        .collect())
}

/// The value an issue is stratified by: one of its fields, or with `expected.<name>` one of its
/// expected outcome's fields (so a sample can keep the mix of right answers, e.g. categories).
fn stratum_value<'a>(issue: &'a Issue, field: &str) -> Option<&'a Value> {
    match field.strip_prefix("expected.") {
        Some(name) => issue.expected.as_ref()?.get(name),
        None => issue.fields.get(field),
    }
}

/// Groups issue indices by the field's value, groups in order of first appearance so the
/// random draws happen in a fixed order.
fn strata(issues: &[Issue], field: &str) -> Vec<Vec<usize>> {
    let mut keys: Vec<Option<&Value>> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, issue) in issues.iter().enumerate() {
        let key = stratum_value(issue, field);
        match keys.iter().position(|existing| *existing == key) {
            Some(group) => groups[group].push(index),
            None => {
                keys.push(key);
                groups.push(vec![index]);
            }
        }
    }
    groups
}

/// Largest-remainder (Hamilton) allocation of `size` over groups of the given sizes, then a
/// repair step so that no group is left out when there are at least as many slots as groups.
///
/// Requires `0 < size < counts.iter().sum()`.
pub(crate) fn allocate(counts: &[usize], size: usize) -> Vec<usize> {
    let total: u128 = counts.iter().map(|&count| count as u128).sum();
    // Quotas are kept as exact fractions `numerator / total` to avoid float rounding deciding
    // who gets the last slot.
    let numerators: Vec<u128> = counts
        .iter()
        .map(|&count| count as u128 * size as u128)
        .collect();
    let mut allocation: Vec<usize> = numerators
        .iter()
        .map(|&numerator| (numerator / total) as usize)
        .collect();
    let handed_out: usize = allocation.iter().sum();
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder
        .sort_by(|&left, &right| (numerators[right] % total).cmp(&(numerators[left] % total)));
    for &group in by_remainder.iter().take(size - handed_out) {
        allocation[group] += 1;
    }
    if size >= counts.len() {
        // Each missing group takes a slot from the group holding the most above its quota.
        for &group in &by_remainder {
            if allocation[group] > 0 {
                continue;
            }
            let donor = (0..counts.len())
                .filter(|&candidate| allocation[candidate] >= 2)
                .max_by(|&left, &right| {
                    let surplus = |group: usize| {
                        allocation[group] as i128 * total as i128 - numerators[group] as i128
                    };
                    surplus(left).cmp(&surplus(right)).then(right.cmp(&left))
                });
            if let Some(donor) = donor {
                allocation[donor] -= 1;
                allocation[group] += 1;
            }
        }
    }
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_fields_can_be_strata() {
        let issues: Vec<Issue> = (0..40)
            .map(|index| Issue {
                id: index.to_string(),
                fields: serde_json::Map::new(),
                expected:
                    serde_json::json!({"category": if index < 30 { "billing" } else { "bug" }})
                        .as_object()
                        .cloned(),
                line: index + 1,
            })
            .collect();
        let chosen = sample(&issues, Some(8), 3, Some("expected.category")).unwrap();
        let bugs = chosen.iter().filter(|issue| issue.line > 30).count();
        assert_eq!(
            (chosen.len(), bugs),
            (8, 2),
            "a quarter of the issues are bugs, so 2 of 8"
        );
        assert!(matches!(
            sample(&issues, Some(8), 3, Some("expected.nothing")),
            Err(SampleError::UnknownStratifyField { .. })
        ));
    }

    #[test]
    fn allocation_is_proportional_with_largest_remainder() {
        // Quotas 4.5, 3.0, 1.5 → floors 4, 3, 1 and the last slot goes to the first .5 in order.
        assert_eq!(allocate(&[30, 20, 10], 9), vec![5, 3, 1]);
        assert_eq!(allocate(&[1, 1, 1, 1], 2), vec![1, 1, 0, 0]);
    }

    #[test]
    fn small_groups_are_kept_when_size_allows() {
        // Quotas 9.9, 0.05, 0.05: plain largest remainder would give 10, 0, 0.
        assert_eq!(allocate(&[198, 1, 1], 10), vec![8, 1, 1]);
    }
}
