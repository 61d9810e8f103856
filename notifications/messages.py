"""What a notification says, rendered when it is read.

A notification stores a message key and its parameters (numbers, codes, ISO dates,
amounts as strings), never finished text. The words are produced when a page or an
e-mail is made, in the reader's language, so a translation reaches every notification
already stored. Each app registers its messages (``register``) from its ``AppConfig.ready``;
parameters that need words of their own (an amount, a date, a state) are turned into
text by formatters registered by parameter name.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise

from returns_portal.money import format_money
from returns_portal.formatting import local_datetime

from .kinds import Kind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A notification's words, and its kind (``kinds.Kind``): which of the recipient's e-mail
    choices decides whether it is e-mailed. The kind is required, so no message goes without one."""

    subject: Promise | str
    body: Promise | str
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in Kind.values:
            raise ValueError(f"{self.kind!r} is not a kind of notification ({', '.join(Kind.values)}).")


Formatter = Callable[[Any, Mapping[str, Any]], str]

_MESSAGES: dict[str, Message] = {}
_FORMATTERS: dict[str, Formatter] = {}


def register(messages: Mapping[str, Message], formatters: Mapping[str, Formatter] | None = None) -> None:
    for key, message in messages.items():
        if _MESSAGES.get(key, message) != message:
            raise ValueError(f"The notification message {key!r} is registered twice.")
        _MESSAGES[key] = message
    _FORMATTERS.update(formatters or {})


def is_registered(key: str) -> bool:
    return key in _MESSAGES


def registered() -> dict[str, Message]:
    """Every registered message by key (a copy)."""
    return dict(_MESSAGES)


def kind_of(key: str) -> str:
    """The kind of message ``key``; a key this release does not know counts as an outcome
    (an update about the person's affairs, which they may turn off)."""
    message = _MESSAGES.get(key)
    return message.kind if message is not None else Kind.OUTCOME


class _Values(dict):
    """Parameters as text; a placeholder with no parameter reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


class _Counted(_Values):
    """For a message whose number placeholder (or plural form) has no parameter: zero."""

    def __missing__(self, key: str) -> int:
        return 0


def render(key: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body of message ``key`` in the active language."""
    message = _MESSAGES.get(key)
    if message is None:  # a key this release does not know: show it, never fail a page
        return key, ""
    values = _Values()
    for name, value in params.items():
        formatter = _FORMATTERS.get(name)
        try:
            values[name] = formatter(value, params) if formatter and value not in (None, "") else value
        except (TypeError, ValueError, KeyError, ArithmeticError):
            values[name] = value
    for attempt in (values, _Counted(values)):
        try:
            return str(message.subject % attempt), str(message.body % attempt)
        except (TypeError, ValueError, KeyError):
            continue
    logger.warning("Notification message %s could not be rendered with %r", key, dict(params))
    return key, ""


# --- formatters every app may use -----------------------------------------------------------------


def date_param(value: str, params: Mapping[str, Any]) -> str:
    moment = parse_datetime(value)
    return local_datetime(moment) if moment else value


def money_param(value: str, params: Mapping[str, Any]) -> str:
    return format_money(Decimal(value), params.get("currency", ""))


# A message written out in full before messages had keys (kept as it was stored): those were
# updates on a dispute, so they are outcomes.
TEXT = "notifications.text"

register(
    {TEXT: Message("%(subject)s", "%(body)s", Kind.OUTCOME)},
    {
        "deadline": date_param,
        "ship_by": date_param,
        "date": date_param,
        "amount": money_param,
        "offer": money_param,
    },
)
