#!/usr/bin/env python
"""Benchmark of the deadline sweep against the least the database must do (a script, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sweep.py 10000 100000
    DATABASE_URL=sqlite:// .venv/bin/python bench/sweep.py 10000 100000     (or BENCH_DB=sqlite)
    DATABASE_URL=postgres://... .venv/bin/python bench/sweep.py --repeat 3 10000 100000
    DATABASE_URL=postgres://... .venv/bin/python bench/sweep.py --profile 10000

Databases. On PostgreSQL, ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``)
is only an admin connection: the script creates databases named
``returns_portal_bench_<pid>_<random hex>_<role>`` and drops those it created, and only
those, at the end (also on error or Ctrl-C). On SQLite, whatever path the URL names is
ignored: every database is a fresh file in a temporary folder. ``VAR_DIR``, media, e-mail
(``dummymail://``) and the Celery broker (kombu's filesystem transport, in the temporary
folder; tasks are queued, never run) are set in the environment before Django starts, so
a ``.env`` beside manage.py cannot point the script at a developer's data. The deadline
settings are the documented defaults unless set in the environment (``.env`` is not
consulted for them); ``DEADLINE_SWEEP_BATCH`` (default 1000) is the batch size of both
sides.

For each N: one database is seeded with N overdue local-return disputes spread evenly over
the five expiring situations (awaiting the seller, awaiting the buyer's shipment, return in
transit, rejected, escalated), one store with two active members and a return warehouse
in the buyer's country, then ``VACUUM ANALYZE`` (PostgreSQL). Three identical copies of
it are made (``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY`` and a ``CHECKPOINT``,
so each timed run starts from the same state; a file copy on SQLite), one per run:

1. the floor: the same outcome written in raw SQL, in the same batches (same states, order,
   batch size, ``FOR UPDATE SKIP LOCKED``) and one committed transaction per batch: the
   state UPDATE, the timeline events, return instructions with unique RMA codes for the
   local returns, refund rows, and the notifications (same keys and parameters) to the
   buyer and every active store member. Only writes: no order-line lock, no re-read, no
   e-mail tasks (the sweep's on-commit queueing is in its time, not the floor's);
2. the sweep (``enforce_deadlines``), timed without tracemalloc, then run again: it must
   change nothing. What it wrote must equal the floor's rows, table by table, apart from
   the RMA codes and the times (the script fails loudly, showing the differences, if not);
3. the sweep on the third copy under tracemalloc (peak Python memory) while counting its
   queries.

Before the first N, both sides run once on a small database, untimed, so neither pays for
the process's first URL reversal, translations or broker connection. Prints, per N, the
rows both sides wrote (and whether autovacuum overlapped a timed run); then one row per N (floor and sweep seconds,
their ratio, peak MiB, queries per batch, what a second sweep changed, outcome counts);
and as the very last line ``sweep_vs_floor=<ratio> at N=<largest N>``.

``--repeat R`` (default 1): floor and sweep run R times each, taking turns, each on a fresh
copy; the fastest of each is reported (the machine is shared: single runs vary by ±30%).

``--profile N``: seed N, run the sweep once under cProfile, print the 30 functions with the
largest cumulative time, and the queries by kind and table: how many per batch and the
time spent waiting for them.
"""
from __future__ import annotations

import cProfile
import gc
import io
import json
import logging
import math
import os
import pstats
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if __name__ == "__main__":  # started with any Python: run again with .venv/'s (dev.py installs it)
    from dev import use_virtualenv

    use_virtualenv(__file__, sys.argv[1:])

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Settings the benchmark depends on, at the documented defaults unless the environment
# (not .env) says otherwise.
TUNABLE = {
    "DEADLINE_SWEEP_BATCH": "1000",
    "SELLER_RESPONSE_DAYS": "5",
    "BUYER_SHIP_DAYS": "10",
    "SELLER_RECEIPT_DAYS": "15",
    "ESCALATION_DAYS": "7",
    "STAFF_DECISION_DAYS": "7",
    "REMINDER_HOURS": "24",
    "SELLER_TIMEOUT_POLICY": "refund",
    "DEFAULT_RETURN_CARRIER": "Russian Post",
    "PAYMENT_GATEWAY": "disputes.payments.LocalLedgerGateway",
    "LANGUAGE_CODE": "en",
    "TIME_ZONE": "Europe/Moscow",
    "LOG_LEVEL": "WARNING",
}


# --- where the databases live ------------------------------------------------------------------


@dataclass
class Databases:
    """The databases this run creates: PostgreSQL databases with a unique prefix, or SQLite
    files in a temporary folder. Drops only what it created."""

    vendor: str  # "postgresql" or "sqlite"
    workdir: Path
    admin_url: str = ""
    prefix: str = ""
    created: list[str] = field(default_factory=list)

    def name(self, role: str) -> str:
        return f"{self.prefix}_{role}" if self.vendor == "postgresql" else str(self.workdir / f"{role}.sqlite3")

    def create(self, role: str, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``), switched to."""
        release()
        name = self.name(role)
        if self.vendor == "postgresql":
            from psycopg2 import sql

            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                if self._admin() >= 150000:  # a file copy, not the whole database through the WAL
                    statement += sql.SQL(" STRATEGY FILE_COPY")
            self._admin(statement)  # raises if the name exists: then it is not ours to drop
            self.created.append(name)
            # Every copy starts its timed run right after a checkpoint: each pays the same
            # full-page writes, none inherits a checkpoint half done.
            self._admin(sql.SQL("CHECKPOINT"), quiet=True)
        elif template:
            shutil.copyfile(template, name)
        else:
            Path(name).touch(exist_ok=False)
        if name not in self.created:
            self.created.append(name)
        use(name)
        return name

    def drop(self, name: str) -> None:
        if name not in self.created:
            raise RuntimeError(f"refusing to drop {name}: this run did not create it")
        release()
        if self.vendor == "postgresql":
            from psycopg2 import sql

            force = sql.SQL(" WITH (FORCE)") if self._admin() >= 130000 else sql.SQL("")
            self._admin(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)) + force)
        else:
            Path(name).unlink(missing_ok=True)
        self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            try:
                self.drop(name)
            except Exception as error:  # keep dropping the others
                print(f"could not drop {name}: {error}", file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _admin(self, statement=None, *, quiet: bool = False) -> int:
        """Run ``statement`` on the admin connection; returns the server's version number.
        ``quiet``: a refusal (CHECKPOINT needs a superuser) is ignored."""
        import psycopg2

        connection = psycopg2.connect(self.admin_url)
        try:
            connection.autocommit = True
            if statement is not None:
                with connection.cursor() as cursor:
                    try:
                        cursor.execute(statement)
                    except psycopg2.Error:
                        if not quiet:
                            raise
            return connection.server_version
        finally:
            connection.close()


def isolated_environment(*, script: str, prefix: str, settings_module: str, tunable: dict[str, str]) -> Databases:
    """Point Django at the script's own databases and a temporary folder (media, static,
    e-mail, Celery broker) in ``os.environ``, before Django starts, so that a ``.env`` beside
    manage.py cannot point a benchmark at a developer's data. ``tunable`` settings keep a
    value set in the environment."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    url = os.environ.get("DATABASE_URL", DEFAULT_ADMIN_URL)
    if os.environ.get("BENCH_DB", "").lower() == "sqlite" or url.startswith("sqlite:"):
        databases = Databases("sqlite", workdir)
        os.environ["DATABASE_URL"] = f"sqlite:///{databases.name('unused')}"
    elif url.startswith(("postgres://", "postgresql://", "pgsql://")):
        databases = Databases("postgresql", workdir, admin_url=url,
                              prefix=f"returns_portal_{prefix.replace('-', '_')}_{os.getpid()}_{secrets.token_hex(4)}")
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{databases.name('unused')}"))
    else:
        sys.exit(f"{script} runs on PostgreSQL (DATABASE_URL=postgres://...) or SQLite (sqlite://)")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["DEBUG"] = "off"  # with DEBUG on, every query would be kept in memory
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ["MEDIA_ROOT"] = str(workdir / "var" / "media")
    os.environ["PRIVATE_MEDIA_ROOT"] = str(workdir / "var" / "private")
    os.environ["STATIC_ROOT"] = str(workdir / "static")
    os.environ["EMAIL_URL"] = "dummymail://"
    os.environ["CELERY_BROKER_URL"] = "filesystem://"  # folders under VAR_DIR: tasks are stored, not run
    os.environ["CELERY_RESULT_BACKEND"] = ""
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "off"
    for name, default in tunable.items():
        os.environ[name] = os.environ.get(name, default)
    return databases


def configure() -> Databases:
    """Set every setting the script relies on in ``os.environ``, before Django starts."""
    databases = isolated_environment(script="bench/sweep.py", prefix="bench", settings_module="returns_portal.settings.local",
                                     tunable=TUNABLE)
    os.environ["CONN_MAX_AGE"] = "0"
    return databases


def clean_up(databases: Databases) -> None:
    """Close the connections and drop the script's databases (and only those); a second
    Ctrl-C or SIGTERM must not cut this short."""
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.SIG_IGN)
    try:
        release()
    finally:
        databases.drop_all()


def release() -> None:
    from django.db import connections

    connections.close_all()


def use(name: str) -> None:
    from django.db import connection

    release()
    connection.settings_dict["NAME"] = name


def queued_tasks() -> int:
    from django.conf import settings

    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    return sum(1 for _ in folder.iterdir())


# --- the data ------------------------------------------------------------------------------------

EXPIRING_STATES = ("awaiting_seller", "awaiting_buyer_shipment", "return_in_transit", "rejected", "escalated")
# What the sweep reports for each, when every dispute is a local return with a warehouse.
EXPECTED_OUTCOME = {
    "awaiting_seller": "instructions_issued",
    "awaiting_buyer_shipment": "buyer_did_not_ship",
    "return_in_transit": "receipt_timeout_refunded",
    "rejected": "answer_timeout_closed",
    "escalated": "staff_overdue_flagged",
}


def seed(n: int) -> Counter:
    """N overdue disputes, evenly over the expiring states; returns how many are in each."""
    from django.core.management import call_command
    from django.db import connection
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
                                     currency="RUB", local_return=True)
    buyer = User.objects.create(username="bench-buyer", country="RU", email="buyer@example.com")
    User.objects.create(username="bench-seller-1", store=store, email="seller1@example.com")
    User.objects.create(username="bench-seller-2", store=store, email="seller2@example.com")
    # A fixed fraction of a second: ISO texts of the deadlines then have one shape on both sides.
    now = timezone.now().replace(microsecond=123456)
    past = now - timedelta(days=30)
    orders = Order.objects.bulk_create(
        (Order(number=f"B{i:08d}", buyer=buyer, store=store, status="delivered", currency="RUB",
               total=Decimal("1000.00"), delivery_country="RU", paid_at=past, shipped_at=past, delivered_at=past,
               created_at=past) for i in range(n)), batch_size=5000)
    lines = OrderLine.objects.bulk_create(
        (OrderLine(order=o, product=product, title="Earbuds", unit_price=Decimal("1000.00"), quantity=1,
                   line_total=Decimal("1000.00")) for o in orders), batch_size=5000)
    Dispute.objects.bulk_create(
        (Dispute(order_line=line, buyer=buyer, store=store, kind="return", route="local",
                 state=EXPIRING_STATES[i % 5], amount=Decimal("1000.00"), currency="RUB", reason="changed_mind",
                 deadline_at=now - timedelta(minutes=1 + i % 60), created_at=past)
         for i, line in enumerate(lines)), batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a live database has planner statistics and a visibility map
            cursor.execute("VACUUM ANALYZE")
    return Counter(EXPIRING_STATES[i % 5] for i in range(n))


# --- the floor: the same outcome in raw SQL ------------------------------------------------------


class Dialect:
    """The few SQL spellings PostgreSQL and SQLite disagree on."""

    def __init__(self, vendor: str) -> None:
        self.pg = vendor == "postgresql"
        self.json = "jsonb_build_object" if self.pg else "json_object"
        self.lock = " FOR UPDATE SKIP LOCKED" if self.pg else ""  # SQLite: the write lock is the whole file
        # 40 random bits, like disputes.services.answers.new_rma_code.
        self.random_hex10 = ("upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 10))" if self.pg
                             else "upper(hex(randomblob(5)))")

    def iso(self, column: str) -> str:
        """datetime.isoformat() of a stored UTC timestamp."""
        if self.pg:
            return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'"""
        return f"replace({column}, ' ', 'T') || '+00:00'"

    def money(self, column: str) -> str:
        return f"{column}::text" if self.pg else f"printf('%%.2f', {column})"

    def ids(self, ids: list[int]) -> tuple[str, list]:
        if self.pg:
            return "= ANY(%s)", [ids]
        return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


@dataclass(frozen=True)
class FloorStep:
    state: str
    target: str  # the state the disputes move to ("" when they stay, flagged)
    event: str
    outcome: str  # the timeline entry's "outcome" ("" for instructions)
    days: str  # the setting whose days the messages and the timeline name
    notify: str = ""  # the message key to the buyer and the store, if any
    resolution: str = ""
    pending: str = ""  # a further condition on due rows


FLOOR_STEPS = (
    FloorStep("awaiting_seller", "awaiting_buyer_shipment", "instructions_sent", "", "SELLER_RESPONSE_DAYS"),
    FloorStep("awaiting_buyer_shipment", "closed", "deadline_passed", "buyer_did_not_ship", "BUYER_SHIP_DAYS",
              notify="disputes.buyer_did_not_ship", resolution="buyer_timeout"),
    FloorStep("return_in_transit", "refund_pending", "deadline_passed", "receipt_timeout_refunded",
              "SELLER_RECEIPT_DAYS", notify="disputes.receipt_timeout_refunded"),
    FloorStep("rejected", "closed", "deadline_passed", "answer_timeout_closed", "ESCALATION_DAYS",
              notify="disputes.answer_timeout_closed", resolution="rejected"),
    FloorStep("escalated", "", "staff_overdue", "staff_overdue_flagged", "STAFF_DECISION_DAYS",
              pending=" AND (d.overdue_flagged_at IS NULL OR d.overdue_flagged_at < d.deadline_at)"),
)
TERMINAL = {"closed", "refunded"}
# The floor's targets that start a deadline of their own (the others have none).
DEADLINE_DAYS = {"awaiting_buyer_shipment": "BUYER_SHIP_DAYS"}


def floor_run() -> None:
    """Every due dispute moved, batch by batch, with only the SQL its outcome needs."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext

    from disputes.services.answers import DEFAULT_INSTRUCTIONS_TEXT

    sql = Dialect(connection.vendor)
    now = timezone.now()
    db = connection.ops.adapt_datetimefield_value
    url_head, url_tail = reverse("disputes:dispute_detail", args=[987654321]).split("987654321")
    size = settings.DEADLINE_SWEEP_BATCH
    receipt_reason = gettext("The seller did not confirm receipt of the return in time.")
    base_json = "'dispute', d.id, 'order', o.number, 'title', l.title"
    from_disputes = ("FROM disputes_dispute d JOIN orders_orderline l ON l.id = d.order_line_id "
                     "JOIN orders_order o ON o.id = l.order_id ")

    def notify(cursor, ids_sql, ids, key, extra_json="", extra=(), joins="", audiences=("buyer", "members")):
        for audience in audiences:
            who = "r.id = d.buyer_id" if audience == "buyer" else "r.store_id = d.store_id"
            cursor.execute(
                f'INSERT INTO notifications_notification (recipient_id, "key", params, url, created_at, read_at, '
                f"emailed_at) SELECT r.id, %s, {sql.json}({base_json}{extra_json}), %s || d.id || %s, %s, NULL, NULL "
                f"{from_disputes}{joins} JOIN accounts_user r ON {who} AND r.is_active WHERE d.id {ids_sql}",
                [key, *extra, url_head, url_tail, db(now), *ids])

    for step in FLOOR_STEPS:
        days = getattr(settings, step.days)
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                # bandit: the hand-written SQL baseline: only constant SQL fragments are formatted in; values are parameters.
                cursor.execute(f"SELECT d.id FROM disputes_dispute d WHERE d.state = %s AND d.deadline_at <= %s"  # nosec B608
                               f"{step.pending} ORDER BY d.deadline_at, d.id LIMIT %s{sql.lock}",
                               [step.state, db(now), size])
                batch = [row[0] for row in cursor.fetchall()]
                if not batch:
                    break
                ids_sql, ids = sql.ids(batch)
                if step.state == "awaiting_seller":
                    ship_by = now + timedelta(days=settings.BUYER_SHIP_DAYS)
                    # The return warehouse in the buyer's country, the store's own first, and its
                    # address as the buyer is told it.
                    cursor.execute(
                        # bandit: the hand-written SQL baseline: only constant SQL fragments are formatted in; values are parameters.
                        "INSERT INTO disputes_returninstructions (dispute_id, warehouse_id, address, method, carrier, "  # nosec B608
                        "text, rma_code, ship_by, issued_by_id, created_at) "
                        f"SELECT d.id, w.id, {sql.json}('name', w.name, 'address', w.address, 'city', w.city, "
                        f"'country', w.country), 'drop_off', %s, %s, %s || {sql.random_hex10}, %s, NULL, %s "
                        f"{from_disputes}JOIN catalog_warehouse w ON w.id = ("
                        "SELECT r.id FROM catalog_warehouse r WHERE r.is_active AND r.accepts_returns "
                        "AND (r.store_id IS NULL OR r.store_id = d.store_id) AND r.country = o.delivery_country "
                        f"ORDER BY r.store_id IS NULL, r.id LIMIT 1) WHERE d.id {ids_sql}",
                        [settings.DEFAULT_RETURN_CARRIER, str(DEFAULT_INSTRUCTIONS_TEXT),
                         f"RMA-{timezone.localtime(now):%y%m%d}-", db(ship_by), db(now), *ids])
                    instructions = (" JOIN disputes_returninstructions ri ON ri.dispute_id = d.id "
                                    "JOIN catalog_warehouse w ON w.id = ri.warehouse_id")
                    details = (f"{sql.json}('rma_code', ri.rma_code, 'warehouse', ri.warehouse_id, "
                               "'method', ri.method, 'carrier', ri.carrier, 'ship_by', %s)")
                    detail_params = [ship_by.isoformat()]
                else:
                    instructions = ""
                    details = f"{sql.json}('outcome', %s, 'days', %s, 'deadline', {sql.iso('d.deadline_at')})"
                    detail_params = [step.outcome, days]
                cursor.execute(
                    # bandit: the hand-written SQL baseline: only constant SQL fragments are formatted in; values are parameters.
                    "INSERT INTO disputes_disputeevent (dispute_id, actor_id, kind, from_state, to_state, details, "  # nosec B608
                    f"created_at) SELECT d.id, NULL, %s, d.state, %s, {details}, %s "
                    f"FROM disputes_dispute d{instructions} WHERE d.id {ids_sql}",
                    [step.event, step.target or step.state, *detail_params, db(now), *ids])
                if step.state == "awaiting_seller":
                    told = (f", 'warehouse', {sql.json}('name', w.name, 'address', w.address, 'city', w.city, "
                            "'country', w.country), 'carrier', ri.carrier, 'ship_by', %s, 'rma', ri.rma_code")
                    notify(cursor, ids_sql, ids, "disputes.instructions_sent.buyer", told, [ship_by.isoformat()],
                           instructions, audiences=("buyer",))
                    notify(cursor, ids_sql, ids, "disputes.instructions_issued.seller", told + ", 'days', %s",
                           [ship_by.isoformat(), days], instructions, audiences=("members",))
                elif step.state == "return_in_transit":
                    cursor.execute(
                        # bandit: the hand-written SQL baseline: only constant SQL fragments are formatted in; values are parameters.
                        "INSERT INTO disputes_refund (dispute_id, order_line_id, amount, currency, idempotency_key, "  # nosec B608
                        "status, decided_by_id, reason, approved_by_id, approved_at, gateway, gateway_reference, "
                        "attempts, last_error, created_at, paid_at) "
                        "SELECT d.id, d.order_line_id, d.amount, d.currency, 'dispute-' || d.id || '-refund', "
                        "'pending', NULL, %s, NULL, NULL, %s, '', 0, '', %s, NULL "
                        f"FROM disputes_dispute d WHERE d.id {ids_sql}",
                        [receipt_reason, settings.PAYMENT_GATEWAY, db(now), *ids])
                    notify(cursor, ids_sql, ids, step.notify,
                           f", 'amount', {sql.money('d.amount')}, 'currency', d.currency, 'days', %s", [days])
                elif step.notify:
                    notify(cursor, ids_sql, ids, step.notify, ", 'days', %s", [days])
                if step.target:
                    values = {"state": step.target, "updated_at": db(now),
                              "deadline_at": db(now + timedelta(days=getattr(settings, DEADLINE_DAYS[step.target])))
                              if step.target in DEADLINE_DAYS else None}
                    if step.target in TERMINAL:
                        values.update(resolution=step.resolution, closed_at=db(now))
                else:
                    values = {"overdue_flagged_at": db(now), "updated_at": db(now)}
                cursor.execute(
                    # bandit: the hand-written SQL baseline: only constant SQL fragments are formatted in; values are parameters.
                    f"UPDATE disputes_dispute SET {', '.join(f'{column} = %s' for column in values)} "  # nosec B608
                    f"WHERE id {ids_sql} AND state = %s AND deadline_at <= %s",
                    [*values.values(), *ids, step.state, db(now)])
            if len(batch) < size:
                break


# --- what a run wrote, to compare the floor with the sweep ---------------------------------------

RMA_CODE = re.compile(r"RMA-\d{6}-[0-9A-F]{10}")


def written(since: datetime) -> dict[str, list[str]]:
    """One line per row each run writes, sorted, with the random parts (RMA codes) and the
    times replaced by whether they agree with each other."""
    from disputes.models import Dispute, DisputeEvent, Refund, ReturnInstructions
    from notifications.models import Notification

    issued = {pk: (code, ship_by) for pk, code, ship_by in
              ReturnInstructions.objects.values_list("dispute_id", "rma_code", "ship_by")}

    def canon(values: dict, dispute_id: int) -> str:
        values = dict(values)
        code, ship_by = issued.get(dispute_id, (None, None))
        for name in ("rma", "rma_code"):
            if name in values:
                values[name] = "=instructions" if values[name] == code else f"!{values[name]}"
        if "ship_by" in values:
            values["ship_by"] = ("=instructions" if ship_by and datetime.fromisoformat(values["ship_by"]) == ship_by
                                 else f"!{values['ship_by']}")
        return json.dumps(values, sort_keys=True)

    def when(value, ship_by=None) -> str:
        if value is None:
            return "none"
        return "=ship_by" if ship_by is not None and value == ship_by else ("now" if value >= since else "before")

    rows = {
        "disputes changed": [
            f"{pk} {state} {resolution!r} deadline={when(deadline, issued.get(pk, (0, None))[1])} "
            f"closed={when(closed)} flagged={when(flagged)}"
            for pk, state, resolution, deadline, closed, flagged in Dispute.objects.filter(updated_at__gte=since)
            .values_list("pk", "state", "resolution", "deadline_at", "closed_at", "overdue_flagged_at").iterator()],
        "timeline events": [
            f"{dispute} {kind} {source}->{target} actor={actor} {canon(details, dispute)} {when(created)}"
            for dispute, kind, source, target, actor, details, created in DisputeEvent.objects.values_list(
                "dispute_id", "kind", "from_state", "to_state", "actor_id", "details", "created_at").iterator()],
        "return instructions": [
            f"{dispute} warehouse={warehouse} {json.dumps(address, sort_keys=True)} {method} {carrier!r} {text!r} "
            f"by={by} code={'ok' if RMA_CODE.fullmatch(code) else code} ship_by={when(ship_by)} {when(created)}"
            for dispute, warehouse, address, method, carrier, text, code, ship_by, by, created in
            ReturnInstructions.objects.values_list("dispute_id", "warehouse_id", "address", "method", "carrier",
                                                   "text", "rma_code", "ship_by", "issued_by_id", "created_at")
            .iterator()],
        "refunds": [
            " ".join(map(str, row[:-1])) + f" {when(row[-1])}"
            for row in Refund.objects.values_list(
                "dispute_id", "order_line_id", "amount", "currency", "idempotency_key", "status", "decided_by_id",
                "reason", "approved_by_id", "gateway", "gateway_reference", "attempts", "last_error", "paid_at",
                "created_at").iterator()],
        "notifications": [
            f"{recipient} {key} {url} read={read} emailed={emailed} {canon(params, params.get('dispute'))} "
            f"{when(created)}"
            for recipient, key, url, read, emailed, params, created in Notification.objects.values_list(
                "recipient_id", "key", "url", "read_at", "emailed_at", "params", "created_at").iterator()],
    }
    return {table: sorted(lines) for table, lines in rows.items()}


def row_counts() -> dict[str, int]:
    from disputes.models import DisputeEvent, Refund, ReturnInstructions
    from notifications.models import Notification

    return {model.__name__: model.objects.count()
            for model in (DisputeEvent, ReturnInstructions, Refund, Notification)}


def compare(floor: dict[str, list[str]], sweep: dict[str, list[str]]) -> list[str]:
    """Print both sides' row counts; return the differences (empty when they wrote the same)."""
    print(f"  {'rows written':<22}{'floor':>9}{'sweep':>9}")
    problems = []
    for table in floor:
        print(f"  {table:<22}{len(floor[table]):>9}{len(sweep[table]):>9}")
        if floor[table] != sweep[table]:
            only_floor = Counter(floor[table]) - Counter(sweep[table])
            only_sweep = Counter(sweep[table]) - Counter(floor[table])
            problems.append(f"{table}: {sum(only_floor.values())} rows only in the floor, "
                            f"{sum(only_sweep.values())} only in the sweep")
            problems += [f"    floor only: {line}" for line in list(only_floor)[:3]]
            problems += [f"    sweep only: {line}" for line in list(only_sweep)[:3]]
    return problems


# --- the runs ---------------------------------------------------------------------------------------


@contextmanager
def counting_queries():
    """Count the queries run, by verb and table (``counts.seconds``: the time spent in them)."""
    from django.db import connection

    counts: Counter = Counter()
    counts.seconds = Counter()
    pattern = re.compile(r'^\s*(\w+)(?:.*?\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?)?', re.S | re.I)

    def count(execute, sql, params, many, context):
        match = pattern.match(sql)
        verb = match.group(1).upper() if match else "?"
        table = match.group(2) if match and match.group(2) and verb != "SAVEPOINT" else ""
        if verb == "UPDATE":
            table = re.match(r'\s*UPDATE\s+"?(\w+)', sql, re.I).group(1)
        kind = (verb + (" FOR UPDATE" if "FOR UPDATE" in sql else ""), table)
        counts[kind] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            counts.seconds[kind] += time.perf_counter() - started

    with connection.execute_wrapper(count):
        yield counts


def autovacuum_runs() -> int:
    """Autovacuum and autoanalyze runs so far on this database (PostgreSQL): a timed run
    that overlapped one shared the machine's two cores with it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables")
        return int(cursor.fetchone()[0])


def batches_for(seeded: Counter) -> int:
    from django.conf import settings

    return sum(math.ceil(count / settings.DEADLINE_SWEEP_BATCH) for count in seeded.values())


@dataclass
class Result:
    n: int
    floor: float
    sweep: float
    peak: float
    queries_per_batch: float
    second: int
    outcomes: Counter


def bench(databases: Databases, n: int, repeat: int) -> Result:
    from django.conf import settings
    from django.db import connection

    from disputes.sweep import enforce_deadlines

    started = time.perf_counter()
    seeded_db = databases.create("seed")
    seeded = seed(n)
    expected = Counter({EXPECTED_OUTCOME[state]: count for state, count in seeded.items()})
    vendor = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(f"N={n} on {vendor}, batches of {settings.DEADLINE_SWEEP_BATCH}: seeded in "
          f"{time.perf_counter() - started:.1f} s", flush=True)

    # Floor and sweep take turns, each on a fresh copy, so that drift on the machine
    # touches both; the first round is also the one whose rows are compared.
    floor_times: list[float] = []
    sweep_times: list[float] = []
    vacuums = Counter()
    problems: list[str] = []
    for attempt in range(repeat):
        copy = databases.create("floor", template=seeded_db)
        since = datetime.now().astimezone()
        gc.collect()
        started = time.perf_counter()
        floor_run()
        floor_times.append(time.perf_counter() - started)
        vacuums["floor"] += autovacuum_runs()
        if attempt == 0:
            floor_rows = written(since)
        databases.drop(copy)

        copy = databases.create("sweep", template=seeded_db)
        tasks_before = queued_tasks()
        since = datetime.now().astimezone()
        gc.collect()
        started = time.perf_counter()
        report = enforce_deadlines()
        sweep_times.append(time.perf_counter() - started)
        vacuums["sweep"] += autovacuum_runs()
        if +report.counts != expected:
            problems.append(f"outcomes {dict(+report.counts)}, expected {dict(expected)}")
        if attempt == 0:
            tasks = queued_tasks() - tasks_before
            outcomes = +report.counts
            sweep_rows = written(since)
            counts = row_counts()
            second = enforce_deadlines()
            if second.total or row_counts() != counts:
                problems.append(f"a second sweep changed {second.total} disputes "
                                f"(rows before {counts}, after {row_counts()})")
        databases.drop(copy)

    problems[:0] = compare(floor_rows, sweep_rows)
    del floor_rows, sweep_rows
    print(f"  e-mail and payment tasks the sweep queued: {tasks}")
    if repeat > 1:
        print(f"  floor s: {', '.join(f'{t:.3f}' for t in floor_times)}; "
              f"sweep s: {', '.join(f'{t:.3f}' for t in sweep_times)} (the fastest of each is reported)")
    if sum(vacuums.values()):
        print(f"  autovacuum/autoanalyze ran during the floor {vacuums['floor']}x, during the sweep "
              f"{vacuums['sweep']}x (noise in the times)")

    mem_db = databases.create("memory", template=seeded_db)
    gc.collect()
    tracemalloc.start()
    with counting_queries() as queries:
        enforce_deadlines()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    databases.drop(mem_db)
    databases.drop(seeded_db)

    if problems:
        raise SystemExit("The floor and the sweep disagree:\n  " + "\n  ".join(problems))
    print("  same rows apart from RMA codes and times; a second sweep changed 0", flush=True)
    return Result(n, min(floor_times), min(sweep_times), peak / 2**20,
                  sum(queries.values()) / batches_for(seeded), second.total, outcomes)


def warm_up(databases: Databases) -> None:
    """Both sides once on a small database, untimed, so that neither timed run pays for the
    process's first URL reversal, translation catalogue or broker connection."""
    from disputes.sweep import enforce_deadlines

    seeded_db = databases.create("warmup")
    seed(50)
    for role, run in (("warmup_floor", floor_run), ("warmup_sweep", enforce_deadlines)):
        copy = databases.create(role, template=seeded_db)
        run()
        databases.drop(copy)
    databases.drop(seeded_db)


def profile(databases: Databases, n: int) -> None:
    from django.conf import settings

    from disputes.sweep import enforce_deadlines

    seeded_db = databases.create("seed")
    seeded = seed(n)
    databases.create("profile", template=seeded_db)
    gc.collect()
    profiler = cProfile.Profile()
    with counting_queries() as queries:
        started = time.perf_counter()
        profiler.enable()
        report = enforce_deadlines()
        profiler.disable()
        elapsed = time.perf_counter() - started
    batches = batches_for(seeded)
    print(f"N={n}: {elapsed:.3f} s under cProfile, {batches} batches of {settings.DEADLINE_SWEEP_BATCH}, "
          f"outcomes {dict(+report.counts)}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(out.getvalue())
    print(f"queries: {sum(queries.values())} in all, {sum(queries.values()) / batches:.1f} per batch, "
          f"{sum(queries.seconds.values()):.3f} s waiting for them (of {elapsed:.3f} s)")
    for kind, count in sorted(queries.items(), key=lambda item: -queries.seconds[item[0]]):
        print(f"  {count:>6} {count / batches:>6.1f}/batch {queries.seconds[kind]:>8.3f} s  {' '.join(kind)}")


def _stopped(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str]) -> None:
    profiling = "--profile" in argv
    repeat = 1
    if "--repeat" in argv:
        at = argv.index("--repeat")
        repeat = int(argv[at + 1])
        argv = argv[:at] + argv[at + 2:]
    sizes = [int(arg) for arg in argv if arg != "--profile"] or ([10_000] if profiling else [10_000, 100_000])
    databases = configure()
    # A stop (timeout, kill) unwinds like Ctrl-C, so the databases this run made are dropped.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _stopped)
    try:
        import django

        django.setup()
        # kombu warns on every connection that filesystem:// names no host; it needs none.
        logging.getLogger("kombu.connection").setLevel(logging.ERROR)
        warm_up(databases)
        if profiling:
            profile(databases, sizes[0])
            return
        results = [bench(databases, n, repeat) for n in sizes]
    finally:
        clean_up(databases)
    print(f"\n{'N':>8} {'floor s':>9} {'sweep s':>9} {'ratio':>6} {'peak MiB':>9} {'queries/batch':>14} "
          f"{'2nd sweep':>10}  outcomes")
    for r in results:
        outcomes = ", ".join(f"{k}={v}" for k, v in sorted(r.outcomes.items()))
        print(f"{r.n:>8} {r.floor:>9.3f} {r.sweep:>9.3f} {r.sweep / r.floor:>6.2f} {r.peak:>9.1f} "
              f"{r.queries_per_batch:>14.1f} {r.second:>10}  {outcomes}")
    last = results[-1]
    print(f"sweep_vs_floor={last.sweep / last.floor:.2f} at N={last.n}")


if __name__ == "__main__":
    main(sys.argv[1:])
