"""Writes to disputes: one function per use case.

Every transition is one transaction: lock the dispute row, re-check the state against
``TRANSITIONS``, write, append a ``DisputeEvent``, and queue notifications (e-mail is
sent on commit). Applied twice, or raced, a transition has exactly one effect.
"""
from ..models import TRANSITIONS
from ._base import NotEligible
from .opening import dispute_message_post, dispute_open, dispute_reopen, dispute_withdraw

__all__ = [
    "TRANSITIONS",
    "NotEligible",
    "dispute_message_post",
    "dispute_open",
    "dispute_reopen",
    "dispute_withdraw",
]
