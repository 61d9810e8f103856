"""Celery tasks: thin callers of the services and the sweep, safe to run twice."""
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from returns_portal.errors import DomainError

from . import digest
from .models import Refund
from .services.evidence import evidence_sweep_orphans
from .services.refunds import refund_pay, refunds_due
from .sweep import anything_due
from .sweep import enforce_deadlines as sweep

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def pay_refunds(refund_ids: list[int]) -> int:
    """Pay these refunds (queued after their decision commits); returns how many were paid.
    A failure is left for ``pay_due_refunds``, which retries every few minutes."""
    paid = 0
    for refund_id in refund_ids:
        try:
            paid += refund_pay(refund_id=refund_id).status == Refund.Status.PAID
        except DomainError as error:  # e.g. it waits for approval: not this task's to pay
            logger.info("Refund %s not paid: %s", refund_id, error)
    return paid


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def pay_due_refunds() -> int:
    """Periodic: pay refunds whose task was lost (broker down) or that failed before."""
    return pay_refunds(refunds_due())


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def enforce_deadlines() -> int:
    """Beat job: when anything is due, queue ``DEADLINE_SWEEP_PARALLEL`` shards of the deadline
    sweep, so that every worker free takes part in it; returns how many were queued.

    Only when something is due: most minutes nothing is, and then one probe per step here is
    cheaper than that many tasks through the broker, each probing every step itself. Running
    it twice queues twice the shards, which share the same work (see sweep.py)."""
    if not anything_due():
        return 0
    for _ in range(settings.DEADLINE_SWEEP_PARALLEL):
        sweep_deadlines_shard.delay()
    return settings.DEADLINE_SWEEP_PARALLEL


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def sweep_deadlines_shard() -> dict[str, int]:
    """One share of the deadline sweep: the sweep's loop, bounded by DEADLINE_SWEEP_MAX_BATCHES.
    Shards running at once lock disjoint batches (SKIP LOCKED); one with nothing left to lock
    ends at once. Returns its counts by outcome, which the worker's log shows."""
    return dict(sweep(max_batches=settings.DEADLINE_SWEEP_MAX_BATCHES).counts)


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def sweep_orphan_evidence() -> int:
    """Periodic: delete evidence files left by rolled-back transactions (see services/evidence.py)."""
    return evidence_sweep_orphans()


@shared_task(autoretry_for=(digest.DigestsFailed, SoftTimeLimitExceeded), retry_backoff=60, retry_backoff_max=3600,
             max_retries=6, acks_late=True, time_limit=1800, soft_time_limit=1700)
def send_weekly_digests() -> int:
    """Beat job (Monday morning): the week's digest to each store member who wants it; at most
    one per person per week however often it runs. Retried for those whose e-mail failed, and
    for those not reached when the soft time limit cut the run short."""
    return digest.weekly_digests_send()
