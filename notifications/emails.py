"""A notification as an e-mail: its message's subject, a text part complete on its own and an HTML
part (``templates/notifications/email.*``, on the one layout ``email/base.html``), in the
recipient's language, with a one-click unsubscribe for the kinds a person may turn off.

What the e-mail says about the thing the notification is about (a dispute's item, amount, state and
next step; a webhook endpoint) comes from a summary the owning app registers for its message keys
(``register_summary``), so this module knows no app's models.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from returns_portal.mail import build_email, site_link

from .kinds import Kind, can_turn_off
from .messages import kind_of
from .models import Notification
from .unsubscribe import unsubscribe_headers, unsubscribe_url

@dataclass(frozen=True)
class Summary:
    """What the e-mail shows about the notification's subject, in the reader's words."""

    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value), in order
    next_step: str = ""
    deadline: str = ""  # the next step's deadline, "9 Dec 2026, 15:30 (3 days left)"
    button_label: str = ""


SummaryProvider = Callable[[Notification], "Summary | None"]
_SUMMARIES: dict[str, SummaryProvider] = {}


def register_summary(keys: Iterable[str], provider: SummaryProvider) -> None:
    """``provider(notification)`` gives the summary of notifications with these keys, called in the
    recipient's language; None when there is nothing to show (the subject is gone)."""
    for key in keys:
        _SUMMARIES[key] = provider


def profile_path() -> str:
    """The profile page, where a person changes their e-mail choices."""
    return reverse("accounts:profile")


def profile_url() -> str:
    return site_link(profile_path())


def email_context(*, recipient, kind: str, subject: str, preheader: str = "") -> dict:
    """What every e-mail to a person shows at its foot: why they get it and how to stop it."""
    return {
        "recipient_name": recipient.get_full_name() or recipient.username,
        "subject": subject,
        "preheader": preheader,
        "kind": kind,
        "kind_label": Kind(kind).label,
        "can_turn_off": can_turn_off(kind),
        "unsubscribe_url": unsubscribe_url(user_id=recipient.pk, kind=kind) if can_turn_off(kind) else "",
        "profile_url": profile_url(),
    }


def notification_email(notification: Notification) -> EmailMultiAlternatives:
    """The e-mail of ``notification`` to its recipient, in their language (not sent)."""
    recipient = notification.recipient
    language = recipient.reading_language
    kind = kind_of(notification.key)
    with translation.override(language):
        provider = _SUMMARIES.get(notification.key)
        summary = (provider(notification) if provider else None) or Summary()
        subject, body = notification.subject, notification.body
        context = {
            **email_context(recipient=recipient, kind=kind, subject=subject, preheader=body),
            "body": body,
            "summary": summary,
            "button_url": site_link(notification.url or reverse("notifications:list")),
            "button_label": summary.button_label or _("Open in the returns portal"),
        }
    return build_email(to=[recipient.email], subject=subject, template="notifications/email", context=context,
                       language=language, headers=unsubscribe_headers(user_id=recipient.pk, kind=kind,
                                                                      url=context["unsubscribe_url"]))
