"""Celery tasks: thin callers of services, safe to run twice."""
from celery import shared_task

from .models import Refund
from .payments import GatewayError
from .services.refunds import refund_pay, refunds_due


class RefundNotPaid(Exception):
    pass


@shared_task(bind=True, acks_late=True, autoretry_for=(RefundNotPaid, GatewayError), retry_backoff=30,
             retry_backoff_max=3600, max_retries=8, time_limit=120, soft_time_limit=100)
def pay_refund(self, refund_id: int) -> str:
    refund = refund_pay(refund_id=refund_id)
    if refund.status != Refund.Status.PAID:
        raise RefundNotPaid(refund.last_error)
    return refund.status


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def pay_due_refunds() -> int:
    """Sweep: pay refunds whose task was lost (broker down) or that failed before."""
    paid = 0
    for refund_id in refunds_due():
        if refund_pay(refund_id=refund_id).status == Refund.Status.PAID:
            paid += 1
    return paid


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def enforce_deadlines() -> dict[str, int]:
    """Beat job: the deadline sweep. Safe to run twice or concurrently (see deadlines.py)."""
    from django.conf import settings

    from .deadlines import enforce_deadlines as sweep

    return dict(sweep(max_batches=settings.DEADLINE_SWEEP_MAX_BATCHES).counts)
