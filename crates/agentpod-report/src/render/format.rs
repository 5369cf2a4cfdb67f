//! How numbers are written in every rendering: dollars, counts, shares, durations. Text from the
//! agent or an issue is made inert by `crate::render::inert_text`.

/// Dollars with precision that suits the amount: fractions of a cent per call, whole dollars
/// with thousands separators per month.
pub fn dollars(amount: f64) -> String {
    if !amount.is_finite() {
        return "—".to_string();
    }
    let sign = if amount < 0.0 { "-" } else { "" };
    let magnitude = amount.abs();
    let digits = if magnitude == 0.0 {
        return "$0".to_string();
    } else if magnitude < 1.0 {
        // Three significant digits: per-issue costs differ in the third cent decimal.
        let decimals = (2 - magnitude.log10().floor() as i32).clamp(2, 8) as usize;
        let text = format!("{magnitude:.decimals$}");
        let trimmed = text.trim_end_matches('0');
        let kept_decimals = trimmed.len() - trimmed.find('.').unwrap_or(trimmed.len()) - 1;
        if kept_decimals < 2 {
            format!("{magnitude:.2}")
        } else {
            trimmed.to_string()
        }
    } else if magnitude < 1000.0 {
        format!("{magnitude:.2}")
    } else {
        thousands(magnitude.round())
    };
    format!("{sign}${digits}")
}

/// A count or amount: whole with separators when large, a few decimals when small.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    let magnitude = value.abs();
    let text = if magnitude >= 1000.0 {
        thousands(magnitude.round())
    } else if magnitude >= 100.0 || magnitude.fract() == 0.0 {
        format!("{magnitude:.0}")
    } else if magnitude >= 10.0 {
        format!("{magnitude:.1}")
    } else {
        format!("{magnitude:.2}")
    };
    if value < 0.0 {
        format!("-{text}")
    } else {
        text
    }
}

/// A difference, always with its sign.
pub(crate) fn signed(value: f64, show: fn(f64) -> String) -> String {
    if value > 0.0 {
        format!("+{}", show(value))
    } else {
        show(value)
    }
}

/// An estimate's interval, `low–high`, in the estimate's own format.
pub(crate) fn range(estimate: &crate::figures::Estimate, show: fn(f64) -> String) -> String {
    format!("{}–{}", show(estimate.low), show(estimate.high))
}

/// The run's measured pass rate, for setting the production-mix pass rate beside it.
pub(crate) fn measured_pass_rate(report: &crate::figures::RunReport) -> String {
    report
        .quality
        .pass_rate
        .map(|measured| percent(measured.value))
        .unwrap_or_else(|| "—".to_string())
}

/// The plural ending for `count` things.
pub(crate) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// `1 change`, `2 changes`.
pub(crate) fn count_of(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", plural(count))
}

pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Percentage points, for differences of shares.
pub(crate) fn points(share: f64) -> String {
    format!("{:.1} pp", share * 100.0)
}

/// Milliseconds as a person reads them: `0.4 ms`, `12 ms`, `1.25s` from a second up.
pub(crate) fn milliseconds(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    if value.abs() >= 1000.0 {
        seconds(value / 1000.0)
    } else if value.abs() >= 10.0 {
        format!("{value:.0} ms")
    } else {
        format!("{value:.1} ms")
    }
}

pub fn seconds(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let magnitude = value.abs();
    if magnitude < 60.0 {
        format!("{sign}{magnitude:.2}s")
    } else if magnitude < 3600.0 {
        format!(
            "{sign}{}m{:02.0}s",
            (magnitude / 60.0).floor(),
            magnitude % 60.0
        )
    } else {
        format!(
            "{sign}{}h{:02.0}m",
            (magnitude / 3600.0).floor(),
            (magnitude % 3600.0) / 60.0
        )
    }
}

fn thousands(whole: f64) -> String {
    let digits = format!("{whole:.0}");
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "12 retries, 3.40s waiting in 9 issues, not counted as the agent's time": the provider's
/// throttling, as every view says it.
pub(crate) fn throttling_sentence(
    throttling: &crate::figures::usage_summary::ThrottlingSummary,
) -> String {
    format!(
        "{} retr{}, {} waiting in {} issue{}, not counted as the agent's time",
        throttling.model_retries,
        if throttling.model_retries == 1 {
            "y"
        } else {
            "ies"
        },
        seconds(throttling.throttled_seconds),
        throttling.issues_throttled,
        plural(throttling.issues_throttled)
    )
}

/// The judge's and the simulated customers' lines, as every view says them: what they did and
/// cost, never counted as the agent's.
pub(crate) fn side_model_sentences(
    side: &crate::figures::side_models_summary::SideModelsSummary,
) -> Vec<(&'static str, String)> {
    let cost = |cost: Option<f64>| cost.map_or("cost unknown".to_string(), dollars);
    let mut sentences = Vec::new();
    if let Some(judge) = &side.judge {
        let trials = judge.judged_trials as usize;
        let mut sentence = format!(
            "{}: passed {} of {} trial{} · {} judgement{} each · split on {} (the judge flipped on the same answer)",
            if judge.totals.model.is_empty() {
                "?"
            } else {
                &judge.totals.model
            },
            judge.passed_trials,
            trials,
            plural(trials),
            judge.repeats,
            plural(judge.repeats as usize),
            count_of(judge.split_trials as usize, "trial"),
        );
        if judge.compared_with_expected > 0 {
            sentence.push_str(&format!(
                " · agreed with the expected fields on {} of {}",
                judge.agreed_with_expected, judge.compared_with_expected
            ));
        }
        sentence.push_str(&format!(
            " · {}, {} (grading, not the agent's cost)",
            count_of(judge.totals.calls as usize, "call"),
            cost(judge.totals.cost_usd)
        ));
        sentences.push(("judge", sentence));
    }
    if let Some(customer) = &side.customer {
        sentences.push((
            "customer",
            format!(
                "simulated customers' model {}: {} in {}, {} (not the agent's cost)",
                customer.model,
                count_of(customer.calls as usize, "call"),
                count_of(customer.trials as usize, "trial"),
                cost(customer.cost_usd)
            ),
        ));
    }
    sentences
}

/// `text` in at most `characters` characters: cut, it ends with `…`.
pub(crate) fn truncate(text: &str, characters: usize) -> String {
    if text.chars().count() <= characters {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(characters - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_naturally() {
        assert_eq!(dollars(1234.4), "$1,234");
        assert_eq!(dollars(0.0123), "$0.0123");
        assert_eq!(dollars(0.00123), "$0.00123");
        assert_eq!(dollars(0.09), "$0.09");
        assert_eq!(dollars(0.5), "$0.50");
        assert_eq!(dollars(0.015), "$0.015");
        assert_eq!(dollars(-12.5), "-$12.50");
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(3.25), "3.25");
        assert_eq!(seconds(75.0), "1m15s");
    }
}
