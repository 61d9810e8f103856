"""A store's webhook endpoints (made, rotated, disabled, enabled, deleted by its members) and
the sending of deliveries: one attempt per due time, back-off, giving up, and disabling an
endpoint that keeps failing (its store is told)."""
from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from catalog.models import Store
from notifications.services import Draft, notify_many
from returns_portal.errors import DomainError, ErrorCode

from . import signing, transport
from .models import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .outbox import enqueue_deliveries

D = WebhookDelivery.State
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


# --- endpoints ------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """An endpoint's URL, refused (``DomainError``) unless it is an https URL on a public
    host, without a user name or password. Plain http is allowed only to this machine
    (localhost, 127.0.0.1, ::1) and only where ``WEBHOOK_ALLOW_HTTP`` is on (development, tests)."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise DomainError(ErrorCode.INVALID_URL, _("Enter a full URL, such as https://example.com/returns/webhook.")) from None
    if len(url) > URL_MAX_LENGTH:
        raise DomainError(ErrorCode.INVALID_URL,
                          _("A URL has at most %(count)d characters.") % {"count": URL_MAX_LENGTH})
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise DomainError(ErrorCode.INVALID_URL, _("Leave the user name and password out of the URL."))
    local = host in LOCAL_HOSTS
    if parts.scheme == "http" and not (local and settings.WEBHOOK_ALLOW_HTTP):
        raise DomainError(ErrorCode.INVALID_URL, _("The URL must start with https://: events are sent encrypted."))
    if local and not settings.WEBHOOK_ALLOW_HTTP:
        raise DomainError(ErrorCode.INVALID_URL, _("Events cannot be sent to this address: use your system's public address."))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and not local and not address.is_global:
        raise DomainError(ErrorCode.INVALID_URL, _("Events cannot be sent to this address: use your system's public address."))
    return url


def _check_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise DomainError(ErrorCode.INVALID_NAME, _("A description has at most %(count)d characters.")
                          % {"count": DESCRIPTION_MAX_LENGTH})
    return description


@sensitive_variables("secret")
def endpoint_create(*, store, user: User | None, url: str, description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new active endpoint for ``store``; returns it with its signing secret. Refused
    (``DomainError``) for a URL ``check_url`` refuses, a description over 100 characters,
    and when the store already has ``WEBHOOK_MAX_ENDPOINTS`` endpoints."""
    url = check_url(url)
    description = _check_description(description)
    secret = signing.new_secret()
    with transaction.atomic():
        # Counted under the store's lock, so two forms at once cannot pass the limit together.
        Store.objects.select_for_update().filter(pk=store.pk).first()
        if WebhookEndpoint.objects.filter(store=store).count() >= settings.WEBHOOK_MAX_ENDPOINTS:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("A store has at most %(count)d webhook endpoints.")
                              % {"count": settings.WEBHOOK_MAX_ENDPOINTS})
        endpoint = WebhookEndpoint.objects.create(store=store, url=url, description=description, secret=secret,
                                                  created_by=user)
    return endpoint, secret


@sensitive_variables("secret")
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, user: User | None) -> str:
    """A new signing secret, used from the next attempt on (the old one stops at once)."""
    secret = signing.new_secret()
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=secret, secret_rotated_at=now)
    endpoint.secret, endpoint.secret_rotated_at = secret, now
    return secret


def endpoint_disable(*, endpoint: WebhookEndpoint, user: User | None) -> bool:
    """Stop sending to it: nothing is attempted and new events are not recorded for it until
    it is enabled again. False if it was already disabled."""
    now = timezone.now()
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=WebhookEndpoint.DisabledReason.BY_STORE)
    if changed:
        endpoint.disabled_at, endpoint.disabled_reason = now, WebhookEndpoint.DisabledReason.BY_STORE
    return bool(changed)


def endpoint_enable(*, endpoint: WebhookEndpoint, user: User | None) -> bool:
    """Send to it again, failures forgotten: deliveries it still owes go out at the next
    periodic run. False if it was already active."""
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=False).update(
        disabled_at=None, disabled_reason="", consecutive_failures=0, consecutive_given_up=0)
    if changed:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
        endpoint.consecutive_failures = endpoint.consecutive_given_up = 0
    return bool(changed)


def endpoint_delete(*, endpoint: WebhookEndpoint, user: User | None) -> None:
    """Delete it with its delivery log."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


# --- deliveries -----------------------------------------------------------------------------------


def backoff_delay(failed_attempts: int) -> timedelta:
    """How long after its ``failed_attempts``-th failed attempt a delivery is tried again:
    ``WEBHOOK_RETRY_BASE_SECONDS`` (1 minute), doubling each time, at most
    ``WEBHOOK_RETRY_MAX_SECONDS`` (24 hours)."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(failed_attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def _lease() -> timedelta:
    # Longer than any attempt takes: a worker that died mid-attempt leaves the delivery due
    # again after it, and nobody else attempts it meanwhile.
    return timedelta(seconds=3 * settings.WEBHOOK_TIMEOUT_SECONDS + 60)


def delivery_attempt(*, delivery_id) -> WebhookAttempt | None:
    """Send a due delivery once: claim it with a conditional UPDATE (due, not claimed by
    another worker, the attempt count it was read with), POST it outside any transaction,
    then log the attempt and schedule what follows: delivered; tried again after
    ``backoff_delay``; or given up after ``WEBHOOK_MAX_ATTEMPTS``. An endpoint that has given
    up ``WEBHOOK_DISABLE_AFTER_GIVEN_UP`` deliveries in a row is disabled and its store told.
    Returns the attempt logged, or None when there was nothing to do (not due, already sent,
    claimed by another worker, its endpoint disabled): running it twice makes one attempt."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if (delivery is None or not delivery.is_outstanding or not delivery.endpoint.is_active
            or delivery.next_attempt_at is None or delivery.next_attempt_at > now):
        return None
    number = delivery.attempts + 1
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, state__in=WebhookDelivery.OUTSTANDING, attempts=delivery.attempts,
        next_attempt_at__lte=now).update(attempts=number, next_attempt_at=now + _lease())
    if not claimed:
        return None
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    timestamp = int(timezone.now().timestamp())
    answer = transport.post(endpoint.url, body=body, timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                            headers=signing.headers(secret=endpoint.secret, timestamp=timestamp, body=body,
                                                    event_type=delivery.event_type, delivery_id=str(delivery.pk)))
    return _log_attempt(delivery, number, answer, started=now)


def _log_attempt(delivery: WebhookDelivery, number: int, answer: transport.Answer, *,
                 started: datetime) -> WebhookAttempt | None:
    finished = timezone.now()
    endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    with transaction.atomic():
        # Still ours? The store may have deleted the endpoint meanwhile (its deliveries go
        # with it), or the lease ran out and another worker claimed the next attempt.
        if not WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk, attempts=number).exists():
            return None
        attempt = WebhookAttempt.objects.create(delivery=delivery, number=number, started_at=started,
                                                status_code=answer.status_code, latency_ms=answer.latency_ms,
                                                error="" if answer.succeeded else answer.error)
        mine = WebhookDelivery.objects.filter(pk=delivery.pk, attempts=number)
        if answer.succeeded:
            mine.update(state=D.DELIVERED, delivered_at=finished, next_attempt_at=None, queued_at=None,
                        last_status_code=answer.status_code)
            endpoints.update(consecutive_failures=0, consecutive_given_up=0, last_success_at=finished)
            return attempt
        given_up = number >= settings.WEBHOOK_MAX_ATTEMPTS
        if given_up:
            mine.update(state=D.GIVEN_UP, next_attempt_at=None, queued_at=None, last_status_code=answer.status_code)
        else:
            mine.update(state=D.FAILED, next_attempt_at=finished + backoff_delay(number), queued_at=None,
                        last_status_code=answer.status_code)
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1,
                         consecutive_given_up=F("consecutive_given_up") + int(given_up), last_failure_at=finished)
        if given_up:
            _disable_if_failing(delivery.endpoint_id, finished)
    return attempt


def _disable_if_failing(endpoint_id: int, now: datetime) -> None:
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, disabled_at__isnull=True,
        consecutive_given_up__gte=settings.WEBHOOK_DISABLE_AFTER_GIVEN_UP,
    ).update(disabled_at=now, disabled_reason=WebhookEndpoint.DisabledReason.FAILING)
    if not disabled:
        return
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    members = User.objects.filter(store_id=endpoint.store_id, is_active=True).order_by("pk").values_list("pk", flat=True)
    url = reverse("webhooks:endpoint_detail", args=[endpoint.pk])
    notify_many([Draft(pk, "webhooks.endpoint_disabled",
                       {"url": endpoint.url, "count": endpoint.consecutive_given_up, "date": now.isoformat()}, url)
                 for pk in members])


def deliveries_due(*, limit: int | None = None) -> list:
    """Claim for queueing the deliveries to active endpoints whose next attempt is due, the
    longest waiting first: retries, and deliveries whose task was never queued (broker down)
    or was lost (queued longer ago than an attempt can last). Marks them queued now."""
    now = timezone.now()
    due = list(WebhookDelivery.objects.filter(
        Q(queued_at__isnull=True) | Q(queued_at__lt=now - _lease()),
        state__in=WebhookDelivery.OUTSTANDING, next_attempt_at__lte=now, endpoint__disabled_at__isnull=True,
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:limit or settings.WEBHOOK_SWEEP_BATCH])
    WebhookDelivery.objects.filter(pk__in=due).update(queued_at=now)
    return due


def delivery_redeliver(*, delivery: WebhookDelivery, user: User | None) -> tuple[WebhookDelivery, bool]:
    """Send this delivery's event again now, as a new delivery (the same body and event id,
    a new delivery id, the usual retries). While one redelivery of it is still on its way,
    asking again returns that one (``created`` False): a double submit sends once. Refused
    (``DomainError``) while the endpoint is disabled."""
    original_id = delivery.redelivery_of_id or delivery.pk
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if not endpoint.is_active:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("This endpoint is disabled: enable it to send events again."))
        waiting = WebhookDelivery.objects.filter(redelivery_of_id=original_id,
                                                 state__in=WebhookDelivery.OUTSTANDING).first()
        if waiting is not None:
            return waiting, False
        original = WebhookDelivery.objects.get(pk=original_id)
        now = timezone.now()
        try:
            with transaction.atomic():
                again = WebhookDelivery.objects.create(
                    endpoint=endpoint, dispute_id=original.dispute_id, event_id=original.event_id,
                    event_type=original.event_type, body=original.body, created_at=now, next_attempt_at=now,
                    queued_at=now, redelivery_of=original, requested_by=user)
        except IntegrityError:  # another request made it meanwhile
            return WebhookDelivery.objects.get(redelivery_of_id=original_id,
                                               state__in=WebhookDelivery.OUTSTANDING), False
        enqueue_deliveries([again.pk])
    return again, True
