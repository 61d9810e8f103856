"""The weekly digest for a store's people: the store's disputes waiting for it (with their
deadlines), and those opened and closed in the past week (Monday to Sunday in the site's time
zone, the week before the one it is sent in, so a retry hours later lists the same); sent on
Monday morning (beat) to each active member of an active store who wants it, in their language,
and not sent when there is nothing to say.

At most once per person per week: each person is claimed, sent and stamped in turn. Their
``notifications.WeeklyDigest`` row is inserted just before their e-mail is sent (a person another
run, earlier or concurrent, has a row for is skipped) and deleted again if sending fails or the
run is cut short (soft time limit, worker shutdown), so the retry sends it then; nobody is claimed
ahead of their turn, so a run that stops leaves everyone after it to the next. The queries do not
grow with the number of disputes; each person costs their claim and their stamp.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from notifications.emails import email_context
from notifications.kinds import CHOICE_FIELDS, Kind
from notifications.models import WeeklyDigest
from notifications.unsubscribe import unsubscribe_headers
from returns_portal.formatting import local_datetime
from returns_portal.labels import choice_label
from returns_portal.mail import build_email, site_link
from returns_portal.money import format_money

from .lifecycle import Party, states_where
from .models import Dispute

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
SHOWN = 15  # disputes listed per section; the rest are counted, and the seller desk lists them all


@dataclass
class StoreWeek:
    """One store's disputes for the digest, each list in the order it is shown."""

    waiting: list[Dispute] = field(default_factory=list)  # the store must act, soonest deadline first
    opened: list[Dispute] = field(default_factory=list)  # newest first
    closed: list[Dispute] = field(default_factory=list)  # newest first

    @property
    def is_empty(self) -> bool:
        return not (self.waiting or self.opened or self.closed)


class DigestsFailed(Exception):
    """Some digests could not be sent; their claims were released for the retry."""


def week_of(now: datetime) -> date:
    """The Monday (in the site's time zone) of the week ``now`` is in."""
    today = timezone.localtime(now).date()
    return today - timedelta(days=today.weekday())


def week_start(week: date) -> datetime:
    """Midnight (in the site's time zone) starting the Monday ``week``."""
    return datetime.combine(week, time.min, tzinfo=timezone.get_current_timezone())


def store_weeks(store_ids: set[int], now: datetime) -> dict[int, StoreWeek]:
    """The digest's disputes of these stores, in one query: waiting for the store at ``now``, and
    opened or closed in the week before the one ``now`` is in."""
    weeks: dict[int, StoreWeek] = defaultdict(StoreWeek)
    if not store_ids:
        return weeks
    this_week = week_of(now)
    since, until = week_start(this_week - WEEK), week_start(this_week)
    waiting_states = states_where(Party.SELLER)
    disputes = (Dispute.objects.filter(store_id__in=store_ids)
                .filter(Q(state__in=waiting_states) | Q(created_at__gte=since, created_at__lt=until)
                        | Q(closed_at__gte=since, closed_at__lt=until))
                .select_related("order_line__order").order_by("-created_at", "-pk"))
    for dispute in disputes:
        week = weeks[dispute.store_id]
        if dispute.state in waiting_states:
            week.waiting.append(dispute)
        if since <= dispute.created_at < until:
            week.opened.append(dispute)
        if dispute.closed_at and since <= dispute.closed_at < until:
            week.closed.append(dispute)
    far = now + timedelta(days=36500)
    for week in weeks.values():
        week.waiting.sort(key=lambda d: (d.deadline_at or far, d.pk))
        week.closed.sort(key=lambda d: (d.closed_at, d.pk), reverse=True)
    return weeks


def digest_recipients(week: date):
    """Active people of active stores who want the digest and have not had this week's."""
    return (User.objects.filter(store__isnull=False, store__is_active=True, is_active=True, is_api_account=False,
                                **{CHOICE_FIELDS[Kind.DIGEST]: True})
            .exclude(email="").exclude(weekly_digests__week=week)
            .select_related("store").order_by("pk"))


def _row(dispute: Dispute, now: datetime, *, with_deadline: bool = False, with_outcome: bool = False) -> dict:
    from .presentation import time_left  # the dispute page's words

    line = dispute.order_line
    row = {
        "number": dispute.pk,
        "title": f"{line.title} × {line.quantity}",
        "order": line.order.number,
        "amount": format_money(dispute.amount, dispute.currency),
        "state": choice_label(Dispute.State, dispute.state),
        "url": site_link(dispute.get_absolute_url()),
        "deadline": "",
    }
    if with_deadline and dispute.deadline_at:
        row["deadline"] = f"{local_datetime(dispute.deadline_at)} ({time_left(dispute.deadline_at, now)})"
        row["overdue"] = dispute.deadline_at <= now
    if with_outcome:
        row["state"] = choice_label(Dispute.Resolution, dispute.resolution) or row["state"]
    return row


def _section(title: str, disputes: list[Dispute], now: datetime, **how) -> dict:
    return {"title": title, "count": len(disputes), "rows": [_row(d, now, **how) for d in disputes[:SHOWN]],
            "more": max(0, len(disputes) - SHOWN)}


def digest_email(person: User, week: StoreWeek, now: datetime) -> EmailMultiAlternatives:
    """The digest e-mail of ``person`` (a store member), in their language (not sent)."""
    language = person.reading_language
    with translation.override(language):
        store = person.store.name
        subject = _("Your week on the returns portal: %(store)s") % {"store": store}
        waiting = len(week.waiting)
        summary = ngettext("%(count)d dispute waits for your store.", "%(count)d disputes wait for your store.",
                           waiting) % {"count": waiting}
        sections = [
            _section(_("Waiting for your store"), week.waiting, now, with_deadline=True),
            _section(_("Opened in the past week"), week.opened, now),
            _section(_("Closed in the past week"), week.closed, now, with_outcome=True),
        ]
        context = {
            **email_context(recipient=person, kind=Kind.DIGEST, subject=subject, preheader=summary),
            "store": store,
            "summary_line": summary,
            "sections": sections,
            "button_url": site_link(reverse("disputes:seller_desk")),
            "button_label": _("Open the seller desk"),
        }
    return build_email(to=[person.email], subject=subject, template="disputes/email/weekly_digest", context=context,
                       language=language, headers=unsubscribe_headers(user_id=person.pk, kind=Kind.DIGEST,
                                                                      url=context["unsubscribe_url"]))


def _claim(person: User, week: date, claim: str) -> bool:
    """Claim ``person``'s digest of ``week`` for this run; False if a run already has it."""
    try:
        with transaction.atomic():
            WeeklyDigest.objects.create(recipient=person, week=week, claim=claim)
    except IntegrityError:
        return False
    return True


def weekly_digests_send(*, now: datetime | None = None) -> int:
    """Send this week's digest to each store member who wants it and has something to read;
    returns how many were sent. Raises ``DigestsFailed`` after trying everyone if some could not
    be sent (their claims released, so running it again sends those and only those). Cut short
    (``SoftTimeLimitExceeded``, or anything else that ends the loop), it releases the claim it
    holds unless that e-mail went out, and re-raises: those not sent yet are left to the retry."""
    now = now or timezone.now()
    week = week_of(now)
    people = list(digest_recipients(week))
    weeks = store_weeks({person.store_id for person in people}, now)
    people = [person for person in people if not weeks[person.store_id].is_empty]
    claim = uuid.uuid4().hex
    sent, failed = 0, []
    delivered = None  # the person whose e-mail went out and whose stamp is not written yet
    try:
        for person in people:
            if not _claim(person, week, claim):  # another run has sent it, or is sending it
                continue
            try:
                digest_email(person, weeks[person.store_id], now).send(fail_silently=False)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                logger.exception("The weekly digest to user %s could not be sent; the retry sends it.", person.pk)
                WeeklyDigest.objects.filter(claim=claim, recipient=person).delete()
                failed.append(person.pk)
                continue
            delivered = person
            WeeklyDigest.objects.filter(claim=claim, recipient=person).update(sent_at=timezone.now())
            delivered = None
            sent += 1
    except BaseException:  # cut short: release this run's claim in hand unless its e-mail went out
        unsent = WeeklyDigest.objects.filter(claim=claim, sent_at__isnull=True)
        if delivered is not None:
            unsent = unsent.exclude(recipient=delivered)
        unsent.delete()
        raise
    if failed:
        raise DigestsFailed(f"{len(failed)} weekly digests could not be sent: users {failed}")
    return sent
