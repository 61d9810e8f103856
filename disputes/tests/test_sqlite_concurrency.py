"""The embedded default (SQLite) under concurrency: people and the worker at the same moment.

SQLite lets one writer at a time hold the file. With Django's default deferred
transactions two writers that meet fail at once with "database is locked" (an HTTP 500).
The settings make every transaction ``BEGIN IMMEDIATE`` and give a busy timeout, so a
writer waits its turn instead; these tests run real threads on a file database to show
that each race has exactly one outcome and nobody gets a 500.

SQLite only: on PostgreSQL the row locks decide these races, tested in
``test_concurrency.py``, ``test_deadline_races.py`` and ``orders/tests/test_concurrency.py``.
"""
from __future__ import annotations

import threading
import traceback
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import SellerFactory
from catalog.models import Warehouse
from disputes.sweep import enforce_deadlines
from disputes.models import Dispute, DisputeEvent, Refund, ReturnInstructions
from disputes.tests.factories import DisputeFactory, disputable_line, notes
from notifications.models import Notification
from notifications.tasks import send_notification_emails
from notifications.tests.factories import NotificationFactory
from orders.models import Order, OrderEvent, OrderLine
from orders.tests.factories import order_with_line
from returns_portal.testing import together

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite",
                       reason="SQLite only: checks the embedded default's IMMEDIATE transactions and busy timeout; "
                              "PostgreSQL's row locks are tested in test_concurrency.py and test_deadline_races.py"),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 5
BACKLOG = 30  # due disputes the worker sweeps while the buyer confirms delivery
PAID = Decimal("2490.00")
S = Dispute.State


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_no_server_error(outcomes: list[tuple[str, object]]) -> None:
    """Every thread finished, and every HTTP answer was 2xx, 3xx or 4xx. The test client
    re-raises a view's exception, so a 500 shows up here as ("error", exception)."""
    problems = []
    for kind, value in outcomes:
        if kind == "error":
            problems.append("".join(traceback.format_exception(value)))
        elif isinstance(value, HttpResponseBase) and value.status_code >= 500:
            problems.append(f"HTTP {value.status_code}")
    assert not problems, "\n".join(problems)


def statuses(outcomes: list[tuple[str, object]]) -> list[int]:
    return [value.status_code for kind, value in outcomes if isinstance(value, HttpResponseBase)]


def overdue(state: str, count: int, **fields) -> list[Dispute]:
    past = timezone.now() - timedelta(hours=1)
    disputes = [DisputeFactory(state=state, deadline_at=past - timedelta(minutes=i), **fields) for i in range(count)]
    for dispute in disputes:
        SellerFactory(store=dispute.store)
    return disputes


def test_connections_use_wal_immediate_transactions_and_the_busy_timeout():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        busy_timeout_ms = cursor.fetchone()[0]

    assert (journal_mode, synchronous) == ("wal", 1)  # 1 is NORMAL
    assert busy_timeout_ms == settings.DATABASES["default"]["OPTIONS"]["timeout"] * 1000
    assert connection.transaction_mode == "IMMEDIATE"


# --- clicks on "Open dispute" -----------------------------------------------------------------


def test_three_clicks_on_open_dispute_open_one_dispute():
    for _round in range(ROUNDS):
        # Given a delivered line inside buyer protection, and the buyer's form sent from three tabs.
        line = disputable_line(price=PAID)
        seller = SellerFactory(store=line.order.store)
        url = reverse("disputes:dispute_open", args=[line.pk])
        form = {"kind": "return", "route": "local", "amount": "2490.00", "reason": "changed_mind"}
        clients = [signed_in(line.order.buyer) for _ in range(3)]

        # When the three arrive at once.
        outcomes = together(*[lambda c=c: c.post(url, form) for c in clients])

        # Then one dispute is open and the tabs are sent to it. A tab whose page read the line
        # just before the winner committed gets the form back (422, "already has an open
        # dispute") instead of the redirect: the view checks before the service's transaction.
        assert_no_server_error(outcomes)
        dispute = Dispute.objects.get(order_line=line)
        assert dispute.state == S.AWAITING_SELLER
        redirects = [value["Location"] for _kind, value in outcomes if value.status_code == 302]
        assert redirects and set(redirects) == {dispute.get_absolute_url()}
        assert set(statuses(outcomes)) <= {302, 422}
        assert list(DisputeEvent.objects.filter(dispute=dispute).values_list("kind", "actor")) == [
            ("opened", line.order.buyer_id)]
        assert sorted(Notification.objects.filter(url=dispute.get_absolute_url())
                      .values_list("recipient", flat=True)) == sorted([line.order.buyer_id, seller.pk])


# --- the seller's click against the deadline sweep ---------------------------------------------


def holding_the_write_lock(post, began: threading.Event):
    """``post`` run in this thread; ``began`` is set once its transaction holds SQLite's write
    lock (BEGIN IMMEDIATE returned), so another thread can be started against it — or once it
    has finished without one (the page refused it before any write: the other click won)."""
    def signal_after_begin(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("BEGIN"):
            began.set()
        return result

    try:
        with connection.execute_wrapper(signal_after_begin):
            return post()
    finally:
        began.set()


def test_the_seller_sending_instructions_races_the_sweep_with_one_winner():
    winners = Counter()
    for round_ in range(ROUNDS):
        # Given a local return whose seller deadline has just passed, the seller still at the desk.
        line = disputable_line(price=PAID)
        seller = SellerFactory(store=line.order.store)
        dispute = DisputeFactory(order_line=line, deadline_at=timezone.now() - timedelta(seconds=1))
        warehouse = Warehouse.objects.get(store=line.order.store, country="RU")
        url = reverse("disputes:dispute_action", args=[dispute.pk, "instructions"])
        form = {"warehouse": warehouse.pk, "method": "courier_pickup", "carrier": "CDEK", "text": "Call first."}
        first, second = signed_in(seller), signed_in(seller)  # a double click

        # When both clicks arrive while the worker sweeps: released together (the sweep, with
        # no page to read first, mostly wins), or, every other round, the sweep starting once
        # the first click's transaction holds the lock (it waits for the lock if need be, then
        # finds nothing due).
        began = threading.Event()
        staggered = round_ % 2 == 1

        def sweep():
            if staggered:
                assert began.wait(timeout=10), "the click's transaction never began"
            return enforce_deadlines()

        *clicks, swept = together(lambda: holding_the_write_lock(lambda: first.post(url, form), began),
                                  lambda: second.post(url, form), sweep)

        # Then exactly one of them issued the instructions; the others changed nothing.
        assert_no_server_error([*clicks, swept])
        instructions = ReturnInstructions.objects.get(dispute=dispute)
        events = list(DisputeEvent.objects.filter(dispute=dispute).values_list("kind", "actor"))
        assert Dispute.objects.get(pk=dispute.pk).state == S.AWAITING_BUYER_SHIPMENT
        if instructions.issued_by_id == seller.pk:
            winners["seller"] += 1
            # The winner is redirected to the dispute; the loser is refused: redirected with the
            # reason when the page's check already sees the move, else the form again (422).
            assert sorted(statuses(clicks)) in ([302, 302], [302, 422])
            assert swept[1].total == 0
            assert events == [("instructions_sent", seller.pk)]
            assert (instructions.carrier, instructions.method) == ("CDEK", "courier_pickup")
        else:
            assert not staggered
            winners["sweep"] += 1
            assert instructions.issued_by_id is None
            assert set(statuses(clicks)) <= {302, 422}
            assert +swept[1].counts == Counter({"instructions_issued": 1})
            assert events == [("instructions_sent", None)]
        assert [subject for _who, subject, _url in notes(recipient=line.order.buyer)].count(
            f"Return instructions for dispute #{dispute.pk}") == 1
    assert winners["seller"] >= ROUNDS // 2


# --- sweeps at once ----------------------------------------------------------------------------


def test_three_sweeps_at_once_apply_each_outcome_once():
    for _round in range(ROUNDS):
        mail.outbox.clear()
        # Given two disputes past their deadline in every state the sweep acts on.
        disputes = {
            "instructions_issued": overdue(S.AWAITING_SELLER, 2),
            "seller_timeout_refunded": overdue(S.AWAITING_SELLER, 2, kind=Dispute.Kind.REFUND_ONLY,
                                               route=Dispute.Route.NONE),
            "buyer_did_not_ship": overdue(S.AWAITING_BUYER_SHIPMENT, 2),
            "receipt_timeout_refunded": overdue(S.RETURN_IN_TRANSIT, 2),
            "answer_timeout_closed": overdue(S.REJECTED, 1) + overdue(S.COUNTER_OFFERED, 1,
                                                                    counter_offer_amount=Decimal("100.00")),
            "staff_overdue_flagged": overdue(S.ESCALATED, 2),
        }
        every = [d for group in disputes.values() for d in group]
        notifications_before = Notification.objects.count()

        # When three workers sweep at the same moment, in small batches so that they interleave.
        outcomes = together(*[lambda: enforce_deadlines(batch_size=2)] * 3)

        # Then all finished, and between them each outcome was applied exactly once.
        assert_no_server_error(outcomes)
        combined = sum((report.counts for _kind, report in outcomes), Counter())
        assert +combined == Counter({outcome: len(group) for outcome, group in disputes.items()})
        system_events = Counter(
            (pk, "instructions_issued" if kind == "instructions_sent" else outcome)
            for pk, kind, outcome in DisputeEvent.objects.filter(
                dispute__in=every, actor=None, kind__in=["deadline_passed", "staff_overdue", "instructions_sent"]
            ).values_list("dispute", "kind", "details__outcome"))
        assert system_events == Counter({(d.pk, outcome): 1 for outcome, group in disputes.items() for d in group})
        assert sorted(ReturnInstructions.objects.filter(dispute__in=every).values_list("dispute", flat=True)) == \
            sorted(d.pk for d in disputes["instructions_issued"])
        # The refunds were decided once each and paid once each, after commit.
        refunded = disputes["seller_timeout_refunded"] + disputes["receipt_timeout_refunded"]
        assert sorted(Refund.objects.filter(dispute__in=every).values_list("dispute", "status", "attempts")) == \
            sorted((d.pk, "paid", 1) for d in refunded)
        assert all(OrderLine.objects.get(pk=d.order_line_id).refunded_amount == d.amount for d in refunded)
        # Each party was told once per outcome (buyer and the store's one member; nobody for the
        # staff flag), plus the two "refunded" notes of each paid refund; each e-mailed once.
        told = Notification.objects.count() - notifications_before
        assert told == (len(every) - 2) * 2 + len(refunded) * 2
        assert len(mail.outbox) == told
        assert not Notification.objects.filter(emailed_at__isnull=True).exists()
        # And one more sweep finds nothing left to do.
        assert enforce_deadlines().total == 0


# --- the buyer confirming delivery while the worker writes -------------------------------------


def test_confirming_delivery_while_the_worker_sweeps_and_sends_emails_confirms_once():
    for _round in range(ROUNDS):
        mail.outbox.clear()
        # Given a shipped order, a backlog of due disputes, and e-mails the worker still owes.
        order = order_with_line(shipped=True)
        url = reverse("orders:confirm_delivery", args=[order.pk])
        clients = [signed_in(order.buyer) for _ in range(2)]  # a double click
        backlog = overdue(S.AWAITING_SELLER, BACKLOG)
        notifications_before = Notification.objects.count()
        owed = [n.pk for n in NotificationFactory.create_batch(BACKLOG)]

        # When the buyer's two clicks arrive while the worker sweeps and sends e-mails.
        *clicks, swept, emailed = together(
            *[lambda c=c: c.post(url) for c in clients],
            enforce_deadlines,
            lambda: send_notification_emails(owed),
        )

        # Then delivery is confirmed once, and the worker's writes all went through.
        assert_no_server_error([*clicks, swept, emailed])
        assert statuses(clicks) == [302, 302]
        order.refresh_from_db()
        assert order.status == Order.Status.DELIVERED
        assert list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor")) == [
            (Order.Status.SHIPPED, Order.Status.DELIVERED, order.buyer_id)]
        assert +swept[1].counts == Counter({"instructions_issued": BACKLOG})
        assert Dispute.objects.filter(pk__in=[d.pk for d in backlog], state=S.AWAITING_BUYER_SHIPMENT).count() == \
            BACKLOG
        assert emailed[1] == BACKLOG
        assert not Notification.objects.filter(emailed_at__isnull=True).exists()
        assert len(mail.outbox) == Notification.objects.count() - notifications_before
