#!/usr/bin/env python3
"""Generate the support-triage demo fixtures (a small support desk) into fixtures/support-triage/.

Deterministic: one random.Random(7), fixed dates, no clock. Run it again and the files are the
same byte for byte. Python 3.11 standard library only.

The expected outcome of every issue follows the triage policy in fixtures/support-triage/README.md
and needs both the ticket text and the database:
  category        from the text (with a few deliberately ambiguous phrasings);
  priority        from "is the customer blocked?" (text) and the customer's plan (database);
  refund_eligible from the category (text) and the order's status and age and its existing
                  refunds (database).

Usage: scripts/generate-support-triage.py [OUTPUT_DIR]
"""

import csv
import datetime as dt
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fixtures" / "support-triage"

RANDOM = random.Random(7)
# The dataset's "today": nothing in the data refers to the real clock.
DATASET_END = dt.datetime(2025, 6, 30, 18, 0, tzinfo=dt.timezone.utc)
ISSUES_FROM = dt.datetime(2025, 5, 1, tzinfo=dt.timezone.utc)
HISTORY_FROM = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
REFUND_WINDOW = dt.timedelta(days=30)

CUSTOMER_COUNT = 600
ORDER_COUNT = 1500
TICKET_COUNT = 900
ISSUE_COUNT = 300
NOTE_COUNT = 1200
REFUND_COUNT = 150

# Share of issues written to mislead simple keyword rules (see TRICKS below).
TRICK_SHARE = 0.4

FIRST_NAMES = """Ada Alan Amara Anders Ana Aiko Bea Bruno Camille Carlos Chen Chloe Dario Dev Elena Emil
Eva Farah Felix Fatima Gabriel Grace Hana Hugo Ines Ivan Jana Jonas Kai Karin Lars Lea Leila Luca
Maya Marek Mateo Mei Nadia Nils Noor Omar Olga Paula Pedro Priya Quentin Rosa Rafael Sara Sven Tariq
Tomas Uma Vera Viktor Wen Yara Yusuf Zoe""".split()
LAST_NAMES = """Abara Berg Costa Dubois Eriksen Fischer Garcia Haddad Ito Jansen Kowalski Larsen Moreau
Nakamura Novak Okafor Petrov Quinn Rossi Santos Schmidt Silva Tanaka Umarov Varga Weber Xu Yilmaz
Zhang Lindqvist Murphy Kaur Nguyen Ferreira Horvat Ahmed Müller Øster Brennan""".split()
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "CA", "AU", "JP", "BR", "IN", "PL"]
CURRENCY_BY_COUNTRY = {"GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "ES": "EUR", "IT": "EUR"}
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "corp.example"]
PRODUCTS = ["standing desk", "desk lamp", "monitor arm", "ergonomic chair", "keyboard tray",
            "cable kit", "footrest", "webcam mount", "laptop stand", "desk mat", "acoustic panel",
            "whiteboard", "drawer unit", "headset hook"]
FEATURES = ["the CSV export", "the order history page", "the invoice download", "the mobile app",
            "the team dashboard", "the search box", "saved addresses", "the API", "the checkout page",
            "the reorder button", "email notifications", "the shared cart"]
CARRIERS = ["UPS", "DHL", "FedEx", "the postal service", "the courier"]

PLANS = [("free", 0.55), ("pro", 0.33), ("enterprise", 0.12)]
PRIORITY_BY_PLAN = {
    # (plan, blocked) -> priority; the triage policy in README.md.
    ("enterprise", True): "urgent", ("enterprise", False): "high",
    ("pro", True): "high", ("pro", False): "normal",
    ("free", True): "normal", ("free", False): "low",
}

GREETINGS = ["Hi,", "Hello,", "Hi there,", "Hello support,", "Dear support team,", "Hey,", "Good morning,", ""]
SIGN_OFFS = ["Thanks", "Thanks in advance", "Best regards", "Cheers", "Regards", "Thank you", "Kind regards"]

# Ticket templates per category. `blocked` says whether the situation stops the customer from
# using the service (or took money wrongly); shipping and refund requests never do, by policy.
# Placeholders: {product} {feature} {carrier} {order} {days} {amount}.
TEMPLATES = {
    "billing": [
        (False, "Question about my invoice", "The invoice for {order} shows VAT twice, I think. Could you check the invoice and send a corrected one?"),
        (False, "Update payment card", "Our company card expires next month. How do I update the payment method on file before the next billing cycle?"),
        (False, "Invoice address change", "We moved offices. Please change the billing address on future invoices, the old one is still printed on the receipt."),
        (False, "Subscription renewal price", "My subscription renewed at a higher price than last year. Can you explain the charge on my statement?"),
        (False, "Need a receipt", "I paid for {order} but never got a receipt by email. Can you resend the receipt for our accounting?"),
        (True, "Charged twice", "I was charged twice for {order}, {amount} each. The duplicate charge shows on my card statement."),
        (True, "Unauthorized charge on my card", "There is a charge of {amount} on my card that I did not make. I don't recognise this payment at all."),
        (True, "Account suspended for non-payment", "Our account was suspended for non-payment but the payment went through last week. We cannot place orders at all until this is fixed."),
    ],
    "shipping": [
        (False, "Where is my order?", "{order} was supposed to arrive {days} days ago. The tracking number has not updated since it left the warehouse."),
        (False, "Package marked delivered but not here", "Tracking says {order} was delivered by {carrier} yesterday but there is no package at my door or with the neighbours."),
        (False, "Change delivery address", "Can I still change the delivery address for {order}? I'll be away and would like it shipped to my office instead."),
        (False, "Damaged box", "The {product} from {order} arrived with a crushed box and a bent corner. Can you send a replacement part?"),
        (False, "Wrong item delivered", "I ordered a {product} but the parcel contained something else. Please ship the right item."),
        (False, "Delivery delayed", "{carrier} keeps postponing the delivery of {order}. Is there anything you can do about the shipping delay?"),
    ],
    "refund": [
        (False, "Refund request", "I'd like a refund for {order}. The {product} doesn't fit my space and I want to return it."),
        (False, "Return and money back", "The {product} I bought is not what I expected. Please tell me how to return it and get my money back."),
        (False, "Cancel and refund", "I changed my mind about {order}. Please refund the {amount}."),
        (False, "Refund for faulty product", "The {product} from {order} stopped working after {days} days. I want a refund, not a repair."),
        (False, "Requesting reimbursement", "Could you reimburse me for the {product}? It arrived, but we no longer need it after our office move."),
    ],
    "account": [
        (False, "Change email address", "I want to change the email address on my account to my new work address."),
        (False, "Add a teammate", "How do I invite a colleague to our account so they can see our orders?"),
        (False, "Delete my account", "Please delete my account and the personal data you hold about me."),
        (False, "Two-factor authentication", "How do I turn on two-factor authentication for my account?"),
        (True, "Locked out", "I can't log in. It says my password is wrong even after resetting it, and now my account is locked."),
        (True, "Lost my 2FA phone", "I lost the phone with my two-factor codes and cannot sign in to my account anymore."),
        (True, "Login not working", "I cannot log in since the password reset yesterday. The reset link says it expired every time."),
    ],
    "bug": [
        (False, "Export has wrong dates", "{feature} shows dates one day off for orders placed late in the evening. Looks like a time zone bug."),
        (False, "Typo on the page", "Small thing: {feature} has a typo and the button text overlaps on narrow screens."),
        (False, "Slow page", "{feature} takes about ten seconds to load for us. Everything works, it's just slow."),
        (True, "App crashes on launch", "The app crashes on launch since the last update. We can't use it at all."),
        (True, "Checkout error", "Checkout fails every time with an error 500 after I press pay. Nobody on our team can complete an order."),
        (True, "Blank page", "{feature} shows a blank page with a JavaScript error in the console. We are unable to work."),
    ],
}

# Tickets written to mislead simple keyword rules; each states its true category and blocking.
# A careful reader (or a model) gets them right by the policy in README.md.
TRICKS = [
    # A duplicate charge is a billing error even when the customer asks for the money back.
    ("billing", True, "Please refund the double charge", "You charged my card twice for {order}. Please refund the duplicate payment of {amount} right away."),
    ("billing", True, "Refund the extra charge", "The payment for {order} went through two times. I only want the second charge of {amount} reversed, keep the order."),
    # A replacement is a shipping matter; the customer explicitly does not want a refund.
    ("shipping", False, "Broken on arrival - no refund please", "The {product} in {order} arrived broken. I don't want a refund or my money back, just send a new one."),
    ("shipping", False, "Return label for exchange", "The {product} from {order} is the wrong colour. I want to exchange it, not get a refund. Can you send a return label?"),
    # An error message during login is a bug, not an account problem.
    ("bug", True, "Error when I log in", "When I log in I get an error 500 page instead of my dashboard. Same on every browser, password is correct."),
    ("bug", False, "Password reset email looks broken", "The password reset email renders as raw HTML in Outlook. I could still reset my password, just reporting the bug."),
    # Blocked without the usual words.
    ("account", True, "Whole team shut out", "Since this morning none of our {days} people have been able to get into the account. Every attempt bounces back to the sign-in page."),
    ("bug", True, "Nothing loads", "Since your update {feature} just spins forever. Our warehouse has stopped, nothing has shipped today."),
    # Sounds alarming, is not blocking.
    ("bug", False, "Urgent!!! button colour", "URGENT: the button on {feature} is the wrong shade of blue. It still works fine, but please fix it asap."),
    ("billing", False, "Can't find invoice (no rush)", "I can't find the invoice for {order} in the portal. No rush, whenever you get a chance."),
    # The customer claims a plan the database does not show; the database is right.
    ("account", False, "Enterprise customer - change email", "As an enterprise customer I expect this fast: change the email on our account to the new domain."),
    # A refund asked for in other words, and a card mentioned on the way.
    ("refund", False, "Sending it back", "I'd like to send the {product} back and have the amount returned to my card. It was {order}."),
    # "cannot" about a document is not being blocked.
    ("billing", False, "VAT number missing", "I cannot see our VAT number on the invoice for {order}. We need it for the accounts by the end of the month."),
    # Asks about refund policy for a subscription charge: billing (no order money back requested).
    ("billing", False, "How do refunds work for the subscription?", "Before I upgrade: if I cancel the yearly subscription, is the rest of the charge refunded? Just a question."),
]

REFUND_SITUATIONS = [
    # (name, weight): how the order behind a refund request looks; only "eligible" and
    # "rejected_before" are eligible.
    ("eligible", 0.45),
    ("too_old", 0.17),
    ("borderline_in", 0.04),
    ("borderline_out", 0.04),
    ("already_refunded", 0.09),
    ("refund_pending", 0.09),
    ("rejected_before", 0.06),
    ("cancelled", 0.06),
]


def weighted(pairs):
    total = sum(weight for _, weight in pairs)
    point = RANDOM.random() * total
    for value, weight in pairs:
        point -= weight
        if point < 0:
            return value
    return pairs[-1][0]


def timestamp(moment):
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_moment(start, end):
    seconds = int((end - start).total_seconds())
    return start + dt.timedelta(seconds=RANDOM.randrange(seconds))


def money(cents, currency):
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}[currency]
    return f"{symbol}{cents // 100}.{cents % 100:02d}"


def make_customers():
    customers, emails = [], set()
    for customer_id in range(1, CUSTOMER_COUNT + 1):
        first, last = RANDOM.choice(FIRST_NAMES), RANDOM.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("ø", "o").replace("ü", "u")
        email = f"{local}@{RANDOM.choice(EMAIL_DOMAINS)}"
        suffix = 2
        while email in emails:
            email = f"{local}{suffix}@{email.split('@')[1]}"
            suffix += 1
        emails.add(email)
        country = RANDOM.choice(COUNTRIES)
        customers.append({
            "id": customer_id,
            "name": f"{first} {last}",
            "email": email,
            "plan": weighted(PLANS),
            "country": country,
            # Before any order or ticket, so that no history predates its customer.
            "created_at": timestamp(random_moment(dt.datetime(2021, 6, 1, tzinfo=dt.timezone.utc), HISTORY_FROM)),
        })
    return customers


def make_staff():
    roles = ["agent"] * 7 + ["lead"] * 2 + ["billing"] * 2 + ["admin"]
    permissions_by_role = {
        "agent": ["tickets.read", "tickets.write"],
        "lead": ["tickets.read", "tickets.write", "tickets.assign"],
        "billing": ["tickets.read", "refunds.approve", "orders.read"],
        "admin": ["tickets.read", "tickets.write", "tickets.assign", "refunds.approve", "orders.read", "staff.manage"],
    }
    staff, permissions = [], []
    used_names = set()
    for staff_id, role in enumerate(roles, start=1):
        name = RANDOM.choice(FIRST_NAMES)
        while name in used_names:
            name = RANDOM.choice(FIRST_NAMES)
        used_names.add(name)
        staff.append({"id": staff_id, "name": f"{name} (support)", "email": f"{name.lower()}@support.desk.example", "role": role})
        for permission in permissions_by_role[role]:
            permissions.append({"staff_id": staff_id, "permission": permission})
    return staff, permissions


class Orders:
    def __init__(self):
        self.rows = []

    def add(self, customer, placed_at, status):
        currency = CURRENCY_BY_COUNTRY.get(customer["country"], "USD")
        row = {
            "id": 10000 + len(self.rows) + 1,
            "customer_id": customer["id"],
            "placed_at": timestamp(placed_at),
            "status": status,
            "total_cents": RANDOM.randrange(1500, 95000, 5),
            "currency": currency,
        }
        self.rows.append(row)
        return row


def order_status_for_age(age):
    if age < dt.timedelta(days=2):
        return "paid"
    if age < dt.timedelta(days=6):
        return RANDOM.choice(["paid", "shipped"])
    if age < dt.timedelta(days=12):
        return RANDOM.choice(["shipped", "delivered", "delivered"])
    return weighted([("delivered", 0.86), ("cancelled", 0.07), ("refunded", 0.07)])


def fill(template, order, customer):
    product = RANDOM.choice(PRODUCTS)
    order_reference = RANDOM.choice(["order #{id}", "order {id}", "my order #{id}", "order number {id}"]).format(id=order["id"]) if order else "my last order"
    if order and RANDOM.random() < 0.2:
        # Not every customer quotes the order number; the ticket row still links the order.
        order_reference = RANDOM.choice(["my recent order", "my last order", "the order I placed"])
    text = template.format(
        product=product,
        feature=RANDOM.choice(FEATURES),
        carrier=RANDOM.choice(CARRIERS),
        order=order_reference,
        days=RANDOM.randrange(3, 40),
        amount=money(order["total_cents"], order["currency"]) if order else "$49.00",
    )
    return text[0].upper() + text[1:]


def compose_body(text, customer):
    parts = []
    greeting = RANDOM.choice(GREETINGS)
    if greeting:
        parts.append(greeting)
    parts.append(text)
    if RANDOM.random() < 0.3:
        parts.append(RANDOM.choice([
            "I've been a customer for years.", "This is the second time I'm writing about this.",
            "Please get back to me soon.", "Happy to provide more details.", "Order details are in your system.",
        ]))
    parts.append(f"{RANDOM.choice(SIGN_OFFS)},\n{customer['name'].split()[0]}")
    return "\n\n".join(parts)


def needs_order(category, template_text):
    return category in ("shipping", "refund") or "{order}" in template_text or "{amount}" in template_text


def make_data():
    customers = make_customers()
    staff, permissions = make_staff()
    orders = Orders()
    refunds, tickets, notes, issues = [], [], [], []

    customers_with_orders = RANDOM.sample(customers, 420)
    # Issue tickets first, so that their orders can be shaped to the situation the issue tests.
    issue_customers = [RANDOM.choice(customers) for _ in range(ISSUE_COUNT)]
    for index, customer in enumerate(issue_customers):
        ticket_id = 1001 + index * 3  # issue tickets are spread among the others
        created_at = random_moment(ISSUES_FROM, DATASET_END)
        if RANDOM.random() < TRICK_SHARE:
            category, blocked, subject, template = RANDOM.choice(TRICKS)
        else:
            category = weighted([("billing", 0.2), ("shipping", 0.2), ("refund", 0.26), ("account", 0.17), ("bug", 0.17)])
            blocked, subject, template = RANDOM.choice(TEMPLATES[category])
        order, refund_eligible = None, False
        if needs_order(category, template):
            if category == "refund":
                order, refund_eligible = refund_order(orders, refunds, customer, created_at)
            else:
                age = dt.timedelta(hours=RANDOM.randrange(30, 24 * 40))
                status = "paid" if category == "billing" and age < dt.timedelta(days=2) else order_status_for_age(age)
                if category == "shipping":
                    status = RANDOM.choice(["paid", "shipped", "shipped", "delivered"])
                order = orders.add(customer, created_at - age, status)
        body = compose_body(fill(template, order, customer), customer)
        subject = fill(subject, order, customer)
        tickets.append({
            "id": ticket_id, "customer_id": customer["id"], "order_id": order["id"] if order else None,
            "subject": subject, "body": body, "status": "open", "category": None, "priority": None,
            "assignee_id": None, "created_at": timestamp(created_at),
        })
        notes.append({"ticket_id": ticket_id, "author": None, "body": "Ticket created from email.", "created_at": timestamp(created_at + dt.timedelta(seconds=2))})
        issues.append({
            "id": f"T-{ticket_id}", "ticket_id": ticket_id, "subject": subject, "body": body,
            "customer_email": customer["email"],
            "expected": {
                "category": category,
                "priority": PRIORITY_BY_PLAN[(customer["plan"], blocked)],
                "refund_eligible": refund_eligible,
            },
        })

    # Background orders, for history and for agents that look at more than the one order.
    while len(orders.rows) < ORDER_COUNT:
        customer = RANDOM.choice(customers_with_orders)
        placed_at = random_moment(HISTORY_FROM, DATASET_END - dt.timedelta(days=1))
        orders.add(customer, placed_at, order_status_for_age(DATASET_END - placed_at))

    # Background refunds on old orders (refunded ones, plus some rejected and requested).
    for order in orders.rows:
        if len(refunds) >= REFUND_COUNT - 20:
            break
        if order["status"] == "refunded" and not any(refund["order_id"] == order["id"] for refund in refunds):
            add_refund(refunds, order, "approved", parse(order["placed_at"]) + dt.timedelta(days=RANDOM.randrange(3, 25)))
    # Orders behind issues keep exactly the refunds their situation gave them.
    issue_order_ids = {ticket["order_id"] for ticket in tickets}
    background_candidates = [order for order in orders.rows if order["status"] == "delivered" and order["id"] not in issue_order_ids]
    while len(refunds) < REFUND_COUNT:
        order = RANDOM.choice(background_candidates)
        if any(refund["order_id"] == order["id"] for refund in refunds):
            continue
        add_refund(refunds, order, RANDOM.choice(["rejected", "requested", "rejected"]), parse(order["placed_at"]) + dt.timedelta(days=RANDOM.randrange(2, 40)))

    # Background tickets: closed and pending ones, categorised, some with notes from staff.
    issue_ids = {ticket["id"] for ticket in tickets}
    ticket_id = 1000
    orders_by_customer = {}
    for order in orders.rows:
        orders_by_customer.setdefault(order["customer_id"], []).append(order)
    while len(tickets) < TICKET_COUNT:
        ticket_id += 1
        if ticket_id in issue_ids:
            continue
        customer = RANDOM.choice(customers)
        category = weighted([("billing", 0.2), ("shipping", 0.25), ("refund", 0.2), ("account", 0.18), ("bug", 0.17)])
        blocked, subject, template = RANDOM.choice(TEMPLATES[category])
        customer_orders = orders_by_customer.get(customer["id"], [])
        order = RANDOM.choice(customer_orders) if customer_orders and needs_order(category, template) else None
        if needs_order(category, template) and order is None:
            category, (blocked, subject, template) = "account", TEMPLATES["account"][RANDOM.randrange(4)]
        low = parse(order["placed_at"]) if order else HISTORY_FROM
        created_at = random_moment(low + dt.timedelta(hours=6), DATASET_END)
        status = weighted([("closed", 0.8), ("pending", 0.2)])
        assignee = RANDOM.choice(staff)["id"]
        tickets.append({
            "id": ticket_id, "customer_id": customer["id"], "order_id": order["id"] if order else None,
            "subject": fill(subject, order, customer), "body": compose_body(fill(template, order, customer), customer),
            "status": status, "category": category, "priority": PRIORITY_BY_PLAN[(customer["plan"], blocked)],
            "assignee_id": assignee, "created_at": timestamp(created_at),
        })
        notes.append({"ticket_id": ticket_id, "author": None, "body": "Ticket created from email.", "created_at": timestamp(created_at + dt.timedelta(seconds=2))})
    background = [ticket for ticket in tickets if ticket["status"] != "open"]
    while len(notes) < NOTE_COUNT:
        ticket = RANDOM.choice(background)
        written_at = parse(ticket["created_at"]) + dt.timedelta(minutes=RANDOM.randrange(10, 60 * 72))
        notes.append({
            "ticket_id": ticket["id"], "author": ticket["assignee_id"],
            "body": RANDOM.choice(STAFF_NOTES).format(category=ticket["category"], priority=ticket["priority"]),
            "created_at": timestamp(min(written_at, DATASET_END)),
        })

    tickets.sort(key=lambda ticket: ticket["id"])
    notes.sort(key=lambda note: (note["created_at"], note["ticket_id"]))
    refunds.sort(key=lambda refund: refund["created_at"])
    return customers, staff, permissions, orders.rows, tickets, notes, refunds, issues


STAFF_NOTES = [
    "Triaged as {category}, priority {priority}.",
    "Replied to the customer with the standard {category} macro.",
    "Checked the order history; nothing unusual.",
    "Customer confirmed the issue is resolved. Closing.",
    "Escalated to the team lead for a second look.",
    "Waiting on the customer for more details.",
    "Asked billing to double check the payment.",
    "Carrier claim opened; tracking shows the parcel at the depot.",
    "Reproduced in staging; bug filed with engineering.",
    "Reset link resent, customer able to sign in again.",
]


def parse(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def add_refund(refunds, order, status, created_at):
    refunds.append({
        "order_id": order["id"],
        "amount_cents": order["total_cents"] if RANDOM.random() < 0.8 else order["total_cents"] // 2,
        "reason": RANDOM.choice(["changed mind", "item damaged", "wrong item", "late delivery", "duplicate order", "not as described"]),
        "status": status,
        "created_at": timestamp(min(created_at, DATASET_END)),
    })


def refund_order(orders, refunds, customer, ticket_at):
    """An order behind a refund request, shaped to one of REFUND_SITUATIONS."""
    situation = weighted(REFUND_SITUATIONS)
    days = {
        "eligible": RANDOM.uniform(2, 27), "too_old": RANDOM.uniform(35, 150),
        "borderline_in": RANDOM.uniform(29.2, 29.9), "borderline_out": RANDOM.uniform(30.1, 30.8),
        "already_refunded": RANDOM.uniform(8, 28), "refund_pending": RANDOM.uniform(5, 25),
        "rejected_before": RANDOM.uniform(6, 25), "cancelled": RANDOM.uniform(2, 20),
    }[situation]
    placed_at = ticket_at - dt.timedelta(days=days)
    status = {
        "already_refunded": "refunded", "cancelled": "cancelled",
    }.get(situation, RANDOM.choice(["shipped", "delivered", "delivered"]) if days > 6 else "paid")
    order = orders.add(customer, placed_at, status)
    before_ticket = placed_at + (ticket_at - placed_at) * RANDOM.uniform(0.3, 0.9)
    if situation == "already_refunded":
        add_refund(refunds, order, "approved", before_ticket)
    elif situation == "refund_pending":
        add_refund(refunds, order, RANDOM.choice(["requested", "approved"]), before_ticket)
    elif situation == "rejected_before":
        add_refund(refunds, order, "rejected", before_ticket)
    return order, situation in ("eligible", "borderline_in", "rejected_before")


def write_csv(path, rows, columns):
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: "" if row[column] is None else row[column] for column in columns})


def write_jsonl(path, rows):
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    customers, staff, permissions, orders, tickets, notes, refunds, issues = make_data()
    write_csv(OUTPUT / "customers.csv", customers, ["id", "name", "email", "plan", "country", "created_at"])
    write_csv(OUTPUT / "staff.csv", staff, ["id", "name", "email", "role"])
    write_csv(OUTPUT / "staff_permissions.csv", permissions, ["staff_id", "permission"])
    write_csv(OUTPUT / "orders.csv", orders, ["id", "customer_id", "placed_at", "status", "total_cents", "currency"])
    write_jsonl(OUTPUT / "tickets.jsonl", tickets)
    write_jsonl(OUTPUT / "ticket_notes.jsonl", notes)
    write_csv(OUTPUT / "refunds.csv", refunds, ["order_id", "amount_cents", "reason", "status", "created_at"])
    write_jsonl(OUTPUT / "issues.jsonl", issues)
    (OUTPUT / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    counts = {"customers": len(customers), "staff": len(staff), "staff_permissions": len(permissions),
              "orders": len(orders), "tickets": len(tickets), "ticket_notes": len(notes),
              "refunds": len(refunds), "issues": len(issues)}
    print("wrote " + ", ".join(f"{count} {name}" for name, count in counts.items()) + f" into {OUTPUT}", file=sys.stderr)


SCHEMA = """\
-- Support-triage demo: a small support desk (generated by scripts/generate-support-triage.py).
-- Ids in the data files are fixed, except ticket_notes and refunds, whose ids the database
-- assigns, so that an agent can add rows to them without guessing a free id.

-- People who buy from the shop and write to support. The plan decides how fast they are served.
CREATE TABLE customers (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL UNIQUE,
    plan        text NOT NULL CHECK (plan IN ('free', 'pro', 'enterprise')),
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    created_at  timestamptz NOT NULL
);

-- The support team. Never written by an agent.
CREATE TABLE staff (
    id     integer PRIMARY KEY,
    name   text NOT NULL,
    email  text NOT NULL UNIQUE,
    role   text NOT NULL CHECK (role IN ('agent', 'lead', 'billing', 'admin'))
);

-- What each staff member may do (access control: never writable by an agent).
CREATE TABLE staff_permissions (
    staff_id    integer NOT NULL REFERENCES staff (id),
    permission  text NOT NULL,
    PRIMARY KEY (staff_id, permission)
);

-- Purchases. A refund can only be granted for an order that was paid and is recent enough.
CREATE TABLE orders (
    id           integer PRIMARY KEY,
    customer_id  integer NOT NULL REFERENCES customers (id),
    placed_at    timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    total_cents  integer NOT NULL CHECK (total_cents >= 0),
    currency     text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP'))
);
CREATE INDEX orders_customer_id ON orders (customer_id);

-- Support requests. Open tickets are waiting for triage: category, priority and assignee unset.
CREATE TABLE tickets (
    id           integer PRIMARY KEY,
    customer_id  integer NOT NULL REFERENCES customers (id),
    order_id     integer REFERENCES orders (id),
    subject      text NOT NULL,
    body         text NOT NULL,
    status       text NOT NULL CHECK (status IN ('open', 'pending', 'closed')),
    category     text CHECK (category IN ('billing', 'shipping', 'refund', 'account', 'bug')),
    priority     text CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    assignee_id  integer REFERENCES staff (id),
    created_at   timestamptz NOT NULL
);
CREATE INDEX tickets_customer_id ON tickets (customer_id);
CREATE INDEX tickets_status ON tickets (status);

-- The conversation log of a ticket: staff notes (author set) and system notes (author null).
CREATE TABLE ticket_notes (
    id          integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    ticket_id   integer NOT NULL REFERENCES tickets (id),
    author      integer REFERENCES staff (id),
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_notes_ticket_id ON ticket_notes (ticket_id);

-- Money going back to customers. Requested refunds wait for a human with refunds.approve.
CREATE TABLE refunds (
    id            integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    order_id      integer NOT NULL REFERENCES orders (id),
    amount_cents  integer NOT NULL CHECK (amount_cents > 0),
    reason        text NOT NULL,
    status        text NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_id ON refunds (order_id);
"""

if __name__ == "__main__":
    main()
