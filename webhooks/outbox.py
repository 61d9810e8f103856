"""The one hook the dispute services call: events recorded here become deliveries in the
same transaction (an outbox), and are queued for sending once it commits.

``events_recorded`` takes timeline entries just written (the services write them through
``disputes.services._base.record_events``); ``reminders_sent`` and ``message_posted`` take
what has no timeline entry. A rolled-back transaction leaves no delivery and queues nothing;
a commit whose queueing is lost is caught up by the periodic ``deliver_due_webhooks``.
A constant number of queries however many disputes a batch holds: the endpoints of their
stores (one query; nothing else when no store has one), the disputes as they are now (one),
one insert of the deliveries.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from disputes.models import Dispute, DisputeEvent, DisputeMessage

from . import events as types
from .models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.tasks.deliver_webhook"


@dataclass(frozen=True)
class Occurrence:
    """Something that happened to a dispute, as its store's endpoints are told."""

    dispute_id: int
    type: str
    at: datetime
    event: dict = field(default_factory=dict)


def events_recorded(events: Sequence[DisputeEvent]) -> list[WebhookDelivery]:
    """Deliveries for timeline entries just written (their ``created_at`` set); staff-only
    entries are skipped."""
    occurrences = []
    for event in events:
        kind = types.type_of(event)
        if kind is None:
            continue
        detail = {"kind": event.kind, "from_state": event.from_state or None, "to_state": event.to_state or None}
        if (event.details or {}).get("outcome"):
            detail["outcome"] = event.details["outcome"]
        occurrences.append(Occurrence(event.dispute_id, kind, event.created_at, detail))
    return record(occurrences)


def reminders_sent(disputes: Sequence[Dispute], now: datetime) -> list[WebhookDelivery]:
    from .payloads import utc

    return record([Occurrence(d.pk, types.DEADLINE_REMINDER, now,
                              {"kind": "deadline_reminder", "deadline_at": utc(d.deadline_at)}) for d in disputes])


def message_posted(message: DisputeMessage, *, party: str, files: int) -> list[WebhookDelivery]:
    return record([Occurrence(message.dispute_id, types.MESSAGE, message.created_at, {
        "kind": "message",
        "message": {"id": message.pk, "from": party, "body": message.body, "files": files},
    })])


def record(occurrences: Sequence[Occurrence]) -> list[WebhookDelivery]:
    """A delivery per occurrence and active endpoint of the dispute's store, with its body
    fixed now; queued once the transaction commits. Call inside the transaction that wrote
    what happened."""
    if not occurrences:
        return []
    ids = {o.dispute_id for o in occurrences}
    endpoints: dict[int, list[int]] = defaultdict(list)
    for pk, store_id in (WebhookEndpoint.objects.filter(disabled_at__isnull=True, store__disputes__in=ids)
                         .order_by("pk").values_list("pk", "store_id").distinct()):
        endpoints[store_id].append(pk)
    if not endpoints:
        return []
    # Imported here: the API's serializers read the dispute services, which call this module.
    from .payloads import DisputeSnapshotSerializer, utc

    disputes = {d.pk: d for d in Dispute.objects.filter(pk__in=ids, store_id__in=endpoints)
                .select_related("order_line__order")}
    deliveries = []
    # Texts beside the codes (``state_text``) in the site's language: a store's system has no reader.
    with translation.override(settings.LANGUAGE_CODE):
        for occurrence in occurrences:
            dispute = disputes.get(occurrence.dispute_id)
            if dispute is None:
                continue
            event_id = uuid.uuid4()
            body = json.dumps({
                "id": str(event_id),
                "type": occurrence.type,
                "created_at": utc(occurrence.at),
                "event": occurrence.event,
                "dispute": DisputeSnapshotSerializer(dispute).data,
            }, ensure_ascii=False, separators=(",", ":"))
            now = timezone.now()
            deliveries.extend(
                WebhookDelivery(endpoint_id=endpoint_id, dispute_id=dispute.pk, event_id=event_id,
                                event_type=occurrence.type, body=body, created_at=now, next_attempt_at=now,
                                queued_at=now)
                for endpoint_id in endpoints[dispute.store_id])
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=500)
    enqueue_deliveries([d.pk for d in deliveries])
    return deliveries


def enqueue_deliveries(ids: Sequence) -> None:
    """Queue one task per delivery once the transaction commits (nothing if it rolls back)."""
    if ids:
        transaction.on_commit(partial(_enqueue, [str(pk) for pk in ids]))


def _enqueue(ids: list[str]) -> None:
    task = import_string(DELIVER_TASK)
    for pk in ids:
        try:
            task.delay(pk)
        except Exception:
            logger.exception("Could not queue webhook delivery %s; deliver_due_webhooks will send it.", pk)
            return
