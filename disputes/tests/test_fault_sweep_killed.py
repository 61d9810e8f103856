"""Fault: the process running the deadline sweep is killed with SIGKILL in the middle of a batch.

A real process (``sweep_held.py``) runs the sweep on the test database in batches of 3 and is
held inside its sixth batch (three returns in transit, to be refunded): that batch's outcomes are written but not committed, its rows
locked. SIGKILL ends it there. PostgreSQL rolls the open transaction back: the five committed
batches stand (with their refunds paid), the third left nothing. The next sweep, run here,
completes the work, and every due dispute got exactly one outcome, one refund where the rule
refunds, and no duplicate timeline entry, refund or notification.

PostgreSQL only: the sweep process must see the test database, and a killed client's
transaction must be rolled back by a server.
"""
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import SellerFactory
from disputes.models import Dispute, DisputeEvent, Refund
from disputes.sweep import enforce_deadlines
from disputes.tests.factories import DisputeFactory
from notifications.models import Notification
from orders.models import OrderLine

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HELD = Path(__file__).resolve().with_name("sweep_held.py")
ROOT = HELD.parents[2]
WAIT_SECONDS = 120
BATCH = 3
HOLD_AT_BATCH = 6  # batches: seller 3+3+1, shipment 3+3, then the first in transit
S = Dispute.State


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def overdue(state: str, count: int, **fields) -> list[Dispute]:
    past = timezone.now() - timedelta(hours=1)
    disputes = [DisputeFactory(state=state, deadline_at=past - timedelta(minutes=i), **fields) for i in range(count)]
    for dispute in disputes:
        SellerFactory(store=dispute.store)
    return disputes


# The sweeper's sessions carry this name (libpq's PGAPPNAME), so the test watches them alone: not
# PostgreSQL's autovacuum workers, nor an idle connection of another test's server thread.
SWEEPER = "rp-test-killed-sweeper"


def other_sessions() -> int:
    """The sweeper process's sessions on the test database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND application_name = %s", [SWEEPER])
        return cursor.fetchone()[0]


def other_sessions_described() -> list[tuple]:
    """Who the other sessions are, for a failure's message."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, application_name, client_port, state, backend_start, left(query, 200) "
                       "FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        return cursor.fetchall()  # every client's: what else was there


def no_other_sessions_within(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while other_sessions() and time.monotonic() < deadline:
        time.sleep(0.2)
    return other_sessions() == 0


def _lines_of(process: subprocess.Popen, into: queue.Queue) -> None:
    for line in process.stdout:
        into.put(line.rstrip("\n"))
    into.put(None)


def test_a_sweep_killed_mid_batch_is_completed_by_the_next_one_with_nothing_done_twice(tmp_path):
    # Given 20 due disputes: refund-only disputes the seller did not answer (refunded),
    # returns the store did not receive in time (refunded), buyers who did not ship (closed)
    refunding = (overdue(S.AWAITING_SELLER, 7, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE)
                 + overdue(S.RETURN_IN_TRANSIT, 7))
    closing = overdue(S.AWAITING_BUYER_SHIPMENT, 6)
    every = refunding + closing
    # (processes an earlier test started may take a moment to close their sessions)
    assert Refund.objects.count() == 0
    assert no_other_sessions_within(WAIT_SECONDS), other_sessions_described()

    # When a process sweeps them in batches of 3 and is killed (SIGKILL) inside its sixth batch
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "returns_portal.settings.local",
        "ENV_FILE": "",
        "DATABASE_URL": _database_url(),
        "PGAPPNAME": SWEEPER,
        "CELERY_TASK_ALWAYS_EAGER": "true",  # its refunds are paid on commit, in the process
        "SELLER_TIMEOUT_POLICY": "refund",
        "VAR_DIR": str(tmp_path),
        "EMAIL_URL": "dummymail://",
        "DEBUG": "off",
        "SWEEP_BATCH": str(BATCH),
        "SWEEP_HOLD_AT_BATCH": str(HOLD_AT_BATCH),
    }
    sweeper = subprocess.Popen([sys.executable, str(HELD)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines_of, args=(sweeper, lines), daemon=True).start()
    output, batches = [], {}
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(batches) < HOLD_AT_BATCH and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            output.append(line)
            if line.startswith("batch "):
                number, pks = line.removeprefix("batch ").split(":")
                batches[int(number)] = [int(pk) for pk in pks.split()]
        assert len(batches) == HOLD_AT_BATCH, "\n".join(output[-50:])
        # The held batch's writes are in its open transaction: invisible here
        held = batches[HOLD_AT_BATCH]
        assert len(held) == BATCH and set(held) <= {d.pk for d in refunding}
        assert not DisputeEvent.objects.filter(dispute__in=held).exists()
        assert other_sessions() >= 1  # the sweeper's session, holding that transaction open
        sweeper.send_signal(signal.SIGKILL)
        sweeper.wait(timeout=30)
    finally:
        if sweeper.poll() is None:
            sweeper.kill()
            sweeper.wait(timeout=30)
    assert sweeper.returncode == -signal.SIGKILL

    # The server notices the dead client and rolls its transaction back (its locks with it)
    assert no_other_sessions_within(WAIT_SECONDS), other_sessions_described()

    # Then the committed batches stand, and the killed batch left nothing at all
    committed = [pk for number in range(1, HOLD_AT_BATCH) for pk in batches[number]]
    seeded_state = {d.pk: d.state for d in every}
    states = dict(Dispute.objects.values_list("pk", "state"))
    assert all(states[pk] != seeded_state[pk] for pk in committed)
    assert all(states[pk] == seeded_state[pk] for pk in held)
    assert not DisputeEvent.objects.filter(dispute__in=held).exists()
    assert not Refund.objects.filter(dispute__in=held).exists()
    assert not Notification.objects.filter(url__in=[f"/disputes/{pk}/" for pk in held]).exists()
    untouched_before = sum(states[pk] == seeded_state[pk] for pk in states)
    assert untouched_before == len(every) - len(committed)

    # When the next sweep runs
    report = enforce_deadlines(batch_size=BATCH)

    # Then it did the rest, and only the rest
    assert report.total == untouched_before
    assert dict(Counter(Dispute.objects.values_list("state", flat=True))) == {S.REFUNDED: 14, S.CLOSED: 6}
    outcomes = DisputeEvent.objects.filter(kind=DisputeEvent.Kind.DEADLINE_PASSED, actor=None)
    assert Counter(outcomes.values_list("dispute", flat=True)) == Counter({d.pk: 1 for d in every})
    pairs = Counter(DisputeEvent.objects.values_list("dispute", "kind"))
    assert [pair for pair, n in pairs.items() if n > 1] == []
    # One refund per refunded dispute, paid once, at the compensation asked
    assert sorted(Refund.objects.values_list("dispute", "status", "attempts")) == sorted(
        (d.pk, Refund.Status.PAID, 1) for d in refunding)
    assert all(OrderLine.objects.get(pk=d.order_line_id).refunded_amount == d.amount for d in refunding)
    assert not Refund.objects.filter(dispute__in=closing).exists()
    notified = Counter(Notification.objects.values_list("recipient", "key", "url"))
    assert [n for n, count in notified.items() if count > 1] == []
    # And a further sweep finds nothing to do
    assert enforce_deadlines().total == 0
