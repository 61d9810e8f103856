from celery import shared_task

from .idempotency import forget_expired


@shared_task
def forget_idempotency_keys() -> int:
    """Forget the POSTs' Idempotency-Keys past their lifetime; returns how many. Safe to run twice."""
    return forget_expired()
