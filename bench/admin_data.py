"""The data of bench/admin_pages.py: N disputes spread as on a live marketplace.

N disputes on N delivered orders (one in ten with a second, undisputed line) of 7 stores
shipping from China, Turkey, Germany and Russia, 42 products in 5 categories (through the
test factories), one buyer per four disputes in Russia, Ukraine, Belarus, Kazakhstan and
Moldova. States, kinds and routes are spread as on a live marketplace: local returns only for
buyers in Russia whose seller offers them; about a fifth of the open deadlines overdue
(escalated ones flagged overdue, as the sweep would). Each dispute has the timeline events,
return instructions, shipment, inspection, messages, evidence rows (one photo file shared by
the rows) and refund its state implies: paid for refunded disputes; pending, failed, or
waiting for a second staff member's approval for those being paid (at every N at least one
failed and one waiting). Two disputes are fixed: an escalated refund with 3 events and
3 messages, and an escalated international return with BIG events and BIG messages by the
buyer, both store members, two staff members and the system. Everything but the catalogue
and the staff is ``bulk_create``; then ``VACUUM ANALYZE`` on PostgreSQL.

``seed(n, store_disputes=k, big=b)`` (bench/api.py): the first store, Golden Dragon Trading,
gets the first k of the N disputes (the small, the long and the two refunds above among them)
and the other six stores the rest; the long dispute has b events and b messages; and the
store's first dispute is a refunded local return of a buyer in Russia with the whole story:
opened, instructions sent, shipped, inspected (accepted), refund paid.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BIG = 1000  # events, and messages, of the long dispute

# name, ships from, has its own return warehouse in Russia, offers local return
STORES = (
    ("Golden Dragon Trading", "CN", True, True),
    ("Shenzhen Gadgets", "CN", False, True),
    ("Yiwu Home Goods", "CN", False, False),
    ("Bosphorus Textiles", "TR", False, False),
    ("Anatolia Leather", "TR", False, True),
    ("Berlin Optics", "DE", False, False),
    ("Moscow Mall", "RU", True, True),
)
CATEGORIES = (("Apparel", "apparel", False), ("Watches", "jewelry", False), ("Cosmetics", "cosmetics", True),
              ("Electronics", "electronics", False), ("Home", "other", False))
PRICES = [Decimal(p) for p in ("490.00", "1290.00", "2490.00", "4990.00", "8990.00", "15990.00")]
BUYER_COUNTRIES = (("RU", 75), ("UA", 8), ("BY", 6), ("KZ", 7), ("MD", 4))
MESSAGES = ("Hello, when will you send the return instructions?", "We are checking the parcel, please wait.",
            "The item arrived with a scratch on the case.", "Could you send a photo of the label?",
            "Here it is. The box was not opened.", "Thank you, we will answer tomorrow.")


@dataclass
class Seeded:
    n: int
    supervisor_id: int
    small_id: int  # an escalated dispute with 3 events and 3 messages
    big_id: int  # an escalated dispute with BIG events and BIG messages
    counts: dict[str, int] = field(default_factory=dict)
    # With ``store_disputes``: the store that has them, one of its members, its refunded local return.
    store_id: int | None = None
    member_id: int | None = None
    full_id: int | None = None


def seed(n: int, *, store_disputes: int | None = None, big: int = BIG) -> Seeded:
    """N disputes, spread as on a live marketplace; ``store_disputes`` of them of the first
    store, the long dispute with ``big`` events (see the module docstring)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import user_emails_mark_verified_new
    from accounts.tests.factories import StaffFactory
    from catalog.tests.factories import CategoryFactory, ProductFactory, StoreFactory, WarehouseFactory
    from disputes.models import (
        Dispute,
        DisputeAttachment,
        DisputeEvent,
        DisputeMessage,
        Inspection,
        Refund,
        ReturnInstructions,
        ReturnShipment,
    )
    from disputes.tests.factories import PNG
    from orders.models import Order, OrderLine

    if n < 2:
        raise SystemExit("N must be at least 2 (the small and the long dispute)")
    if store_disputes is not None and not 4 <= store_disputes < n:
        raise SystemExit("the store's disputes must be at least 4 and fewer than N (other stores have some too)")
    S, K, R, E = Dispute.State, Dispute.Kind, Dispute.Route, DisputeEvent.Kind
    call_command("migrate", verbosity=0)
    # bandit: seeded pseudo-random benchmark data, no security use.
    rng = random.Random(n)  # nosec B311
    now = timezone.now()

    # The catalogue: small, through the test factories.
    return_centre = WarehouseFactory(name="Marketplace return centre, Moscow", store=None, country="RU")
    categories = [CategoryFactory(name=name, slug=f"bench-{kind}", kind=kind, not_returnable_once_opened=sealed)
                  for name, kind, sealed in CATEGORIES]
    stores, products = [], []
    for name, country, own_warehouse, local in STORES:
        store = StoreFactory(name=name, country=country)
        store.home_warehouse = WarehouseFactory(name=f"{name} returns", store=store, country=country,
                                                city="Home city", address="1 Export Road")
        store.ru_warehouse = (WarehouseFactory(name=f"{name} Moscow", store=store, country="RU")
                              if own_warehouse and country != "RU" else
                              store.home_warehouse if country == "RU" else return_centre)
        stores.append(store)
        for k in range(6):
            products.append(ProductFactory(store=store, category=categories[k % len(categories)],
                                           title=f"{name.split()[0]} item {k + 1}", price=PRICES[k],
                                           local_return=local))

    # People: staff through the factory (the supervisor signs in), the rest in bulk.
    supervisor = StaffFactory(username="bench-supervisor")
    supervisor.groups.add(Group.objects.get(name="Supervisor"))
    approver = StaffFactory(username="bench-supervisor-2")
    approver.groups.add(Group.objects.get(name="Supervisor"))
    agent = StaffFactory(username="bench-agent")
    agent.groups.add(Group.objects.get(name="Support agent"))
    unusable = make_password(None)
    members = User.objects.bulk_create(
        User(username=f"bench-seller-{s}-{k}", email=f"seller{s}.{k}@example.com", store=store, password=unusable)
        for s, store in enumerate(stores) for k in (1, 2))
    members_of = {store.pk: [m for m in members if m.store_id == store.pk] for store in stores}
    countries, weights = zip(*BUYER_COUNTRIES)
    buyers = User.objects.bulk_create(
        (User(username=f"bench-buyer-{i:05d}", email=f"buyer{i}@example.com", first_name="Buyer",
              last_name=f"No. {i}", country=rng.choices(countries, weights)[0], password=unusable,
              date_joined=now - timedelta(days=200))
         for i in range(max(20, n // 4))), batch_size=2000)
    user_emails_mark_verified_new(users=[*members, *buyers])  # verified addresses, as accounts made by staff

    # The plan of each dispute, before anything is written.
    big_at, small_at, full_at = (store_disputes or n) // 2, 1, 0 if store_disputes else None
    own = [product for product in products if product.store_id == stores[0].pk]
    others = [product for product in products if product.store_id != stores[0].pk]
    plans = []
    for i in range(n):
        pool = products if store_disputes is None else own if i < store_disputes else others
        dearest = max(pool, key=lambda product: product.price)
        plan = plan_dispute(i, rng, now, buyers, pool, stores)
        if i == full_at:
            plan.update(state=S.REFUNDED, kind=K.RETURN, route=R.LOCAL, overdue=False,
                        buyer=next(buyer for buyer in buyers if buyer.country == "RU"))
        elif i == big_at:
            plan.update(state=S.ESCALATED, kind=K.RETURN, route=R.INTERNATIONAL, overdue=False)
        elif i == small_at:
            plan.update(state=S.ESCALATED, kind=K.REFUND_ONLY, route=R.NONE, overdue=False)
        elif i in (2, 3):  # at every N, a refund waiting for approval (above the limit) and a failed one
            plan.update(state=S.REFUND_PENDING, kind=K.REFUND_ONLY, route=R.NONE, product=dearest,
                        line_total=dearest.price * plan["quantity"], refund=("awaiting_approval", "failed")[i - 2])
        plans.append(plan)
    for plan in plans:
        finish_plan(plan, rng, now)

    orders = Order.objects.bulk_create(
        (Order(number=f"BENCH-{i:07d}", buyer=p["buyer"], store=p["product"].store, status=Order.Status.DELIVERED,
               currency="RUB", total=p["order_total"], delivery_country=p["buyer"].country,
               payment_reference=f"PAY-{i:07d}", tracking_number=f"TRK{i:09d}",
               created_at=p["delivered_at"] - timedelta(days=12), paid_at=p["delivered_at"] - timedelta(days=12),
               shipped_at=p["delivered_at"] - timedelta(days=8), delivered_at=p["delivered_at"])
         for i, p in enumerate(plans)), batch_size=2000)
    lines = OrderLine.objects.bulk_create(
        (OrderLine(order=order, product=p["product"], title=p["product"].title, unit_price=p["product"].price,
                   quantity=p["quantity"], line_total=p["line_total"], refunded_amount=p["refunded"])
         for order, p in zip(orders, plans)), batch_size=2000)
    OrderLine.objects.bulk_create(
        (OrderLine(order=order, product=p["extra"], title=p["extra"].title, unit_price=p["extra"].price,
                   quantity=1, line_total=p["extra"].price)
         for order, p in zip(orders, plans) if p["extra"]), batch_size=2000)
    disputes = Dispute.objects.bulk_create(
        (Dispute(order_line=line, buyer=p["buyer"], store=p["product"].store, kind=p["kind"], route=p["route"],
                 state=p["state"], resolution=p["resolution"], amount=p["amount"], currency="RUB",
                 reason=p["reason"], description=p["description"], counter_offer_amount=p["counter_offer"],
                 seller_answer=p["seller_answer"], deadline_at=p["deadline_at"],
                 overdue_flagged_at=p["flagged_at"], created_at=p["opened_at"], closed_at=p["closed_at"],
                 withdrawn_from=p["withdrawn_from"])
         for line, p in zip(lines, plans)), batch_size=2000)

    events, instructions, shipments, inspections, refunds, messages, attachments = [], [], [], [], [], [], []
    photo = "bench/photo.png"
    for d, p in zip(disputes, plans):
        store_members = members_of[d.store_id]
        actors = {"buyer": d.buyer_id, "seller": store_members[0].pk, "system": None, "staff": approver.pk}
        # The story's steps spread evenly between the opening and its end (or now).
        step = ((p["closed_at"] or now) - p["opened_at"]) / (len(p["story"]) + 1)
        for k, (kind, source, target, who, details) in enumerate(p["story"]):
            at = p["opened_at"] + step * k
            details = dict(details)
            if kind == E.INSTRUCTIONS_SENT:
                warehouse = p["product"].store.ru_warehouse if d.route == R.LOCAL else p["product"].store.home_warehouse
                rma = f"RMA-{at:%y%m%d}-{d.pk:010X}"
                ship_by = at + timedelta(days=10)
                instructions.append(ReturnInstructions(
                    dispute_id=d.pk, warehouse=warehouse, method="drop_off", carrier="Russian Post",
                    text="Pack the item in its original box.", rma_code=rma, ship_by=ship_by,
                    issued_by_id=actors[who], created_at=at))
                details.update(rma_code=rma, warehouse=warehouse.pk, method="drop_off", carrier="Russian Post",
                               ship_by=ship_by.isoformat())
            elif kind == E.SHIPPED:
                shipments.append(ReturnShipment(dispute_id=d.pk, carrier="Russian Post",
                                                tracking_number=f"RP{d.pk:09d}RU", shipped_at=at))
            elif kind == E.INSPECTED:
                failed = target == S.REJECTED
                inspections.append(Inspection(
                    dispute_id=d.pk, inspector_id=store_members[-1].pk, received_at=at,
                    answers={"signs_of_use": "fails" if failed else "meets", "completeness": "meets"},
                    notes={"signs_of_use": "Scratches on the case."} if failed else {},
                    outcome="rejected" if failed else "accepted",
                    findings=[{"code": "signs_of_use", "outcome": "fail", "message": "Signs of use"}] * failed))
            events.append(DisputeEvent(dispute_id=d.pk, actor_id=actors[who], kind=kind, from_state=source,
                                       to_state=target, details=details, created_at=at))
        for k in range(p["messages"]):
            author = d.buyer_id if k % 2 == 0 else store_members[k // 2 % 2].pk
            messages.append(DisputeMessage(dispute_id=d.pk, author_id=author, body=MESSAGES[k % len(MESSAGES)],
                                           created_at=p["opened_at"] + step * (k + 0.5) / max(1, p["messages"])))
        if d.kind != K.RETURN or d.route != R.LOCAL:  # evidence: every dispute but a local return has some
            attachments.append(DisputeAttachment(
                dispute_id=d.pk, uploaded_by_id=d.buyer_id, file=photo, original_name="photo.png",
                content_type="image/png", size=len(PNG), created_at=p["opened_at"]))
        if p["refund"]:
            status = p["refund"]
            refunds.append(Refund(
                dispute_id=d.pk, order_line_id=d.order_line_id, amount=d.amount, currency="RUB",
                idempotency_key=f"bench-{d.pk}-decision", status=status,
                decided_by_id=approver.pk if status == Refund.Status.AWAITING_APPROVAL else None,
                reason="Refund decided.", gateway="disputes.payments.LocalLedgerGateway",
                gateway_reference=f"LEDGER-{d.pk}" if status == Refund.Status.PAID else "",
                attempts={Refund.Status.PAID: 1, Refund.Status.FAILED: 3}.get(status, 0),
                last_error="The payment gateway did not answer in time." if status == Refund.Status.FAILED else "",
                created_at=p["refund_at"], paid_at=p["closed_at"] if status == Refund.Status.PAID else None))

    # The long dispute: ``big`` events and ``big`` messages by everyone involved, system included.
    big_dispute, small = disputes[big_at], disputes[small_at]
    crowd = [big_dispute.buyer_id, *(m.pk for m in members_of[big_dispute.store_id]), approver.pk, agent.pk, None]
    filler = [E.COUNTER_OFFERED, E.REJECTED, E.ESCALATED, E.REFUND_FAILED, E.REOPENED]
    have = sum(1 for e in events if e.dispute_id == big_dispute.pk)
    start = plans[big_at]["opened_at"]
    events += [DisputeEvent(dispute_id=big_dispute.pk, actor_id=crowd[k % len(crowd)], kind=filler[k % len(filler)],
                            from_state=S.ESCALATED, to_state=S.ESCALATED, details={"reason": f"Note {k}"},
                            created_at=start + timedelta(minutes=5 * k))
               for k in range(big - have)]
    messages = [m for m in messages if m.dispute_id != big_dispute.pk]
    messages += [DisputeMessage(dispute_id=big_dispute.pk, author_id=crowd[k % (len(crowd) - 1)],
                                body=MESSAGES[k % len(MESSAGES)], created_at=start + timedelta(minutes=5 * k + 2))
                 for k in range(big)]

    DisputeEvent.objects.bulk_create(events, batch_size=5000)
    DisputeMessage.objects.bulk_create(messages, batch_size=5000)
    DisputeAttachment.objects.bulk_create(attachments, batch_size=5000)
    ReturnInstructions.objects.bulk_create(instructions, batch_size=5000)
    ReturnShipment.objects.bulk_create(shipments, batch_size=5000)
    Inspection.objects.bulk_create(inspections, batch_size=5000)
    Refund.objects.bulk_create(refunds, batch_size=5000)
    write_photo(photo, PNG)

    # bandit: the seeding checks its own data; a benchmark, never run with -O.
    assert DisputeEvent.objects.filter(dispute=small).count() == 3 and small.messages.count() == 3  # nosec B101
    # bandit: as above.
    assert big_dispute.events.count() == big and big_dispute.messages.count() == big  # nosec B101
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a live database has planner statistics and a visibility map
            cursor.execute("VACUUM ANALYZE")
    counts = {
        "disputes": len(disputes), "overdue": sum(1 for p in plans if p["deadline_at"] and p["deadline_at"] < now),
        "escalated": sum(1 for p in plans if p["state"] == S.ESCALATED), "events": len(events),
        "messages": len(messages), "refunds": len(refunds),
        "awaiting approval": sum(1 for r in refunds if r.status == Refund.Status.AWAITING_APPROVAL),
        "failed": sum(1 for r in refunds if r.status == Refund.Status.FAILED), "buyers": len(buyers),
        "stores": len(stores),
    }
    if store_disputes is None:
        return Seeded(n, supervisor.pk, small.pk, big_dispute.pk, counts)
    counts["of the store"] = store_disputes
    full = disputes[full_at]
    # bandit: as above.
    assert full.events.count() == 5 and all(hasattr(full, part) for part in ("instructions", "shipment", "inspection"))  # nosec B101
    return Seeded(n, supervisor.pk, small.pk, big_dispute.pk, counts, stores[0].pk, members_of[stores[0].pk][0].pk,
                  full.pk)


def write_photo(name: str, content: bytes) -> None:
    from django.core.files.storage import storages

    path = Path(storages["private"].path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


STATE_WEIGHTS = (  # a marketplace's disputes some weeks in: most open ones with the seller, a fifth refunded
    ("awaiting_seller", 18), ("awaiting_buyer_shipment", 12), ("return_in_transit", 10), ("counter_offered", 5),
    ("rejected", 6), ("escalated", 9), ("refund_pending", 5), ("refunded", 20), ("closed", 15))
DEADLINE_DAYS = {"awaiting_seller": "SELLER_RESPONSE_DAYS", "awaiting_buyer_shipment": "BUYER_SHIP_DAYS",
                 "return_in_transit": "SELLER_RECEIPT_DAYS", "counter_offered": "ESCALATION_DAYS",
                 "rejected": "ESCALATION_DAYS", "escalated": "STAFF_DECISION_DAYS"}
REASONS = ("changed_mind", "not_as_expected", "smell", "not_as_described", "damaged", "wrong_item", "other")


def plan_dispute(i, rng, now, buyers, products, stores) -> dict:
    """Who, what and in which state: the parts the rest of the plan depends on."""
    buyer = rng.choice(buyers)
    product = rng.choice(products)
    states, weights = zip(*STATE_WEIGHTS)
    state = rng.choices(states, weights)[0]
    local_possible = buyer.country == "RU" and product.local_return
    draw = rng.random()
    if local_possible:
        kind, route = ("return", "local") if draw < 0.65 else ("return", "international") if draw < 0.75 else (
            "refund_only", "")
    else:
        kind, route = ("return", "international") if draw < 0.55 else ("refund_only", "")
    if kind == "refund_only" and state in ("awaiting_buyer_shipment", "return_in_transit"):
        kind, route = "return", "local" if local_possible else "international"
    quantity = 1 if rng.random() < 0.85 else 2
    line_total = product.price * quantity
    opened_at = now - timedelta(days=rng.uniform(0.5, 40))
    return {
        "buyer": buyer, "product": product, "state": state, "kind": kind, "route": route, "quantity": quantity,
        "line_total": line_total, "opened_at": opened_at,
        "delivered_at": opened_at - timedelta(days=rng.uniform(0.5, 10)),
        "extra": rng.choice([p for p in products if p.store_id == product.store_id]) if rng.random() < 0.1 else None,
        "overdue": None, "refund": None,  # drawn in finish_plan unless forced
    }


def finish_plan(p: dict, rng, now) -> None:
    """Amounts, deadlines, endings, the timeline story, messages and the refund of one plan."""
    from django.conf import settings

    from returns_portal.money import round_money

    state, kind, route = p["state"], p["kind"], p["route"]
    p["order_total"] = p["line_total"] + (p["extra"].price if p["extra"] else 0)
    p["amount"] = p["line_total"] if rng.random() < 0.8 or p["refund"] else round_money(p["line_total"] / 2, "RUB")
    p["reason"] = "changed_mind" if route == "local" else rng.choice(REASONS)
    p["description"] = "" if route == "local" else "The item does not match the photos on the product page."
    p["counter_offer"] = round_money(p["amount"] * Decimal("0.6"), "RUB") if state == "counter_offered" else None
    p["seller_answer"] = ("The item was used; we cannot take it back." if state in ("rejected", "escalated")
                          else "We can offer a partial refund." if state == "counter_offered" else "")
    p["deadline_at"] = p["flagged_at"] = p["closed_at"] = None
    p["resolution"] = p["withdrawn_from"] = ""
    if state in DEADLINE_DAYS:
        days = getattr(settings, DEADLINE_DAYS[state])
        if p["overdue"] is None:
            ahead = rng.uniform(-2, days)
        else:
            ahead = -1 if p["overdue"] else days - 1
        p["deadline_at"] = now + timedelta(days=ahead)
        if state == "escalated" and ahead < 0:
            p["flagged_at"] = p["deadline_at"] + timedelta(minutes=1)
    returned = kind == "return"
    got_instructions = [("instructions_sent", "awaiting_seller", "awaiting_buyer_shipment", "seller", {})]
    shipped = [*got_instructions, ("shipped", "awaiting_buyer_shipment", "return_in_transit", "buyer",
                                   {"carrier": "Russian Post"})]
    rejected = ([*shipped, ("inspected", "return_in_transit", "rejected", "seller", {})] if returned
                else [("rejected", "awaiting_seller", "rejected", "seller", {"reason": p["seller_answer"]})])
    paying = ([*shipped, ("inspected", "return_in_transit", "refund_pending", "seller", {})] if returned
              else [("accepted", "awaiting_seller", "refund_pending", "seller", {})])
    story = {
        "awaiting_seller": [],
        "awaiting_buyer_shipment": got_instructions,
        "return_in_transit": shipped,
        "counter_offered": [("counter_offered", "awaiting_seller", "counter_offered", "seller",
                             {"amount": str(p["counter_offer"]), "reason": p["seller_answer"]})],
        "rejected": rejected,
        "escalated": [*rejected, ("escalated", "rejected", "escalated", "buyer",
                                  {"reason": "The scratches were there on delivery."})],
        "refund_pending": paying,
        "refunded": [*paying, ("refund_paid", "refund_pending", "refunded", "system", {})],
    }
    if state == "closed":
        ending = rng.choice(["withdrawn", "rejected", "buyer_timeout"] if returned else ["withdrawn", "rejected"])
        p["resolution"] = ending
        if ending == "withdrawn":
            p["withdrawn_from"] = "awaiting_seller"
            steps = [("withdrawn", "awaiting_seller", "closed", "buyer", {})]
        elif ending == "rejected":
            steps = [*rejected, ("rejection_accepted", "rejected", "closed", "buyer", {})]
        else:
            steps = [*got_instructions, ("deadline_passed", "awaiting_buyer_shipment", "closed", "system",
                                         {"outcome": "buyer_did_not_ship", "days": settings.BUYER_SHIP_DAYS,
                                          "deadline": p["opened_at"].isoformat()})]
    else:
        steps = story[state]
    if p["flagged_at"]:
        steps = [*steps, ("staff_overdue", "escalated", "escalated", "system",
                          {"outcome": "staff_overdue_flagged", "days": settings.STAFF_DECISION_DAYS,
                           "deadline": p["deadline_at"].isoformat()})]
    p["story"] = [("opened", "", "awaiting_seller", "buyer", {"reason": p["reason"]}), *steps]
    if state in ("refunded", "closed"):
        p["closed_at"] = min(now - timedelta(hours=1), p["opened_at"] + timedelta(days=len(steps) + 1))
        earlier = p["opened_at"] - min(p["opened_at"], p["closed_at"] - timedelta(days=len(steps) + 1))
        p["opened_at"] -= earlier
        p["delivered_at"] -= earlier
    p["messages"] = 3 if state == "escalated" else rng.choice([0, 0, 0, 1, 2, 4])
    p["refunded"] = Decimal("0")
    if state == "refunded":
        p["refund"], p["refunded"] = "paid", p["amount"]
    elif state == "refund_pending" and p["refund"] is None:
        draw = rng.random()
        p["refund"] = ("awaiting_approval" if draw < 0.5 and p["amount"] > settings.STAFF_REFUND_APPROVAL_LIMIT
                       else "failed" if draw < 0.5 else "pending")
    p["refund_at"] = p["closed_at"] - timedelta(hours=1) if state == "refunded" else now - timedelta(
        hours=rng.uniform(1, 48))
