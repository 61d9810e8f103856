#!/usr/bin/env python
"""Benchmark of the deadline sweep on PostgreSQL (a script, not a test).

For each N it builds a fresh database with N overdue disputes spread evenly over the
five expiring states (local return waiting for the seller, waiting for the buyer's
shipment, return in transit, rejected, escalated), then
  1. times one raw SQL UPDATE of the same rows (inside a transaction rolled back): the floor;
  2. times the sweep (``enforce_deadlines``) and its peak Python memory (tracemalloc);
  3. runs the sweep again and checks it changes nothing.
Prints the times, the ratios and the peak memory. Target: sweep ≤ 5× the raw UPDATE,
memory flat as N grows. A second floor, "full", also writes in the same SQL statement the
timeline event and the two notifications each expired dispute must get, with no Python at
all: the sweep's own overhead is its time over that one.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sweep.py 10000 100000

The database named in DATABASE_URL is only used to create and drop ``returns_portal_bench``.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "returns_portal_bench"


def configure() -> str:
    admin_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not admin_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/sweep.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    parts = urlsplit(admin_url)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "returns_portal.settings.local")
    os.environ["DEBUG"] = "off"
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="sweep-bench-")  # filesystem broker: e-mails are queued, not sent
    os.environ["EMAIL_URL"] = "dummymail://"
    return admin_url


def recreate_database(admin_url: str) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {BENCH_DB}")
    connection.close()


def build(n: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User
    from catalog.models import Category, Product, Store, Warehouse
    from disputes.models import Dispute
    from orders.models import Order, OrderLine

    call_command("migrate", verbosity=0)
    store = Store.objects.create(name="Bench store", country="CN")
    Warehouse.objects.create(name="Bench returns", store=store, country="RU", city="Moscow", address="1 Bench St",
                             accepts_returns=True)
    category = Category.objects.create(name="Electronics", slug="electronics", kind="electronics")
    product = Product.objects.create(store=store, category=category, title="Earbuds", price=Decimal("1000.00"),
                                     local_return=True)
    buyer = User.objects.create(username="bench-buyer", country="RU", email="buyer@example.com")
    User.objects.create(username="bench-seller", store=store, email="seller@example.com")
    now = timezone.now()
    past = now - timedelta(days=30)
    orders = Order.objects.bulk_create(
        (Order(number=f"B{i:08d}", buyer=buyer, store=store, status="delivered", currency="RUB",
               total=Decimal("1000.00"), delivery_country="RU", paid_at=past, shipped_at=past, delivered_at=past,
               created_at=past) for i in range(n)), batch_size=5000)
    lines = OrderLine.objects.bulk_create(
        (OrderLine(order=o, product=product, title="Earbuds", unit_price=Decimal("1000.00"), quantity=1,
                   line_total=Decimal("1000.00")) for o in orders), batch_size=5000)
    states = [Dispute.State.AWAITING_SELLER, Dispute.State.AWAITING_BUYER_SHIPMENT, Dispute.State.RETURN_IN_TRANSIT,
              Dispute.State.REJECTED, Dispute.State.ESCALATED]
    Dispute.objects.bulk_create(
        (Dispute(order_line=line, buyer=buyer, store=store, kind="return", route="local", state=states[i % 5],
                 amount=Decimal("1000.00"), currency="RUB", reason="changed_mind",
                 deadline_at=now - timedelta(minutes=1 + i % 60), created_at=past)
         for i, line in enumerate(lines)), batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:  # a live database has planner statistics; a fresh bulk load has none
        cursor.execute("ANALYZE")


def raw_update_seconds() -> float:
    from django.db import connection, transaction

    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE disputes_dispute SET state = 'closed', updated_at = now(), deadline_at = NULL "
                "WHERE deadline_at <= now() AND state IN ('awaiting_seller', 'awaiting_buyer_shipment', "
                "'return_in_transit', 'rejected', 'escalated')"
            )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


FULL_FLOOR_SQL = """
WITH moved AS (
    UPDATE disputes_dispute SET state = 'closed', updated_at = now(), deadline_at = NULL
    WHERE deadline_at <= now() AND state IN ('awaiting_seller', 'awaiting_buyer_shipment', 'return_in_transit',
                                             'rejected', 'escalated')
    RETURNING id, buyer_id, store_id
), events AS (
    INSERT INTO disputes_disputeevent (dispute_id, kind, from_state, to_state, details, created_at)
    SELECT id, 'deadline_passed', 'rejected', 'closed', '{"outcome": "floor"}'::jsonb, now() FROM moved
), to_buyers AS (
    INSERT INTO notifications_notification (recipient_id, subject, body, url, created_at)
    SELECT buyer_id, 'Dispute #' || id || ' closed', 'why', '/disputes/' || id || '/', now() FROM moved
)
INSERT INTO notifications_notification (recipient_id, subject, body, url, created_at)
SELECT u.id, 'Dispute #' || m.id || ' closed', 'why', '/disputes/' || m.id || '/', now()
FROM moved m JOIN accounts_user u ON u.store_id = m.store_id
"""


def full_floor_seconds() -> float:
    """The same rows moved, each with the timeline event and the two notifications the sweep
    must write, in one SQL statement: what the sweep's work costs with no Python at all."""
    from django.db import connection, transaction

    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(FULL_FLOOR_SQL)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred FK checks happen now, not at rollback
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def main(sizes: list[int]) -> None:
    admin_url = configure()
    import django

    django.setup()
    from django.db import connections

    from disputes.sweep import enforce_deadlines

    print(f"{'N':>8} {'raw UPDATE s':>13} {'full floor s':>13} {'sweep s':>9} {'ratio':>6} {'vs full':>8} "
          f"{'peak MiB':>9} {'2nd sweep':>10}  outcomes")
    for n in sizes:
        connections.close_all()
        recreate_database(admin_url)
        build(n)
        floor = raw_update_seconds()
        full = full_floor_seconds()
        vacuum()  # the floors' rolled-back rows would otherwise slow the sweep that follows
        started = time.perf_counter()
        report = enforce_deadlines()
        elapsed = time.perf_counter() - started
        again = enforce_deadlines().total
        # Peak memory on a second, identical database: tracemalloc slows every allocation, so
        # it must not run during the timed sweep.
        connections.close_all()
        recreate_database(admin_url)
        build(n)
        tracemalloc.start()
        enforce_deadlines()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        outcomes = ", ".join(f"{k}={v}" for k, v in sorted(report.counts.items()) if v)
        print(f"{n:>8} {floor:>13.3f} {full:>13.3f} {elapsed:>9.3f} {elapsed / floor:>6.1f} {elapsed / full:>8.1f} "
              f"{peak / 2**20:>9.1f} {again:>10}  {outcomes}", flush=True)
    connections.close_all()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000, 100_000])
