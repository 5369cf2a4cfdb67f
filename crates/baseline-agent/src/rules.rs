//! The baseline's fixed rules: keywords for the category and for "is the customer blocked",
//! the plan table for the priority, and the refund policy.

use crate::facts::TicketFacts;

/// Categories in tie-break order, each with the phrases that vote for it.
#[rustfmt::skip]
const CATEGORY_KEYWORDS: [(&str, &[&str]); 5] = [
    ("refund", &["refund", "money back", "reimburse", "return it"]),
    ("shipping", &["deliver", "tracking", "package", "parcel", "shipping", "arrive", "carrier", "courier"]),
    ("billing", &["invoice", "charge", "billing", "payment", "card", "subscription", "receipt", "vat"]),
    ("account", &["password", "log in", "sign in", "two-factor", "email address", "account", "invite"]),
    ("bug", &["error", "crash", "bug", "broken", "blank page", "typo", "slow", "time zone"]),
];

/// Phrases that say the customer cannot use the service, or lost money wrongly.
#[rustfmt::skip]
const BLOCKING_KEYWORDS: [&str; 13] = [
    "can't", "cannot", "unable", "locked", "not working", "fails every time", "charged twice",
    "duplicate", "did not make", "suspended", "crashes", "urgent", "asap",
];

/// Order states in which money was taken and not yet given back.
const REFUNDABLE_STATUSES: [&str; 3] = ["paid", "shipped", "delivered"];
const REFUND_WINDOW_DAYS: f64 = 30.0;

#[derive(Debug)]
pub(crate) struct Triage {
    pub(crate) category: &'static str,
    pub(crate) priority: &'static str,
    pub(crate) refund_eligible: bool,
    pub(crate) explanation: String,
}

impl Triage {
    pub(crate) fn decide(text: &str, facts: &TicketFacts) -> Triage {
        let text = text.to_lowercase().replace('’', "'");
        let category = CATEGORY_KEYWORDS
            .iter()
            .map(|(category, keywords)| {
                (
                    *category,
                    keywords
                        .iter()
                        .filter(|keyword| text.contains(*keyword))
                        .count(),
                )
            })
            // `max_by_key` keeps the last maximum; reversing makes the earlier category win ties.
            .rev()
            .max_by_key(|(_, votes)| *votes)
            .filter(|(_, votes)| *votes > 0)
            .map_or("bug", |(category, _)| category);
        // By policy, shipping problems and refund requests never block the customer.
        let blocked = !matches!(category, "shipping" | "refund")
            && BLOCKING_KEYWORDS
                .iter()
                .any(|keyword| text.contains(keyword));
        let plan = facts.plan.as_deref().unwrap_or("free");
        let priority = match (plan, blocked) {
            ("enterprise", true) => "urgent",
            ("enterprise", false) | ("pro", true) => "high",
            ("pro", false) | (_, true) => "normal",
            _ => "low",
        };
        let mut explanation = format!(
            "rules: {category}, plan {plan}, {}",
            if blocked { "blocked" } else { "not blocked" }
        );
        let refund_eligible = match (&facts.order, category) {
            (Some(order), "refund") => {
                explanation.push_str(&format!(
                    ", order {} {} {:.1} days before the ticket{}",
                    order.id,
                    order.status,
                    order.age_days,
                    if order.open_refund {
                        ", refund already open"
                    } else {
                        ""
                    }
                ));
                REFUNDABLE_STATUSES.contains(&order.status.as_str())
                    && order.age_days <= REFUND_WINDOW_DAYS
                    && !order.open_refund
            }
            _ => false,
        };
        Triage {
            category,
            priority,
            refund_eligible,
            explanation,
        }
    }
}
