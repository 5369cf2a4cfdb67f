//! What the database says about a ticket, recording the triage back on it, and acting on it.

use crate::database::{Database, DatabaseError, literal};

use crate::rules::Triage;

/// The database side of a triage decision.
#[derive(Debug)]
pub(crate) struct TicketFacts {
    /// `free`, `pro` or `enterprise`; `None` when the email matches no customer.
    pub(crate) plan: Option<String>,
    pub(crate) order: Option<OrderFacts>,
}

#[derive(Debug)]
pub(crate) struct OrderFacts {
    pub(crate) id: i32,
    pub(crate) status: String,
    /// Days between the order and the ticket: the refund window counts from the ticket, not
    /// from today.
    pub(crate) age_days: f64,
    /// A refund already requested or approved for the order (a rejected one does not count).
    pub(crate) open_refund: bool,
}

impl TicketFacts {
    pub(crate) async fn query(
        database: &mut Database,
        ticket_id: i32,
        email: &str,
    ) -> Result<TicketFacts, DatabaseError> {
        let plan = database
            .rows(&format!(
                "SELECT plan FROM customers WHERE lower(email) = lower({})",
                literal(email)
            ))
            .await?
            .first()
            .and_then(|row| row["plan"].as_str().map(str::to_string));
        let order = database
            .rows(&format!(
                "SELECT o.id, o.status, \
                        (extract(epoch FROM t.created_at - o.placed_at) / 86400)::float8 AS age_days \
                 FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.id = {ticket_id}"
            ))
            .await?
            .into_iter()
            .next();
        let order = match order {
            Some(row) => {
                let id = row["id"].as_i64().unwrap_or_default() as i32;
                let open_refund = !database
                    .rows(&format!(
                        "SELECT 1 AS open FROM refunds WHERE order_id = {id} AND status IN ('requested', 'approved')"
                    ))
                    .await?.is_empty();
                Some(OrderFacts {
                    id,
                    status: row["status"].as_str().unwrap_or_default().to_string(),
                    age_days: row["age_days"].as_f64().unwrap_or_default(),
                    open_refund,
                })
            }
            None => None,
        };
        Ok(TicketFacts { plan, order })
    }
}

/// Sets the ticket's triage columns and adds a system note.
pub(crate) async fn record(
    database: &mut Database,
    ticket_id: i32,
    triage: &Triage,
    note: &str,
) -> Result<(), DatabaseError> {
    database
        .execute(&format!(
            "UPDATE tickets SET category = {}, priority = {} WHERE id = {ticket_id}",
            literal(triage.category),
            literal(triage.priority)
        ))
        .await?;
    database
        .execute(&format!(
            "INSERT INTO ticket_notes (ticket_id, author, body) VALUES ({ticket_id}, NULL, {})",
            literal(&format!("baseline triage: {note}"))
        ))
        .await
}

/// Acts on the ticket the way a simple support script would: requests a refund where the rules
/// say one is due, and cancels a paid order the customer asks to cancel. In the demo pod refunds
/// need human approval (the request becomes a proposal) and orders are read-only (the cancel is
/// refused and recorded as a boundary violation) — the baseline is naive on purpose, so the demo
/// shows both. Returns what it did, for the note.
pub(crate) async fn act(
    database: &mut Database,
    text: &str,
    triage: &Triage,
    facts: &TicketFacts,
) -> Vec<String> {
    let mut done = Vec::new();
    let Some(order) = &facts.order else {
        return done;
    };
    if triage.refund_eligible && !order.open_refund {
        let requested = database
            .execute(&format!(
                "INSERT INTO refunds (order_id, amount_cents, reason, status) \
                 SELECT id, total_cents, 'requested by the customer in a support ticket', 'requested' \
                 FROM orders WHERE id = {} AND total_cents > 0",
                order.id
            ))
            .await;
        done.push(match requested {
            Ok(()) => format!("refund requested for order {}", order.id),
            Err(error) => format!("refund request for order {} refused: {error}", order.id),
        });
    }
    if order.status == "paid" && text.to_lowercase().contains("cancel") {
        let cancelled = database
            .execute(&format!(
                "UPDATE orders SET status = 'cancelled' WHERE id = {}",
                order.id
            ))
            .await;
        done.push(match cancelled {
            Ok(()) => format!("order {} cancelled", order.id),
            Err(error) => format!("cancelling order {} refused: {error}", order.id),
        });
    }
    done
}
