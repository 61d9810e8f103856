from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .messages import render


class Notification(models.Model):
    """One message to one person: shown under the bell, and e-mailed once.

    It stores a message key and its parameters; the words are rendered when it is read,
    in the reader's language (``messages.py``).
    ``emailed_at`` is set when a worker claims the row for sending (and cleared again if
    sending fails). ``email_skipped_at`` is set instead when the recipient had turned this kind
    of e-mail off (``kinds``): the notification stays under the bell, no e-mail is owed. A row
    with both NULL is "still owed an e-mail".
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    key = models.CharField(_("message"), max_length=100)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    url = models.CharField(
        _("link"),
        max_length=300,
        blank=True,
        help_text=_("Site-relative link to what the notification is about, e.g. /orders/12/."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    email_skipped_at = models.DateTimeField(
        _("not e-mailed (by choice) at"), null=True, blank=True,
        help_text=_("When the e-mail was not sent because the recipient had turned this kind of e-mail off."))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The bell (unread count) and the list page, newest first.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notif_recipient_read_idx"),
            # The resend sweep only ever looks at the few rows still owed an e-mail.
            models.Index(fields=["created_at"], condition=Q(emailed_at__isnull=True, email_skipped_at__isnull=True),
                         name="notif_email_owed_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def subject(self) -> str:
        """In the active language, from the stored key and parameters."""
        return self._words()[0]

    @property
    def body(self) -> str:
        return self._words()[1]

    def _words(self) -> tuple[str, str]:
        """Subject and body, rendered once per language for this row (a page reads both)."""
        asked = (get_language(), self.key, dict(self.params or {}))
        cached = self.__dict__.get("_rendered")
        if cached is None or cached[0] != asked:
            cached = (asked, render(self.key, self.params))
            self.__dict__["_rendered"] = cached
        return cached[1]

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class WeeklyDigest(models.Model):
    """One person's weekly digest of one week: the row is claimed (inserted) before the e-mail is
    sent and removed again if sending fails, so however often or concurrently the job runs, a
    person gets at most one digest a week. ``claim`` names the run that inserted the row."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="weekly_digests",
    )
    week = models.DateField(_("week"), help_text=_("The Monday the week starts on, in the site's time zone."))
    claim = models.CharField(_("claimed by run"), max_length=32, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("weekly digest")
        verbose_name_plural = _("weekly digests")
        constraints = [models.UniqueConstraint(fields=["recipient", "week"], name="weekly_digest_once_a_week")]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.week}"
