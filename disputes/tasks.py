"""Celery tasks: thin callers of the services and the sweep, safe to run twice."""
import logging

from celery import shared_task
from django.conf import settings

from returns_portal.errors import DomainError

from .models import Refund
from .services.evidence import evidence_sweep_orphans
from .services.refunds import refund_pay, refunds_due
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


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def enforce_deadlines() -> dict[str, int]:
    """Beat job: the deadline sweep. Safe to run twice or concurrently (see sweep.py)."""
    return dict(sweep(max_batches=settings.DEADLINE_SWEEP_MAX_BATCHES).counts)


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def sweep_orphan_evidence() -> int:
    """Periodic: delete evidence files left by rolled-back transactions (see services/evidence.py)."""
    return evidence_sweep_orphans()
