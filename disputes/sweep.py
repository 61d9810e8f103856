"""The deadline sweep (DESIGN §3): whatever the clock says, the system acts.

For each expiring step of the lifecycle (``lifecycle.EXPIRING``) the sweep locks a batch
of due disputes with ``FOR UPDATE SKIP LOCKED`` (a person acting on one at the same moment
holds its lock: it is skipped, and looked at again by the next sweep, by which time it has
moved on) and hands the batch to the step's outcome service (``services.expiry``), which
applies it through the same services as a person's click, with conditional UPDATEs that
re-check the state and the deadline. One transaction per batch; memory is bounded by the
batch size. Running it twice, or two sweeps at once, applies each outcome once. The same
code runs on SQLite, where a write transaction holds the whole database instead.

Two sweeps at once is also how the work is shared: the beat task queues
``DEADLINE_SWEEP_PARALLEL`` shard tasks (``disputes.tasks``), each running this same loop;
``SKIP LOCKED`` hands concurrent shards disjoint batches, so every worker takes part. On
SQLite the shards take turns for the write lock, one batch at a time.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial, reduce
from operator import or_

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .lifecycle import EXPIRING, Step
from .models import Dispute
from .services.expiry import OUTCOMES, REMINDERS_SENT, REPORTED, reminders_due, reminders_send_many

REMINDERS_DUE = "reminders"  # the dry run's line for reminders that would go out


@dataclass
class SweepReport:
    counts: Counter = field(default_factory=Counter)
    dry_run: bool = False

    @property
    def total(self) -> int:
        """Disputes moved on (or, in a dry run, due); reminders are not outcomes."""
        return sum(v for k, v in self.counts.items() if k not in (REMINDERS_SENT, REMINDERS_DUE))

    def lines(self) -> list[str]:
        return [f"{outcome}: {self.counts.get(outcome, 0)}" for outcome in REPORTED]


@dataclass(frozen=True)
class Job:
    name: str  # a step's state, or "reminders"
    due: Callable[[datetime], Q]
    apply: Callable[[Sequence[Dispute], datetime], Counter]


def outcome_due(step: Step, now: datetime) -> Q:
    """Disputes at ``step`` whose deadline passed by ``now`` and still need its outcome."""
    condition = Q(state=step.state, deadline_at__lte=now)
    pending = OUTCOMES[step.expiry].pending
    return condition & pending if pending is not None else condition


def any_outcome_due(now: datetime) -> Q:
    """Disputes with any outcome due by ``now``: what the sweep acts on (the admin's queue of
    disputes it has not processed asks this of a moment some minutes ago)."""
    return reduce(or_, (outcome_due(step, now) for step in EXPIRING))


def _jobs() -> list[Job]:
    jobs = [Job(step.state, partial(outcome_due, step), OUTCOMES[step.expiry].apply) for step in EXPIRING]
    jobs.append(Job(REMINDERS_DUE, reminders_due, reminders_send_many))
    return jobs


def _lock_batch(condition: Q, size: int) -> list[Dispute]:
    """The next ``size`` due disputes, locked; rows someone else holds are skipped."""
    queryset: QuerySet[Dispute] = (
        Dispute.objects.filter(condition).select_related("order_line__order")
        .select_for_update(skip_locked=True, of=("self",)).order_by("deadline_at", "pk")
    )
    return list(queryset[:size])


def anything_due(now: datetime | None = None) -> bool:
    """Whether the sweep has anything to do at ``now``: an outcome or a reminder. One indexed
    probe per job, stopping at the first that finds a row (the beat asks this every minute)."""
    now = now or timezone.now()
    return any(Dispute.objects.filter(job.due(now)).exists() for job in _jobs())


def enforce_deadlines(*, now: datetime | None = None, dry_run: bool = False, batch_size: int | None = None,
                      max_batches: int | None = None) -> SweepReport:
    """Apply every outcome that is due at ``now`` and send the reminders that are due.

    ``dry_run`` only counts what is due (by step) and changes nothing. ``max_batches``
    bounds one run (the periodic task uses it so a backlog is worked off over several runs).
    """
    now = now or timezone.now()
    size = batch_size or settings.DEADLINE_SWEEP_BATCH
    report = SweepReport(dry_run=dry_run)
    if dry_run:
        for job in _jobs():
            report.counts[job.name] += Dispute.objects.filter(job.due(now)).count()
        return report
    batches = 0
    for job in _jobs():
        while max_batches is None or batches < max_batches:
            with transaction.atomic():
                disputes = _lock_batch(job.due(now), size)
                if not disputes:
                    break
                report.counts.update(+job.apply(disputes, now))  # unary +: only outcomes that happened
            batches += 1
            if len(disputes) < size:
                break
    return report
