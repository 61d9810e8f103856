"""E-mails people open: a text part complete on its own and an HTML part beside it, both from
templates, in the reader's language.

Every e-mail the portal writes goes through ``send_email``: the notifications (notifications.
services), the store invitations and the account e-mails (allauth renders its own pair from
``account/email/*_message.txt`` and ``.html``, which extend the same layout). The HTML layout is
``templates/email/base.html``: inline styles only, no image, font or style sheet from anywhere,
one button.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.text import Truncator

SUBJECT_LENGTH = 200


def one_line(subject: str, limit: int = SUBJECT_LENGTH) -> str:
    """A subject is an e-mail header: one line, cut to a readable length."""
    subject = " ".join(str(subject).split())
    return subject if len(subject) <= limit else Truncator(subject).chars(limit)


def site_link(path: str) -> str:
    """An absolute link for an e-mail, from a site-relative path."""
    return settings.SITE_URL.rstrip("/") + path


def render_email(*, template: str, context: Mapping, language: str) -> tuple[str, str]:
    """``<template>.txt`` and ``<template>.html`` rendered in ``language``: (text, html)."""
    with translation.override(language):
        text = render_to_string(f"{template}.txt", dict(context))
        html = render_to_string(f"{template}.html", {**context, "language": language})
    return text, html


def build_email(*, to: Sequence[str], subject: str, template: str, context: Mapping, language: str,
                headers: Mapping[str, str] | None = None) -> EmailMultiAlternatives:
    text, html = render_email(template=template, context=context, language=language)
    message = EmailMultiAlternatives(one_line(subject), text, None, list(to), headers=dict(headers or {}))
    message.attach_alternative(html, "text/html")
    return message


def send_email(*, to: Sequence[str], subject: str, template: str, context: Mapping, language: str,
               headers: Mapping[str, str] | None = None) -> None:
    """Send one e-mail, text and HTML, in ``language``; errors are raised (callers retry)."""
    build_email(to=to, subject=subject, template=template, context=context, language=language,
                headers=headers).send(fail_silently=False)
