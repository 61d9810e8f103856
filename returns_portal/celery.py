"""The Celery app: reads CELERY_* settings, finds each app's tasks.py.

The beat schedule lives here, in code, under version control. Run exactly one beat
in production (``celery -A returns_portal beat``); the embedded default runs it
inside the worker (``celery -A returns_portal worker -B``).
"""
import os
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "returns_portal.settings.local")

app = Celery("returns_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The source of truth for every dispute deadline (DESIGN §3); period DEADLINE_SWEEP_SECONDS.
    "enforce-deadlines": {
        "task": "disputes.tasks.enforce_deadlines",
        "schedule": timedelta(seconds=int(os.environ.get("DEADLINE_SWEEP_SECONDS", "60"))),
    },
    # Webhook retries, and deliveries whose task was lost (period WEBHOOK_SWEEP_SECONDS).
    "deliver-due-webhooks": {
        "task": "webhooks.tasks.deliver_due_webhooks",
        "schedule": timedelta(seconds=int(os.environ.get("WEBHOOK_SWEEP_SECONDS", "60"))),
    },
    "clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    "pay-due-refunds": {
        "task": "disputes.tasks.pay_due_refunds",
        "schedule": crontab(minute="*/5"),
    },
    "forget-idempotency-keys": {
        "task": "api.tasks.forget_idempotency_keys",
        "schedule": crontab(minute=41),
    },
    # Evidence files whose transaction rolled back (older than EVIDENCE_ORPHAN_HOURS).
    "sweep-orphan-evidence": {
        "task": "disputes.tasks.sweep_orphan_evidence",
        "schedule": crontab(minute=23),
    },
    # Sellers' weekly digest: Monday morning in TIME_ZONE (CELERY_TIMEZONE follows it).
    "send-weekly-digests": {
        "task": "disputes.tasks.send_weekly_digests",
        "schedule": crontab(day_of_week="mon", hour=8, minute=0),
    },
    "send-unsent-notification-emails": {
        "task": "notifications.tasks.send_unsent_notification_emails",
        "schedule": crontab(minute="*/5"),
    },
}
