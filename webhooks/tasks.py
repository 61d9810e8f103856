"""Celery tasks: thin callers of the services, safe to run twice (the delivery is claimed by
a conditional UPDATE, so a second run finds it not due and does nothing)."""
from celery import shared_task
from django.conf import settings

from .services import deliveries_due, delivery_attempt

# An attempt lasts at most WEBHOOK_TIMEOUT_SECONDS per network step; the limit only
# catches a worker stuck beyond any reason.
_LIMIT = 3 * settings.WEBHOOK_TIMEOUT_SECONDS + 60


@shared_task(acks_late=True, time_limit=_LIMIT + 30, soft_time_limit=_LIMIT)
def deliver_webhook(delivery_id: str) -> bool:
    """Attempt one delivery if it is due (queued when its event commits, and by the periodic
    job); True if an attempt was made."""
    return delivery_attempt(delivery_id=delivery_id) is not None


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def deliver_due_webhooks() -> int:
    """Periodic (beat): queue every delivery that is due, retries and lost tasks alike."""
    due = deliveries_due(limit=settings.WEBHOOK_SWEEP_BATCH)
    for delivery_id in due:
        deliver_webhook.delay(str(delivery_id))
    return len(due)
