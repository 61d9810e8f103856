"""A store's webhook endpoints and what is sent to them: one delivery per event and endpoint
(its JSON body fixed when the event happened), and a log of every attempt."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

URL_MAX_LENGTH = 500
DESCRIPTION_MAX_LENGTH = 100


class WebhookEndpoint(models.Model):
    """Where a store wants its disputes' events POSTed. The secret signs every body; the
    portal keeps it as it is (it must sign with it) and shows it to the store when it is
    made or rotated."""

    class DisabledReason(models.TextChoices):
        NONE = "", _("Active")
        BY_STORE = "by_store", _("Disabled by the store")
        FAILING = "failing", _("Disabled after repeated failures")

    store = models.ForeignKey("catalog.Store", verbose_name=_("store"), on_delete=models.CASCADE,
                              related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=URL_MAX_LENGTH)
    description = models.CharField(_("description"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    secret_rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=20, choices=DisabledReason.choices,
                                       blank=True, default="")
    # Failed attempts, and deliveries given up, since the last attempt that succeeded.
    consecutive_failures = models.PositiveIntegerField(_("failed attempts in a row"), default=0)
    consecutive_given_up = models.PositiveIntegerField(_("deliveries given up in a row"), default=0)
    last_success_at = models.DateTimeField(_("last delivered"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["store", "disabled_at"], name="webhook_endpoint_store")]

    def __str__(self) -> str:
        return self.url

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class WebhookDelivery(models.Model):
    """One event for one endpoint. ``body`` is the exact JSON sent on every attempt (the
    dispute as it was when the event happened); the signature is made at each attempt."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        FAILED = "failed", _("Failed, will be retried")
        DELIVERED = "delivered", _("Delivered")
        GIVEN_UP = "given_up", _("Given up")

    # Still to be sent (at ``next_attempt_at``).
    OUTSTANDING = (State.PENDING, State.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE,
                                 related_name="deliveries")
    dispute = models.ForeignKey("disputes.Dispute", verbose_name=_("dispute"), on_delete=models.CASCADE,
                                related_name="+")
    event_id = models.UUIDField(_("event"), editable=False)
    event_type = models.CharField(_("event type"), max_length=50)
    body = models.TextField(_("body"), editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # When its task was last queued (cleared by each attempt): the periodic job queues it
    # again only if that task seems lost, so a backlog of retries is not queued every minute.
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    # A store's "redeliver": a new delivery of the same event (same body and event id).
    redelivery_of = models.ForeignKey("self", verbose_name=_("redelivery of"), on_delete=models.CASCADE,
                                      null=True, blank=True, related_name="redeliveries")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("redelivery asked by"),
                                     on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]
        constraints = [
            # An event is recorded once per endpoint, however often its hook runs.
            models.UniqueConstraint(fields=["endpoint", "event_id"], condition=Q(redelivery_of__isnull=True),
                                    name="webhook_delivery_once_per_endpoint"),
            # A second "redeliver" while one is still on its way gets that one (a double click).
            models.UniqueConstraint(fields=["redelivery_of"], condition=Q(state__in=["pending", "failed"]),
                                    name="webhook_one_redelivery_on_its_way"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.get_state_display()})"

    @property
    def is_outstanding(self) -> bool:
        return self.state in self.OUTSTANDING


class WebhookAttempt(models.Model):
    """One POST of a delivery: what the endpoint answered (or why there was no answer) and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("sent"))
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency, ms"))
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
