//! The seeded bootstrap: resample issues with replacement (within each category when a
//! production mix is given) and read the spread of the mean and the p95 over the resamples.
//! A measure holds one value per finished trial, tagged with its issue: an issue drawn brings
//! all its trials (the cluster bootstrap), so trials of one issue are not taken as independent.
//!
//! A resample is held as a count per issue rather than a list of draws. Each measure reads it
//! twice, without a sort: its mean as one sequential pass over the counts (each issue's values
//! summed beforehand), and its p95 from the top of its values, sorted once, where only a
//! twentieth of them lie. The p95 is the same value as a walk from the bottom. The point
//! estimates are summed in ascending order of the values, as before; a resampled mean (an
//! interval's end) is summed in slot order, so it may differ from the same mean summed in
//! ascending order in its last bits (about 1e-14 of it), as float sums in two orders do.
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
    let slots = Slots::of(strata);
    let sorted: Vec<SortedMeasure> = measures
        .iter()
        .map(|values| SortedMeasure::new(values, strata, &slots))
        .collect();
    let mut scratch = Scratch::new(strata.members.len());
    let points: Vec<Option<(f64, f64)>> = sorted
        .iter()
        .map(|measure| point_statistics(measure, strata, &mut scratch))
        .collect();
    let mut means: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); measures.len()];
    let mut tails: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); measures.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Counted by slot (a stratum's members in order, stratum after stratum): a draw is then its
    // slot directly, and every measure reads the counts in one sequential pass.
    let mut counts = vec![0_u32; slots.count()];
    for _ in 0..resamples {
        counts.fill(0);
        for (members, start) in strata.members.iter().zip(&slots.starts) {
            let stratum_counts = &mut counts[*start..*start + members.len()];
            for _ in 0..members.len() {
                stratum_counts[rng.random_range(0..members.len())] += 1;
            }
        }
        for (index, measure) in sorted.iter().enumerate() {
            if let Some((mean, tail)) = statistics(measure, strata, &slots, &counts, &mut scratch) {
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

/// Where each issue is counted: its stratum's members in order, stratum after stratum.
struct Slots {
    /// Each stratum's first slot.
    starts: Vec<usize>,
    slot_of_issue: Vec<u32>,
}

impl Slots {
    fn of(strata: &Strata) -> Self {
        let mut starts = Vec::with_capacity(strata.members.len());
        let mut slot_of_issue = vec![0_u32; strata.issues()];
        let mut next = 0;
        for members in &strata.members {
            starts.push(next);
            for issue in members {
                slot_of_issue[*issue] = next as u32;
                next += 1;
            }
        }
        Self {
            starts,
            slot_of_issue,
        }
    }

    fn count(&self) -> usize {
        self.slot_of_issue.len()
    }
}

/// A measure as each resample reads it: per slot, the sum and the number of its issue's values
/// (for the means, one sequential pass over the counts); and its values in ascending order with
/// each one's slot and stratum beside it (for the p95, read from the top: a twentieth of them).
struct SortedMeasure {
    slot_sums: Vec<f64>,
    slot_values: Vec<u32>,
    values: Vec<f64>,
    slots: Vec<u32>,
    strata: Vec<u32>,
    /// Every issue has exactly one value: each stratum's count is then its size, with no pass
    /// to count.
    complete: bool,
    distinct_issues: usize,
}

impl SortedMeasure {
    fn new(values: &[(usize, f64)], strata: &Strata, slots: &Slots) -> Self {
        let mut slot_sums = vec![0.0; slots.count()];
        let mut slot_values = vec![0_u32; slots.count()];
        for (issue, value) in values {
            let slot = slots.slot_of_issue[*issue] as usize;
            slot_sums[slot] += value;
            slot_values[slot] += 1;
        }
        let distinct_issues = slot_values.iter().filter(|count| **count > 0).count();
        let mut present: Vec<(f64, usize)> = values
            .iter()
            .map(|(issue, value)| (*value, *issue))
            .collect();
        present.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self {
            complete: slot_values.iter().all(|count| *count == 1),
            distinct_issues,
            slot_sums,
            slot_values,
            strata: present
                .iter()
                .map(|(_, issue)| strata.stratum_of_issue[*issue] as u32)
                .collect(),
            slots: present
                .iter()
                .map(|(_, issue)| slots.slot_of_issue[*issue])
                .collect(),
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
    slots: &Slots,
    counts: &[u32],
    scratch: &mut Scratch,
) -> Option<(f64, f64)> {
    if measure.values.is_empty() {
        return None;
    }
    for (stratum, members) in strata.members.iter().enumerate() {
        let range = slots.starts[stratum]..slots.starts[stratum] + members.len();
        let counts = &counts[range.clone()];
        scratch.sums[stratum] = dot(counts, &measure.slot_sums[range.clone()]);
        scratch.counted[stratum] = if measure.complete {
            // A resample draws each stratum's size from it, and every member has a value.
            members.len() as u64
        } else {
            counts
                .iter()
                .zip(&measure.slot_values[range])
                .map(|(count, values)| u64::from(*count) * u64::from(*values))
                .sum()
        };
    }
    let total_share = set_weights(strata, scratch)?;
    let tail = if strata.members.len() == 1 {
        single_stratum_tail(measure, counts, scratch.counted[0])
    } else {
        mixture_tail(measure, counts, scratch)
    };
    let mean = weighted_mean(strata, scratch, total_share);
    Some((mean, tail))
}

/// Each stratum's weight per counted value in `scratch.weights` (its share of the strata
/// drawn, spread over its values), from `scratch.counted`; the total share of the strata drawn,
/// or `None` when none was.
fn set_weights(strata: &Strata, scratch: &mut Scratch) -> Option<f64> {
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
    Some(total_share)
}

/// The mean over the strata drawn, each weighted by its share: from `scratch.sums` and
/// `scratch.counted`, and the total share `set_weights` returned.
fn weighted_mean(strata: &Strata, scratch: &Scratch, total_share: f64) -> f64 {
    strata
        .shares
        .iter()
        .zip(scratch.counted.iter().zip(&scratch.sums))
        .filter(|(_, (counted, _))| **counted > 0)
        .map(|(share, (counted, sum))| share * sum / *counted as f64)
        .sum::<f64>()
        / total_share
}

/// The point estimates: mean and p95 of the sample itself (every issue drawn once), summed in
/// ascending order of the values, so they are the same to the last bit as before the resamples
/// were read by slot.
fn point_statistics(
    measure: &SortedMeasure,
    strata: &Strata,
    scratch: &mut Scratch,
) -> Option<(f64, f64)> {
    if measure.values.is_empty() {
        return None;
    }
    scratch.sums.fill(0.0);
    scratch.counted.fill(0);
    for stratum in &measure.strata {
        scratch.counted[*stratum as usize] += 1;
    }
    let total_share = set_weights(strata, scratch)?;
    // Nearest rank on the weighted mixture, in the same pass as the sums; the tolerance absorbs
    // rounding in the running sum so that equal weights give exactly the plain nearest-rank p95.
    let length = measure.values.len();
    let mut cumulative = 0.0;
    let mut tail = measure.values[length - 1];
    let mut position = 0;
    while position < length {
        let stratum = measure.strata[position] as usize;
        let value = measure.values[position];
        scratch.sums[stratum] += value;
        cumulative += scratch.weights[stratum];
        position += 1;
        if cumulative >= TAIL_QUANTILE - 1e-9 {
            tail = value;
            break;
        }
    }
    if strata.members.len() == 1 {
        let mut sum = 0.0;
        while position < length {
            sum += measure.values[position];
            position += 1;
        }
        scratch.sums[0] += sum;
    }
    while position < length {
        scratch.sums[measure.strata[position] as usize] += measure.values[position];
        position += 1;
    }
    let mean = weighted_mean(strata, scratch, total_share);
    Some((mean, tail))
}

/// Σ count × value, in eight lanes so that it vectorises.
fn dot(counts: &[u32], values: &[f64]) -> f64 {
    let mut lanes = [0.0_f64; 8];
    let mut count_chunks = counts.chunks_exact(8);
    let mut value_chunks = values.chunks_exact(8);
    for (counts, values) in (&mut count_chunks).zip(&mut value_chunks) {
        for lane in 0..8 {
            lanes[lane] += f64::from(counts[lane]) * values[lane];
        }
    }
    let rest: f64 = count_chunks
        .remainder()
        .iter()
        .zip(value_chunks.remainder())
        .map(|(count, value)| f64::from(*count) * value)
        .sum();
    lanes.iter().sum::<f64>() + rest
}

/// The nearest-rank p95 of `total` drawn values of one stratum: the value of rank
/// ⌈0.95 × total⌉, found from the top, where only a twentieth of the values lie.
fn single_stratum_tail(measure: &SortedMeasure, counts: &[u32], total: u64) -> f64 {
    // ⌈19 × total / 20⌉: the rank of the 95% mark, in integers.
    let rank = (19 * total).div_ceil(20);
    let above_allowed = total - rank;
    let mut above = 0_u64;
    for (value, slot) in measure.values.iter().zip(&measure.slots).rev() {
        above += u64::from(counts[*slot as usize]);
        if above > above_allowed {
            return *value;
        }
    }
    measure.values[0]
}

/// The 95% mark of the weighted mixture, found from the top: the lowest value with at most 5%
/// of the weight above it. The tolerance absorbs rounding in the running sums.
fn mixture_tail(measure: &SortedMeasure, counts: &[u32], scratch: &Scratch) -> f64 {
    let total: f64 = scratch
        .weights
        .iter()
        .zip(&scratch.counted)
        .map(|(weight, counted)| weight * *counted as f64)
        .sum();
    let above_allowed = total - (TAIL_QUANTILE - 1e-9);
    let mut above = 0.0;
    for ((value, slot), stratum) in measure
        .values
        .iter()
        .zip(&measure.slots)
        .zip(&measure.strata)
        .rev()
    {
        above += scratch.weights[*stratum as usize] * f64::from(counts[*slot as usize]);
        if above > above_allowed {
            return *value;
        }
    }
    measure.values[0]
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
