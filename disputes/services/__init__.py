"""Writes to disputes: one function per use case.

Every transition is one transaction: lock the dispute row, re-check the state against
``TRANSITIONS``, write, append a ``DisputeEvent``, and queue notifications (e-mail is
sent on commit). Applied twice, or raced, a transition has exactly one effect.
"""
from ..models import TRANSITIONS
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
from .refunds import refund_pay
from .staff import dispute_staff_decide

__all__ = [
    "TRANSITIONS",
    "NotEligible",
    "dispute_accept",
    "dispute_accept_offer",
    "dispute_accept_rejection",
    "dispute_counter_offer",
    "dispute_escalate",
    "dispute_inspect",
    "dispute_reject",
    "dispute_send_instructions",
    "dispute_ship",
    "dispute_staff_decide",
    "refund_pay",
    "dispute_message_post",
    "dispute_open",
    "dispute_reopen",
    "dispute_withdraw",
]
