"""Reads of a store's webhooks, scoped to the store asking (its members, or its API key:
only ``store_id`` is read). Another store's endpoint or delivery is ``DoesNotExist``."""
from django.db.models import Prefetch, QuerySet

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints_for_store(store_id: int) -> QuerySet[WebhookEndpoint]:
    """Active first, newest first."""
    return WebhookEndpoint.objects.filter(store_id=store_id).order_by("disabled_at", "-created_at", "-pk")


def endpoint_for_store(store_id: int, pk) -> WebhookEndpoint:
    return WebhookEndpoint.objects.get(store_id=store_id, pk=pk)


def deliveries_for_endpoint(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first, each with its attempts (two queries a page)."""
    return (WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-pk")
            .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))))


def delivery_for_store(store_id: int, pk) -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("endpoint").get(endpoint__store_id=store_id, pk=pk)
