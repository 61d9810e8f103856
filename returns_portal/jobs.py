"""Background work queued by services, after their transaction commits.

Services name a Celery task by its dotted path instead of importing it: ``tasks.py``
modules import the services (they are thin callers of them), so the services must not
import the tasks back. If the broker cannot take the task, the error is logged, never
raised: the caller's work is committed and must not look failed, and each queue has a
periodic job that finds what was left (unpaid refunds, unsent e-mails).
"""
from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_path: str, *args) -> None:
    """Queue ``task_path`` (e.g. ``"disputes.tasks.pay_refunds"``) with ``args`` once the
    surrounding transaction commits; nothing is queued if it rolls back."""
    transaction.on_commit(partial(_enqueue, task_path, args))


def _enqueue(task_path: str, args: tuple) -> None:
    try:
        import_string(task_path).delay(*args)
    except Exception:
        logger.exception("Could not queue %s; its periodic job will catch up.", task_path)
