"""Notification use cases: notify people, mark read, e-mail one, resend the e-mails still owed."""
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User
from returns_portal.bulk import bulk_insert

from .models import Notification

logger = logging.getLogger(__name__)

# The sweep leaves fresh rows to their own on-commit task, and gives up on rows so old
# that an e-mail would be news from another day (or that keep bouncing).
RESEND_AFTER = timedelta(minutes=1)
RESEND_GIVE_UP_AFTER = timedelta(days=2)
RESEND_BATCH_SIZE = 200


def notify(*, recipients: Iterable[User], subject: str, body: str, url: str = "") -> list[Notification]:
    """Create one notification per distinct active recipient and e-mail each of them.

    Inactive users are skipped; a user listed twice gets one notification. The e-mail is
    queued only when the surrounding transaction commits (nothing is queued if it rolls
    back), and only for recipients with an e-mail address. If the broker cannot take the
    task, the error is logged, not raised: the row keeps ``emailed_at`` NULL and the
    resend sweep sends it later.

    Refuses (``ValueError``) a ``url`` that is not site-relative, since it is shown as a link.
    """
    if url and not _is_site_relative(url):
        raise ValueError(f"A notification's url must be site-relative, not {url!r}.")
    distinct: dict[int, User] = {}
    for user in recipients:
        if user.is_active:
            distinct.setdefault(user.pk, user)
    if not distinct:
        return []
    subject = _one_line(subject, Notification._meta.get_field("subject").max_length)
    now = timezone.now()
    notifications = Notification.objects.bulk_create(
        [Notification(recipient=user, subject=subject, body=body, url=url, created_at=now) for user in distinct.values()]
    )
    for notification in notifications:
        if notification.recipient.email:
            transaction.on_commit(partial(_queue_email, notification.pk))
    return notifications


@dataclass(frozen=True)
class Draft:
    """One notification to create in bulk (the recipient must be active)."""

    recipient_id: int
    subject: str
    body: str
    url: str = ""


EMAIL_CHUNK = 500


def notify_many(drafts: Sequence[Draft]) -> int:
    """Create many notifications in one insert (for sweeps over thousands of disputes) and,
    after commit, queue their e-mails in chunks. Returns how many were created."""
    if not drafts:
        return 0
    now = timezone.now()
    max_subject = Notification._meta.get_field("subject").max_length
    for draft in drafts:
        if draft.url and not _is_site_relative(draft.url):
            raise ValueError(f"A notification's url must be site-relative, not {draft.url!r}.")
    ids = bulk_insert(
        Notification,
        [
            {"recipient_id": d.recipient_id,
             "subject": _one_line(d.subject, max_subject),
             "body": d.body, "url": d.url, "created_at": now, "read_at": None, "emailed_at": None}
            for d in drafts
        ],
        returning_ids=True,
    )
    emails_queue_on_commit(ids)
    return len(ids)


def emails_queue_on_commit(notification_ids: Sequence[int]) -> None:
    """After the surrounding transaction commits, queue the e-mails of these new
    notifications in chunks (a broker outage is logged; the resend sweep catches up)."""
    ids = list(notification_ids)
    for start in range(0, len(ids), EMAIL_CHUNK):
        transaction.on_commit(partial(_queue_emails, ids[start:start + EMAIL_CHUNK]))


def _one_line(subject: str, limit: int) -> str:
    """A subject is an e-mail header: one line, cut to the column's length."""
    subject = " ".join(str(subject).split())
    return subject if len(subject) <= limit else Truncator(subject).chars(limit)


def _queue_emails(notification_ids: list[int]) -> None:
    from .tasks import send_notification_emails

    try:
        send_notification_emails.delay(notification_ids)
    except Exception:
        logger.exception("Could not queue %d e-mails; the resend sweep will send them.", len(notification_ids))


def notifications_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s unread notifications read: all of them, or those among ``notification_ids``.

    Ids that are not ``user``'s own (or do not exist) are ignored. Returns how many changed.
    """
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def notification_email_send(*, notification_id: int) -> bool:
    """E-mail one notification to its recipient, at most once; True if this call sent it.

    Safe to run twice or concurrently: a conditional UPDATE claims the row and only the
    caller whose UPDATE changed it sends. Nothing is sent (and nothing claimed) for an
    inactive recipient or one without an e-mail address. If rendering or sending fails,
    the claim is released (``emailed_at`` back to NULL) and the error re-raised, so the
    task can retry and the resend sweep still sees the row.
    """
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id, emailed_at__isnull=True).first()
    )
    if notification is None or not _can_receive_email(notification.recipient):
        return False
    claimed_at = timezone.now()
    # Only this table's columns in the WHERE (a filter on the recipient would make Django
    # write ``pk IN (subquery)``): a concurrent claim waits for the row lock, re-checks
    # ``emailed_at IS NULL`` on the updated row and changes nothing.
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=claimed_at)
    if not claimed:
        return False
    try:
        _send_email(notification)
    except Exception:
        Notification.objects.filter(pk=notification_id, emailed_at=claimed_at).update(emailed_at=None)
        raise
    return True


def notification_emails_resend(*, limit: int = RESEND_BATCH_SIZE) -> int:
    """Send the e-mails still owed: notifications older than a minute with ``emailed_at`` NULL.

    These are the ones whose task could not be queued (broker down) or whose sending kept
    failing. Rows older than ``RESEND_GIVE_UP_AFTER`` are left alone. One failure is
    logged and does not stop the others. Returns how many e-mails this run sent.
    """
    now = timezone.now()
    owed = (
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__lt=now - RESEND_AFTER,
            created_at__gte=now - RESEND_GIVE_UP_AFTER,
            recipient__is_active=True,
        )
        .exclude(recipient__email="")
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for notification_id in list(owed):
        try:
            sent += notification_email_send(notification_id=notification_id)
        except Exception:
            logger.exception("Resending the e-mail of notification %s failed; the next sweep retries.", notification_id)
    return sent


def _queue_email(notification_id: int) -> None:
    from .tasks import send_notification_email  # tasks.py imports this module

    try:
        send_notification_email.delay(notification_id)
    except Exception:
        # Runs after commit: the caller's work is saved and must not look failed.
        logger.exception(
            "Could not queue the e-mail of notification %s; the resend sweep will send it.", notification_id
        )


def _send_email(notification: Notification) -> None:
    recipient = notification.recipient
    path = notification.url or reverse("notifications:list")
    message = render_to_string(
        "notifications/email.txt",
        {
            "notification": notification,
            "recipient_name": recipient.get_full_name() or recipient.username,
            "link": settings.SITE_URL.rstrip("/") + path,
        },
    )
    subject = " ".join(notification.subject.split())  # a header: no line breaks
    send_mail(subject, message, None, [recipient.email], fail_silently=False)


def _can_receive_email(user: User) -> bool:
    return user.is_active and bool(user.email)


def _is_site_relative(url: str) -> bool:
    return url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
