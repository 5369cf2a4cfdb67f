//! The seeded bootstrap: resample issues with replacement (within each category when a
//! production mix is given) and read the spread of the mean and the p95 over the resamples.
//! A measure holds one value per finished trial, tagged with its issue: an issue drawn brings
//! all its trials (the cluster bootstrap), so trials of one issue are not taken as independent.
//!
//! A resample is held as a count per issue rather than a list of draws, so every measure reads
//! the same resample in one pass over its own pre-sorted order: no sort per resample, which keeps
//! a 10,000-issue report within its time budget.
//!
//! The draws are part of the contract (tests recompute intervals from them): ChaCha8 seeded with
//! the report's seed; for each resample, for each stratum in order, one `random_range(0..size)`
//! per member of the stratum.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::figures::estimate::Estimate;

/// Resamples per interval: enough for stable 2.5th and 97.5th percentiles.
pub const DEFAULT_RESAMPLES: usize = 2000;

/// The quantile reported as the tail.
pub(crate) const TAIL_QUANTILE: f64 = 0.95;

/// Groups of issues resampled separately, each standing for a share of the population.
#[derive(Debug, Clone)]
pub(crate) struct Strata {
    pub(crate) stratum_of_issue: Vec<usize>,
    pub(crate) members: Vec<Vec<usize>>,
    pub(crate) shares: Vec<f64>,
}

impl Strata {
    /// All issues in one stratum: the plain bootstrap.
    pub(crate) fn single(issues: usize) -> Self {
        Self {
            stratum_of_issue: vec![0; issues],
            members: vec![(0..issues).collect()],
            shares: vec![1.0],
        }
    }

    pub(crate) fn issues(&self) -> usize {
        self.stratum_of_issue.len()
    }
}

/// One measure: (issue, value) pairs, an issue being an index into the strata's issues. An issue
/// may have several values (its trials) or none (an unpriced cost leaves it out of that measure).
pub(crate) type Measure = Vec<(usize, f64)>;

/// The mean and the p95 of one measure, each with its percentile-bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeasureStatistics {
    pub(crate) mean: Estimate,
    pub(crate) p95: Estimate,
    /// Issues with a value for this measure.
    pub(crate) issues: usize,
}

/// Bootstraps every measure over the same resamples of the issues of `strata`. Within a stratum
/// the mean is over the drawn values (trials), and the p95 is the nearest rank over them. A
/// measure with no value at all gives `None`.
pub(crate) fn bootstrap(
    measures: &[Measure],
    strata: &Strata,
    resamples: usize,
    seed: u64,
) -> Vec<Option<MeasureStatistics>> {
    let issues = strata.issues();
    let sorted: Vec<SortedMeasure> = measures
        .iter()
        .map(|values| SortedMeasure::new(values, strata))
        .collect();
    let mut scratch = Scratch::new(strata.members.len());
    let ones = vec![1_u32; issues];
    let points: Vec<Option<(f64, f64)>> = sorted
        .iter()
        .map(|measure| statistics(measure, strata, &ones, &mut scratch))
        .collect();
    let mut means: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); measures.len()];
    let mut tails: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); measures.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut counts = vec![0_u32; issues];
    for _ in 0..resamples {
        counts.fill(0);
        for members in &strata.members {
            for _ in 0..members.len() {
                counts[members[rng.random_range(0..members.len())]] += 1;
            }
        }
        for (index, measure) in sorted.iter().enumerate() {
            if let Some((mean, tail)) = statistics(measure, strata, &counts, &mut scratch) {
                means[index].push(mean);
                tails[index].push(tail);
            }
        }
    }
    points
        .into_iter()
        .enumerate()
        .map(|(index, point)| {
            let (mean, tail) = point?;
            Some(MeasureStatistics {
                mean: percentile_interval(mean, &mut means[index]),
                p95: percentile_interval(tail, &mut tails[index]),
                issues: sorted[index].distinct_issues,
            })
        })
        .collect()
}

/// The mean of `values` alone, bootstrapped: for paired differences.
pub(crate) fn bootstrap_mean(values: &[f64], resamples: usize, seed: u64) -> Option<Estimate> {
    let measure = vec![values.iter().copied().enumerate().collect()];
    bootstrap(&measure, &Strata::single(values.len()), resamples, seed)
        .pop()
        .flatten()
        .map(|statistics| statistics.mean)
}

/// A measure's present values in ascending order, with each one's issue and stratum beside it,
/// so a resample is read in one sequential pass.
struct SortedMeasure {
    values: Vec<f64>,
    // Narrow indices: the pass streams these arrays, and half the bytes is half the traffic.
    issues: Vec<u32>,
    strata: Vec<u32>,
    /// Every issue has exactly one value: each stratum's count is then its size, with no pass
    /// to count.
    complete: bool,
    distinct_issues: usize,
}

impl SortedMeasure {
    fn new(values: &[(usize, f64)], strata: &Strata) -> Self {
        let mut per_issue = vec![0_u32; strata.issues()];
        for (issue, _) in values {
            per_issue[*issue] += 1;
        }
        let distinct_issues = per_issue.iter().filter(|count| **count > 0).count();
        let mut present: Vec<(f64, usize)> = values
            .iter()
            .map(|(issue, value)| (*value, *issue))
            .collect();
        present.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self {
            complete: per_issue.iter().all(|count| *count == 1),
            distinct_issues,
            strata: present
                .iter()
                .map(|(_, issue)| strata.stratum_of_issue[*issue] as u32)
                .collect(),
            issues: present.iter().map(|(_, issue)| *issue as u32).collect(),
            values: present.into_iter().map(|(value, _)| value).collect(),
        }
    }
}

struct Scratch {
    counted: Vec<u64>,
    sums: Vec<f64>,
    weights: Vec<f64>,
}

impl Scratch {
    fn new(strata: usize) -> Self {
        Self {
            counted: vec![0; strata],
            sums: vec![0.0; strata],
            weights: vec![0.0; strata],
        }
    }
}

/// Mean and p95 of the mixture: each stratum's resampled values weighted to its share. Strata
/// with no value for this measure drop out and the others' shares grow to fill the gap.
fn statistics(
    measure: &SortedMeasure,
    strata: &Strata,
    counts: &[u32],
    scratch: &mut Scratch,
) -> Option<(f64, f64)> {
    if measure.values.is_empty() {
        return None;
    }
    scratch.sums.fill(0.0);
    if measure.complete {
        // A resample draws each stratum's size from it, and every member has a value.
        for (counted, members) in scratch.counted.iter_mut().zip(&strata.members) {
            *counted = members.len() as u64;
        }
    } else {
        scratch.counted.fill(0);
        for (issue, stratum) in measure.issues.iter().zip(&measure.strata) {
            scratch.counted[*stratum as usize] += u64::from(counts[*issue as usize]);
        }
    }
    let total_share: f64 = strata
        .shares
        .iter()
        .zip(&scratch.counted)
        .filter(|(_, counted)| **counted > 0)
        .map(|(share, _)| share)
        .sum();
    if total_share <= 0.0 {
        return None;
    }
    for ((weight, share), counted) in scratch
        .weights
        .iter_mut()
        .zip(&strata.shares)
        .zip(&scratch.counted)
    {
        *weight = if *counted > 0 {
            share / total_share / *counted as f64
        } else {
            0.0
        };
    }
    // Nearest rank on the weighted mixture, in the same pass as the sums; the tolerance absorbs
    // rounding in the running sum so that equal weights give exactly the plain nearest-rank p95.
    // Branch-free on the counts: a third of them are zero, at random, which a branch would
    // mispredict; a zero count adds nothing, so the rank is still crossed on a drawn value.
    let length = measure.values.len();
    let mut cumulative = 0.0;
    let mut tail = measure.values[length - 1];
    let mut position = 0;
    while position < length {
        let count = f64::from(counts[measure.issues[position] as usize]);
        let stratum = measure.strata[position] as usize;
        let value = measure.values[position];
        scratch.sums[stratum] += count * value;
        cumulative += scratch.weights[stratum] * count;
        position += 1;
        if cumulative >= TAIL_QUANTILE - 1e-9 {
            tail = value;
            break;
        }
    }
    if strata.members.len() == 1 {
        let mut sum = 0.0;
        while position < length {
            sum += f64::from(counts[measure.issues[position] as usize]) * measure.values[position];
            position += 1;
        }
        scratch.sums[0] += sum;
    }
    while position < length {
        scratch.sums[measure.strata[position] as usize] +=
            f64::from(counts[measure.issues[position] as usize]) * measure.values[position];
        position += 1;
    }
    let mean = strata
        .shares
        .iter()
        .zip(scratch.counted.iter().zip(&scratch.sums))
        .filter(|(_, (counted, _))| **counted > 0)
        .map(|(share, (counted, sum))| share * sum / *counted as f64)
        .sum::<f64>()
        / total_share;
    Some((mean, tail))
}

/// The 2.5th and 97.5th percentiles of the resampled statistics (nearest rank), widened to hold
/// the point estimate: a skewed tail can put the estimate just outside the percentile band.
fn percentile_interval(point: f64, resampled: &mut [f64]) -> Estimate {
    if resampled.is_empty() {
        return Estimate::exact(point);
    }
    resampled.sort_by(f64::total_cmp);
    let count = resampled.len();
    let low = resampled[((0.025 * count as f64).floor() as usize).min(count - 1)];
    let high = resampled[((0.975 * count as f64).ceil() as usize).clamp(1, count) - 1];
    Estimate {
        value: point,
        low: low.min(point),
        high: high.max(point),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_weights_give_the_plain_nearest_rank_p95() {
        let values: Measure = (1..=20).map(|v| (v as usize - 1, f64::from(v))).collect();
        let statistics = bootstrap(&[values], &Strata::single(20), 50, 1)
            .pop()
            .flatten()
            .unwrap();
        assert_eq!(statistics.p95.value, 19.0);
        assert_eq!(statistics.mean.value, 10.5);
        assert!(statistics.mean.low < 10.5 && statistics.mean.high > 10.5);
    }

    #[test]
    fn strata_are_weighted_by_share_not_by_sample_size() {
        // Nine cheap issues and one dear one, but production is half and half.
        let mut values: Measure = (0..9).map(|issue| (issue, 1.0)).collect();
        values.push((9, 11.0));
        let strata = Strata {
            stratum_of_issue: [vec![0; 9], vec![1]].concat(),
            members: vec![(0..9).collect(), vec![9]],
            shares: vec![0.5, 0.5],
        };
        let statistics = bootstrap(&[values], &strata, 20, 1)
            .pop()
            .flatten()
            .unwrap();
        assert_eq!(statistics.mean.value, 6.0);
        assert_eq!(statistics.p95.value, 11.0);
    }

    #[test]
    fn missing_values_leave_the_measure_only() {
        let values = vec![(1, 2.0), (3, 4.0)];
        let statistics = bootstrap(&[values, Vec::new()], &Strata::single(4), 10, 3);
        assert_eq!(statistics[0].unwrap().mean.value, 3.0);
        assert_eq!(statistics[0].unwrap().issues, 2);
        assert!(statistics[1].is_none());
    }

    #[test]
    fn an_issue_brings_all_its_trials() {
        // Issue 0 has three trials, issue 1 one: the mean is over the four trials.
        let values = vec![(0, 1.0), (0, 1.0), (0, 1.0), (1, 5.0)];
        let statistics = bootstrap(&[values], &Strata::single(2), 200, 5)
            .pop()
            .flatten()
            .unwrap();
        assert_eq!(statistics.mean.value, 2.0);
        assert_eq!(statistics.issues, 2);
        // Resamples are of issues: {0,0} gives 1.0, {1,1} gives 5.0, mixed gives 2.0.
        assert_eq!((statistics.mean.low, statistics.mean.high), (1.0, 5.0));
    }
}
