"""Per-person limits on what costs the marketplace most when abused: opening disputes, posting
messages, uploading evidence (issue 12), a store member's invitations (issue 14). Each limit is a setting ("10/hour").

Counted in the default cache, in fixed windows of the limit's period (set ``CACHE_URL`` to
Redis in production so that every worker counts together). A request is checked before it
acts (``refusal``) and counted once it has acted (``record``): a form sent back with a
mistake costs nothing. Two requests at the same instant may both pass the check; a limit
against abuse does not need to be exact to the unit.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

OPEN_DISPUTE, MESSAGE, UPLOAD, INVITATION = "open_dispute", "message", "upload", "invitation"
SETTINGS = {OPEN_DISPUTE: "RATE_LIMIT_OPEN_DISPUTES", MESSAGE: "RATE_LIMIT_MESSAGES", UPLOAD: "RATE_LIMIT_UPLOADS",
            INVITATION: "RATE_LIMIT_INVITATIONS"}
PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
           "d": 86400, "day": 86400}
RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(text: str) -> Rate:
    """ "10/hour" → 10 in 3,600 s; periods: s, min, hour, day (and their long names)."""
    match = RATE.match(text or "")
    if match is None or match.group(2) not in PERIODS:
        raise ImproperlyConfigured(f"A rate limit reads like '10/hour', not {text!r}.")
    return Rate(int(match.group(1)), PERIODS[match.group(2)])


def _rate(scope: str) -> Rate:
    return parse_rate(getattr(settings, SETTINGS[scope]))


def _key(scope: str, user_id: int, rate: Rate, now: float) -> tuple[str, float]:
    start = math.floor(now / rate.seconds) * rate.seconds
    return f"ratelimit:{scope}:{user_id}:{rate.seconds}:{start}", start + rate.seconds


@dataclass(frozen=True)
class Refusal:
    scope: str
    limit: int
    wait_seconds: int

    @property
    def message(self) -> str:
        first = {
            OPEN_DISPUTE: _("You have opened as many disputes as allowed for now (%(count)d)."),
            MESSAGE: _("You have sent as many messages as allowed for now (%(count)d)."),
            UPLOAD: _("You have uploaded as many photos and videos as allowed for now (%(count)d)."),
            INVITATION: _("You have sent as many store invitations as allowed for now (%(count)d)."),
        }[self.scope] % {"count": self.limit}
        minutes = max(1, math.ceil(self.wait_seconds / 60))
        then = ngettext("Please try again in %(minutes)d minute; what you entered is still here.",
                        "Please try again in %(minutes)d minutes; what you entered is still here.",
                        minutes) % {"minutes": minutes}
        return f"{first} {then}"


def refusal(user, **costs: int) -> Refusal | None:
    """The first limit that acting now would pass for ``user`` (``open_dispute=1``,
    ``upload=<files>``…), or None."""
    now = time.time()
    for scope, cost in costs.items():
        if not cost:
            continue
        rate = _rate(scope)
        key, ends = _key(scope, user.pk, rate, now)
        if cache.get(key, 0) + cost > rate.count:
            return Refusal(scope, rate.count, math.ceil(ends - now))
    return None


def record(user, **costs: int) -> None:
    """Count what ``user`` just did."""
    now = time.time()
    for scope, cost in costs.items():
        if not cost:
            continue
        rate = _rate(scope)
        key, _ends = _key(scope, user.pk, rate, now)
        cache.add(key, 0, timeout=rate.seconds + 60)
        try:
            cache.incr(key, cost)
        except ValueError:  # evicted between the two calls
            cache.set(key, cost, timeout=rate.seconds + 60)


@checks.register(checks.Tags.compatibility)
def check_rates(app_configs=None, **kwargs) -> list[checks.Error]:
    """A limit that does not read like "10/hour" stops start-up, not the first request."""
    errors = []
    for name in SETTINGS.values():
        try:
            parse_rate(getattr(settings, name))
        except ImproperlyConfigured as error:
            errors.append(checks.Error(f"{name}: {error}", id="returns_portal.E001"))
    return errors
