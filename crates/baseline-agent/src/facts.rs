//! What the database says about a ticket, and recording the triage back on it.

use sqlx::PgPool;

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
        pool: &PgPool,
        ticket_id: i32,
        email: &str,
    ) -> Result<TicketFacts, sqlx::Error> {
        let plan: Option<String> =
            sqlx::query_scalar("SELECT plan FROM customers WHERE lower(email) = lower($1)")
                .bind(email)
                .fetch_optional(pool)
                .await?;
        let order: Option<(i32, String, f64)> = sqlx::query_as(
            "SELECT o.id, o.status, \
                    (extract(epoch FROM t.created_at - o.placed_at) / 86400)::float8 \
             FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.id = $1",
        )
        .bind(ticket_id)
        .fetch_optional(pool)
        .await?;
        let order = match order {
            Some((id, status, age_days)) => {
                let open_refund: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM refunds \
                     WHERE order_id = $1 AND status IN ('requested', 'approved'))",
                )
                .bind(id)
                .fetch_one(pool)
                .await?;
                Some(OrderFacts {
                    id,
                    status,
                    age_days,
                    open_refund,
                })
            }
            None => None,
        };
        Ok(TicketFacts { plan, order })
    }
}

/// Sets the ticket's category and priority and adds a system note, in one transaction.
pub(crate) async fn record(
    pool: &PgPool,
    ticket_id: i32,
    triage: &Triage,
) -> Result<(), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    sqlx::query("UPDATE tickets SET category = $2, priority = $3 WHERE id = $1")
        .bind(ticket_id)
        .bind(triage.category)
        .bind(triage.priority)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("INSERT INTO ticket_notes (ticket_id, author, body) VALUES ($1, NULL, $2)")
        .bind(ticket_id)
        .bind(format!("baseline triage: {}", triage.explanation))
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await
}

/// Acts on the ticket the way a simple support script would: requests a refund where the rules
/// say one is due, and cancels a paid order the customer asks to cancel. In the demo pod refunds
/// need human approval (the request becomes a proposal) and orders are read-only (the cancel is
/// refused and recorded as a boundary violation) — the baseline is naive on purpose, so the demo
/// shows both. Returns what it did, for the note.
pub(crate) async fn act(
    pool: &PgPool,
    text: &str,
    triage: &Triage,
    facts: &TicketFacts,
) -> Vec<String> {
    let mut done = Vec::new();
    let Some(order) = &facts.order else {
        return done;
    };
    if triage.refund_eligible && !order.open_refund {
        let requested = sqlx::query(
            "INSERT INTO refunds (order_id, amount_cents, reason, status) \
             SELECT id, total_cents, 'requested by the customer in a support ticket', 'requested' \
             FROM orders WHERE id = $1 AND total_cents > 0",
        )
        .bind(order.id)
        .execute(pool)
        .await;
        done.push(match requested {
            Ok(_) => format!("refund requested for order {}", order.id),
            Err(error) => format!("refund request for order {} refused: {error}", order.id),
        });
    }
    if order.status == "paid" && text.to_lowercase().contains("cancel") {
        let cancelled = sqlx::query("UPDATE orders SET status = 'cancelled' WHERE id = $1")
            .bind(order.id)
            .execute(pool)
            .await;
        done.push(match cancelled {
            Ok(_) => format!("order {} cancelled", order.id),
            Err(error) => format!("cancelling order {} refused: {error}", order.id),
        });
    }
    done
}
