"""Which kind of e-mail a notification is, and whether its recipient wants that kind.

Every registered message has a kind (``messages.Message.kind``). People choose, per kind, whether
they get it by e-mail (``accounts.User.email_*``); the bell shows every notification either way.
Money — a refund decided or paid — is always e-mailed: nobody should miss that their money moves
(issue 14). The weekly digest is not a notification but the fourth kind a person chooses.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    REMINDER = "reminders", _("deadline reminders")
    MESSAGE = "messages", _("new messages")
    OUTCOME = "outcomes", _("dispute updates and outcomes")
    MONEY = "money", _("refunds decided or paid")
    DIGEST = "digest", _("the weekly digest")


# The person's choice for each kind they may turn off: the field on accounts.User.
CHOICE_FIELDS: dict[str, str] = {
    Kind.REMINDER: "email_reminders",
    Kind.MESSAGE: "email_messages",
    Kind.OUTCOME: "email_outcomes",
    Kind.DIGEST: "email_digest",
}
ALWAYS_SENT = frozenset({Kind.MONEY})


def can_turn_off(kind: str) -> bool:
    return kind in CHOICE_FIELDS


def wants_email(user, kind: str) -> bool:
    """Whether ``user`` chose to get e-mails of ``kind`` (money: always)."""
    if kind in ALWAYS_SENT:
        return True
    return bool(getattr(user, CHOICE_FIELDS[kind]))
