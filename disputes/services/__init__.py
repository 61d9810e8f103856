"""Writes to disputes: one function per use case.

Every transition is one transaction: lock the dispute row, check it against the lifecycle
(``lifecycle.py``), write, append a ``DisputeEvent``, and tell the people concerned
(e-mail and payments are queued on commit). Applied twice, or raced, a transition has
exactly one effect. The deadline sweep uses the batch forms of the same services.
"""
from ._base import NotEligible
from .answers import (
    dispute_accept,
    dispute_accept_offer,
    dispute_accept_rejection,
    dispute_counter_offer,
    dispute_escalate,
    dispute_reject,
    dispute_send_instructions,
    dispute_ship,
)
from .inspection import dispute_inspect
from .opening import dispute_message_post, dispute_open, dispute_reopen, dispute_withdraw
from .refunds import refund_approve, refund_pay
from .staff import (
    dispute_add_note,
    dispute_extend_deadline,
    dispute_reclassify,
    dispute_staff_decide,
    refund_issue_manual,
)

__all__ = [
    "NotEligible",
    "dispute_accept",
    "dispute_accept_offer",
    "dispute_accept_rejection",
    "dispute_add_note",
    "dispute_counter_offer",
    "dispute_escalate",
    "dispute_extend_deadline",
    "dispute_inspect",
    "dispute_message_post",
    "dispute_open",
    "dispute_reclassify",
    "dispute_reject",
    "dispute_reopen",
    "dispute_send_instructions",
    "dispute_ship",
    "dispute_staff_decide",
    "dispute_withdraw",
    "refund_approve",
    "refund_issue_manual",
    "refund_pay",
]
