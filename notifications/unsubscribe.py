"""One-click unsubscribe links (RFC 8058): a signed token naming a person and a kind of e-mail.

The token is signed with the site's secret and a salt of its own (so no other signed value of the
portal can stand in for it), carries its signing time, and is refused after
``UNSUBSCRIBE_LINK_DAYS``. Whoever holds the link may turn that one kind off for that one person,
and nothing else: no login is needed, as mail programs post it without a session.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from returns_portal.mail import site_link

from .kinds import can_turn_off

SALT = "notifications.unsubscribe"


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    kind: str


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    if not can_turn_off(kind):
        raise ValueError(f"E-mails of kind {kind!r} cannot be turned off.")
    return signing.dumps({"u": user_id, "k": str(kind)}, salt=SALT, compress=False)


def unsubscribe_read(token: str) -> Unsubscribe | None:
    """The person and kind a token names; None if it is forged, altered, expired or names a kind
    that cannot be turned off."""
    try:
        value = signing.loads(token, salt=SALT, max_age=settings.UNSUBSCRIBE_LINK_DAYS * 86400)
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None
    if not isinstance(value, dict):
        return None
    user_id, kind = value.get("u"), value.get("k")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(kind, str):
        return None
    if not can_turn_off(kind):
        return None
    return Unsubscribe(user_id, kind)


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    return site_link(reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, kind=kind)]))


def unsubscribe_headers(*, user_id: int, kind: str, url: str = "") -> dict[str, str]:
    """The headers that let a mail program offer "Unsubscribe" and post it in one click (RFC 8058);
    none for a kind that is always sent. ``url``: the e-mail's own unsubscribe link, when its
    text already shows one (the same link in both places)."""
    if not can_turn_off(kind):
        return {}
    return {"List-Unsubscribe": f"<{url or unsubscribe_url(user_id=user_id, kind=kind)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
