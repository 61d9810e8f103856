"""The events a store's endpoint receives, as stable type strings, and which timeline entry
becomes which. Every entry the parties read is sent (staff-only entries never are); its
``event.kind`` in the body says exactly what happened.

| type                        | sent when (timeline kinds, or the service)                                   |
|-----------------------------|-------------------------------------------------------------------------------|
| ``dispute.opened``          | ``opened``, ``reopened``                                                      |
| ``dispute.deadline_reminder`` | a reminder before the current deadline (``reminders_send_many``)            |
| ``dispute.deadline_passed`` | ``deadline_passed``, ``staff_overdue``, and ``instructions_sent`` when the system issued them (the seller's deadline passed) |
| ``dispute.escalated``       | ``escalated`` (by the buyer)                                                   |
| ``dispute.decided``         | ``accepted``, ``counter_offered``, ``rejected``, ``offer_accepted``, ``rejection_accepted``, ``inspected``, ``staff_decided`` |
| ``dispute.refunded``        | ``refund_paid`` (a decided or a manual refund paid)                           |
| ``dispute.message``         | a message in the thread (``dispute_message_post``)                            |
| ``dispute.updated``         | every other entry: ``withdrawn``, ``instructions_sent``, ``shipped``, ``refund_failed``, ``refund_approved``, ``deadline_extended``, ``reclassified``, ``manual_refund`` |
"""
from __future__ import annotations

from disputes.models import DisputeEvent

K = DisputeEvent.Kind

OPENED = "dispute.opened"
DEADLINE_REMINDER = "dispute.deadline_reminder"
DEADLINE_PASSED = "dispute.deadline_passed"
ESCALATED = "dispute.escalated"
DECIDED = "dispute.decided"
REFUNDED = "dispute.refunded"
MESSAGE = "dispute.message"
UPDATED = "dispute.updated"

TYPES = (OPENED, DEADLINE_REMINDER, DEADLINE_PASSED, ESCALATED, DECIDED, REFUNDED, MESSAGE, UPDATED)

BY_KIND: dict[str, str] = {
    K.OPENED: OPENED,
    K.REOPENED: OPENED,
    K.DEADLINE_PASSED: DEADLINE_PASSED,
    K.STAFF_OVERDUE: DEADLINE_PASSED,
    K.ESCALATED: ESCALATED,
    K.ACCEPTED: DECIDED,
    K.COUNTER_OFFERED: DECIDED,
    K.REJECTED: DECIDED,
    K.OFFER_ACCEPTED: DECIDED,
    K.REJECTION_ACCEPTED: DECIDED,
    K.INSPECTED: DECIDED,
    K.STAFF_DECIDED: DECIDED,
    K.REFUND_PAID: REFUNDED,
}


def type_of(event: DisputeEvent) -> str | None:
    """The webhook type of a timeline entry; None for an entry only staff read."""
    if event.kind in DisputeEvent.STAFF_ONLY_KINDS:
        return None
    if event.kind == K.INSTRUCTIONS_SENT and event.actor_id is None:
        return DEADLINE_PASSED  # the seller's deadline passed: the sweep issued default instructions
    return BY_KIND.get(event.kind, UPDATED)
