"""Two real Celery workers share the deadline sweep (issue 13).

2,000 due local returns (``bench/sweep.py``'s seed: evenly over the five expiring states) on
PostgreSQL; the broker is a Redis server of the test's own. Two ``celery -A returns_portal
worker`` processes (``w1``, ``w2``, one pool process each, no beat) are started and the beat's
task is sent once, as beat would send it. It queues ``DEADLINE_SWEEP_PARALLEL`` shards; the
test waits until nothing is due, then checks that every dispute got its outcome exactly once
(one outcome on its timeline, the right state, one refund decided and paid at most once where
the rule refunds, no notification twice), and that both workers did part of it: the counts
each worker's own log shows for the shards it ran, which together add up to the outcomes.

Then the same with one worker on a fresh seed, and the closing summary prints both times and
their ratio. Nothing asserts a time: the machine is shared, and the figure moves with its load.
Each run's workers first sweep a smaller seed, untimed, so that neither side's time includes a
process's first sweep (its imports, translations and first URL reversal: about a second here,
paid once by one worker and twice by two).

Batches of 100 rather than the default 1,000: the default would give each of the five states
one batch (400 disputes each), a coarser way of sharing the same work.
"""
import ast
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bench.sweep import EXPECTED_OUTCOME, TUNABLE, seed
from disputes.models import Dispute, DisputeEvent, Refund, ReturnInstructions
from disputes.sweep import any_outcome_due
from notifications.models import Notification
from orders.models import OrderLine

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
DUE = 2_000
WARM_UP = 1_000
BATCH = 100
PARALLEL = 4
START_SECONDS = 60
WAIT_SECONDS = 60
S = Dispute.State
# Where each seeded state ends, as (state, resolution).
ENDS = {
    S.AWAITING_SELLER: (S.AWAITING_BUYER_SHIPMENT, ""),  # default instructions issued
    S.AWAITING_BUYER_SHIPMENT: (S.CLOSED, Dispute.Resolution.BUYER_TIMEOUT),
    S.RETURN_IN_TRANSIT: (S.REFUND_PENDING, ""),  # refund decided, paid by its own task
    S.REJECTED: (S.CLOSED, Dispute.Resolution.REJECTED),
    S.ESCALATED: (S.ESCALATED, ""),  # stays with staff, flagged overdue
}
PAID_END = (S.REFUNDED, Dispute.Resolution.REFUNDED)
OUTCOME_EVENTS = (DisputeEvent.Kind.INSTRUCTIONS_SENT, DisputeEvent.Kind.DEADLINE_PASSED,
                  DisputeEvent.Kind.STAFF_OVERDUE)
SHARD_DONE = re.compile(r"Task disputes\.tasks\.sweep_deadlines_shard\[[^\]]+\] succeeded in [^:]+: (\{.*\})\s*$")
TASK_RECEIVED = re.compile(r"Task \S+\[([^\]]+)\] received")
TASK_ENDED = re.compile(r"Task \S+\[([^\]]+)\] (?:succeeded|raised|failed|retry|ignored|rejected)")
BEAT_DONE = re.compile(r"Task disputes\.tasks\.enforce_deadlines\[[^\]]+\] succeeded in [^:]+: (\d+)\s*$")


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _worker_env(redis_url: str, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DEADLINE_SWEEP_"))}
    env.update(TUNABLE)  # the documented defaults of the deadlines, as the seed expects them
    env.update({
        "DJANGO_SETTINGS_MODULE": "returns_portal.settings.local",
        "ENV_FILE": "",
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": redis_url,
        "DEADLINE_SWEEP_BATCH": str(BATCH),
        "DEADLINE_SWEEP_PARALLEL": str(PARALLEL),
        "VAR_DIR": str(var_dir),
        "EMAIL_URL": "dummymail://",
        "DEBUG": "off",
        "LOG_LEVEL": "INFO",
    })
    return env


class Worker:
    """A ``celery -A returns_portal worker`` process; its output goes to its own log file, read
    from ``self.since`` on (the run being measured, not the warm-up)."""

    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.log = folder / f"{name}.log"
        self.since = 0
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "returns_portal", "worker", "-n", f"{name}@%h",
                 "--concurrency=1", "--loglevel=INFO", "--without-mingle", "--without-gossip"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def lines(self) -> list[str]:
        return self.text()[self.since:].splitlines()

    def forget(self) -> None:
        """From now on, read only what the worker logs next."""
        self.since = len(self.text())

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"worker {self.name} exited with {self.process.returncode}:\n{self.text()[-3000:]}")
        return re.search(rf"\] {self.name}@\S+ ready\.$", self.text(), re.M) is not None

    def idle(self) -> bool:
        """Every task it received has ended."""
        received = {m.group(1) for m in map(TASK_RECEIVED.search, self.lines()) if m}
        return received <= {m.group(1) for m in map(TASK_ENDED.search, self.lines()) if m}

    def shards(self) -> list[Counter]:
        """The counts of every shard this worker ran, from its own log."""
        return [Counter(ast.literal_eval(m.group(1))) for m in map(SHARD_DONE.search, self.lines()) if m]

    def queued_by_beat(self) -> list[int]:
        return [int(m.group(1)) for m in map(BEAT_DONE.search, self.lines()) if m]

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: the task at hand ends first

    def wait(self) -> None:
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def _wait(condition, seconds: float, what: str, workers: list[Worker], step: float = 0.05) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} after {seconds} s:\n" + "\n".join(f"--- {w.name}\n{w.text()[-2000:]}" for w in workers))
        time.sleep(step)


def _nothing_due() -> bool:
    return not Dispute.objects.filter(any_outcome_due(timezone.now())).exists()


def _seeded(n: int) -> dict[int, str]:
    """A fresh database with ``n`` due disputes; their states by pk."""
    call_command("flush", interactive=False, verbosity=0)
    seed(n)
    states = dict(Dispute.objects.values_list("pk", "state"))
    assert len(states) == n and Dispute.objects.filter(any_outcome_due(timezone.now())).count() == n
    return states


def _sweep(sender: Celery, workers: list[Worker]) -> float:
    """Send the beat's task once; the seconds until nothing is due. Then wait (untimed) for
    every shard's last line, and for the workers to be idle once the tasks the outcomes queued
    (e-mails, payments: not the sweep's work) are purged from the broker."""
    for worker in workers:
        worker.forget()
    started = time.perf_counter()
    sender.send_task("disputes.tasks.enforce_deadlines")
    _wait(_nothing_due, WAIT_SECONDS, "disputes still due", workers)
    elapsed = time.perf_counter() - started
    _wait(lambda: sum(len(w.shards()) for w in workers) == PARALLEL, WAIT_SECONDS, "shards not done", workers)
    assert [n for w in workers for n in w.queued_by_beat()] == [PARALLEL]
    sender.control.purge()
    _wait(lambda: all(w.idle() for w in workers), WAIT_SECONDS, "workers still busy", workers)
    return elapsed


def _sweep_with(names: list[str], redis_url: str, folder: Path) -> tuple[float, dict[int, str], dict[str, Counter]]:
    """Start the named workers, warm them up with a sweep of WARM_UP due disputes (untimed),
    then seed DUE due disputes and time their sweep. Returns the seconds, the seeded states,
    and what each worker's log says its shards did."""
    folder.mkdir()
    redis.Redis.from_url(redis_url).flushdb()
    env = _worker_env(redis_url, folder / "var")
    workers: list[Worker] = []
    sender = Celery("beat-stand-in", set_as_current=False, broker=redis_url)
    try:
        for name in names:
            workers.append(Worker(name, env, folder))
        _wait(lambda: all(w.ready() for w in workers), START_SECONDS, "workers not ready", workers, step=0.2)
        _seeded(WARM_UP)
        _sweep(sender, workers)
        seeded = _seeded(DUE)
        elapsed = _sweep(sender, workers)
        return elapsed, seeded, {w.name: sum(w.shards(), Counter()) for w in workers}
    finally:
        sender.close()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()


def _assert_each_outcome_applied_once(seeded: dict[int, str], by_worker: dict[str, Counter]) -> None:
    expected = Counter(EXPECTED_OUTCOME[state] for state in seeded.values())
    # What the workers say they did adds up to each outcome once
    assert sum(by_worker.values(), Counter()) == expected
    # Every dispute ended where its state's outcome leads (a refund the workers also paid
    # before they stopped has moved its dispute on to refunded)
    paid = set(Refund.objects.filter(status=Refund.Status.PAID).values_list("dispute", flat=True))
    ended = {pk: (state, resolution) for pk, state, resolution in Dispute.objects.values_list("pk", "state", "resolution")}
    assert ended == {pk: PAID_END if pk in paid else ENDS[state] for pk, state in seeded.items()}
    assert Dispute.objects.filter(state=S.ESCALATED, overdue_flagged_at__isnull=True).count() == 0
    # One outcome on each timeline, the right one; no kind of event twice on a dispute
    outcomes = DisputeEvent.objects.filter(actor=None, kind__in=OUTCOME_EVENTS)
    assert Counter(outcomes.values_list("dispute", flat=True)) == Counter(dict.fromkeys(seeded, 1))
    named = dict(outcomes.exclude(kind=DisputeEvent.Kind.INSTRUCTIONS_SENT).values_list("dispute", "details__outcome"))
    assert named == {pk: EXPECTED_OUTCOME[state] for pk, state in seeded.items() if state != S.AWAITING_SELLER}
    twice = Counter(DisputeEvent.objects.values_list("dispute", "kind"))
    assert [pair for pair, n in twice.items() if n > 1] == []
    # Instructions once per unanswered local return; one refund per return not received, paid once
    instructed = sorted(pk for pk, state in seeded.items() if state == S.AWAITING_SELLER)
    assert sorted(ReturnInstructions.objects.values_list("dispute", flat=True)) == instructed
    assert ReturnInstructions.objects.values("rma_code").distinct().count() == len(instructed)
    # One refund per return not received, at the compensation asked; paid at most once so far
    refunded = sorted(pk for pk, state in seeded.items() if state == S.RETURN_IN_TRANSIT)
    assert sorted(Refund.objects.values_list("dispute", "amount")) == [(pk, Decimal("1000.00")) for pk in refunded]
    assert set(Refund.objects.values_list("status", "attempts")) <= {(Refund.Status.PENDING, 0), (Refund.Status.PAID, 1)}
    assert sorted(OrderLine.objects.filter(refunded_amount__gt=0).values_list("disputes", "refunded_amount")) == [
        (pk, Decimal("1000.00")) for pk in sorted(paid)]
    # Nobody is told anything twice
    told = Counter(Notification.objects.values_list("recipient", "key", "url"))
    assert [n for n, count in told.items() if count > 1] == []


def _round(names: list[str], redis_url: str, folder: Path) -> tuple[float, dict[str, int]]:
    """The sweep of DUE fresh due disputes by the named workers, its outcomes checked; returns
    its time and how many outcomes each worker's shards applied."""
    elapsed, seeded, by_worker = _sweep_with(names, redis_url, folder)
    _assert_each_outcome_applied_once(seeded, by_worker)
    return elapsed, {name: sum(counts.values()) for name, counts in by_worker.items()}


def test_two_workers_share_the_deadline_sweep_and_apply_each_outcome_once(redis_url, tmp_path, summary):
    # Given 2,000 due disputes, evenly over the five expiring states
    # When beat's task is sent once to two workers
    two, shares = _round(["w1", "w2"], redis_url, tmp_path / "two")

    # Then every outcome was applied exactly once (checked in the round), and each worker
    # applied part of them, as its own log says
    assert shares["w1"] > 0 and shares["w2"] > 0, shares
    assert sum(shares.values()) == DUE

    # And one worker alone, on a fresh seed, does the same work, each outcome once
    one, alone = _round(["w1"], redis_url, tmp_path / "one")
    assert alone == {"w1": DUE}

    summary(f"deadline sweep of {DUE:,} due disputes (batches of {BATCH}, {PARALLEL} shards): two workers applied "
            f"{shares['w1']} + {shares['w2']}; one worker: {one:.2f} s, two workers: {two:.2f} s, "
            f"ratio {two / one:.2f}")
