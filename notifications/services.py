"""Notification use cases: notify people, mark read, e-mail one, resend the e-mails still owed."""
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User
from returns_portal.jobs import enqueue_on_commit

from .emails import notification_email
from .kinds import CHOICE_FIELDS, can_turn_off, wants_email
from .messages import is_registered, kind_of
from .models import Notification

logger = logging.getLogger(__name__)

# The sweep leaves fresh rows to their own on-commit task, and gives up on rows so old
# that an e-mail would be news from another day (or that keep bouncing).
RESEND_AFTER = timedelta(minutes=1)
RESEND_GIVE_UP_AFTER = timedelta(days=2)
RESEND_BATCH_SIZE = 200


@dataclass(frozen=True)
class Draft:
    """One notification to create: a message key and its parameters (see ``messages.py``)."""

    recipient_id: int
    key: str
    params: dict = field(default_factory=dict)
    url: str = ""


EMAIL_CHUNK = 500


def notify(*, recipients: Iterable[User], key: str, params: dict | None = None, url: str = "") -> list[Notification]:
    """Tell each distinct active recipient: ``notify_many`` for people at hand.
    Inactive users are skipped; a user listed twice is told once."""
    distinct = {user.pk for user in recipients if user.is_active}
    return notify_many([Draft(pk, key, params or {}, url) for pk in sorted(distinct)])


def notify_many(drafts: Sequence[Draft]) -> list[Notification]:
    """Create the notifications in one insert (a sweep passes thousands) and, once the
    surrounding transaction commits, queue their e-mails in chunks (nothing is queued if it
    rolls back). A broker outage is logged, not raised: the rows keep ``emailed_at`` NULL
    and the resend sweep sends them later. Recipients must be active users.

    Refuses (``ValueError``) a message key nobody registered and a ``url`` that is not
    site-relative, since it is shown as a link. Returns the notifications created.
    """
    if not drafts:
        return []
    for key in {draft.key for draft in drafts}:
        if not is_registered(key):
            raise ValueError(f"No notification message is registered as {key!r}.")
    for url in {draft.url for draft in drafts}:
        if url and not _is_site_relative(url):
            raise ValueError(f"A notification's url must be site-relative, not {url!r}.")
    now = timezone.now()
    created = Notification.objects.bulk_create(
        [Notification(recipient_id=d.recipient_id, key=d.key, params=d.params, url=d.url, created_at=now)
         for d in drafts],
        batch_size=1000,
    )
    ids = [notification.pk for notification in created]
    for start in range(0, len(ids), EMAIL_CHUNK):
        enqueue_on_commit("notifications.tasks.send_notification_emails", ids[start:start + EMAIL_CHUNK])
    return created


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
    inactive recipient or one without an e-mail address. If the recipient turned this
    kind of e-mail off (``kinds``; money is always sent), nothing is sent and the row is
    marked ``email_skipped_at``: it stays under the bell and is owed no e-mail, now or
    later, whatever the recipient chooses afterwards. If rendering or sending fails,
    the claim is released (``emailed_at`` back to NULL) and the error re-raised, so the
    task can retry and the resend sweep still sees the row.
    """
    owed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True, email_skipped_at__isnull=True)
    notification = owed.select_related("recipient").first()
    if notification is None or not _can_receive_email(notification.recipient):
        return False
    now = timezone.now()
    # Only this table's columns in the WHERE (a filter on the recipient would make Django
    # write ``pk IN (subquery)``): a concurrent claim waits for the row lock, re-checks
    # both columns on the updated row and changes nothing.
    if not wants_email(notification.recipient, kind_of(notification.key)):
        owed.update(email_skipped_at=now)
        return False
    claimed = owed.update(emailed_at=now)
    if not claimed:
        return False
    try:
        notification_email(notification).send(fail_silently=False)
    except Exception:
        Notification.objects.filter(pk=notification_id, emailed_at=now).update(emailed_at=None)
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
            email_skipped_at__isnull=True,
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


def email_kind_turn_off(*, user_id: int, kind: str) -> bool:
    """Turn e-mails of ``kind`` off for user ``user_id`` (the one-click unsubscribe); True if the
    user exists. Turning off what is already off changes nothing. Refuses (``ValueError``) a kind
    nobody may turn off (money)."""
    if not can_turn_off(kind):
        raise ValueError(f"E-mails of kind {kind!r} cannot be turned off.")
    return User.objects.filter(pk=user_id).update(**{CHOICE_FIELDS[kind]: False}) > 0


def _can_receive_email(user: User) -> bool:
    return user.is_active and bool(user.email)


def _is_site_relative(url: str) -> bool:
    return url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
