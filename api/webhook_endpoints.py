"""The JSON API's read endpoints for the store's webhooks: its endpoints (never their secrets)
and each one's delivery log with every attempt. Scoped by the key's store (``store_id``)
through ``webhooks.selectors``; another store's endpoint is a 404."""
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from webhooks import selectors
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .endpoints import ERROR, THROTTLED
from .pagination import DisputeCursorPagination
from .serializers import UtcDateTime


class WebhookEndpointSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active")
    created_at = UtcDateTime()
    disabled_at = UtcDateTime(allow_null=True)
    secret_rotated_at = UtcDateTime(allow_null=True)
    last_success_at = UtcDateTime(allow_null=True)
    last_failure_at = UtcDateTime(allow_null=True)
    disabled_reason = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "active", "disabled_reason", "disabled_at", "created_at",
                  "secret_rotated_at", "consecutive_failures", "last_success_at", "last_failure_at"]

    def get_disabled_reason(self, endpoint: WebhookEndpoint) -> str | None:
        return endpoint.disabled_reason or None


class WebhookAttemptSerializer(serializers.ModelSerializer):
    started_at = UtcDateTime()

    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "status_code", "latency_ms", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    dispute = serializers.IntegerField(source="dispute_id")
    created_at = UtcDateTime()
    next_attempt_at = UtcDateTime(allow_null=True)
    delivered_at = UtcDateTime(allow_null=True)
    redelivery_of = serializers.UUIDField(source="redelivery_of_id", allow_null=True)
    attempt_log = WebhookAttemptSerializer(many=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event_type", "dispute", "state", "created_at", "attempts", "next_attempt_at",
                  "delivered_at", "last_status_code", "redelivery_of", "attempt_log"]


class DeliveryCursorPagination(DisputeCursorPagination):
    """Newest first, by (created_at, id)."""

    ordering = ("-created_at", "-id")


NOT_FOUND = OpenApiResponse(ERROR, "Not one of the store's webhook endpoints.")


class WebhookEndpointList(GenericAPIView):
    serializer_class = WebhookEndpointSerializer
    pagination_class = None

    @extend_schema(operation_id="webhook_endpoints_list", summary="The store's webhook endpoints",
                   description="Active first, newest first. Secrets are shown only in the seller pages.",
                   responses={200: WebhookEndpointSerializer(many=True), 401: ERROR, **THROTTLED})
    def get(self, request):
        endpoints = selectors.endpoints_for_store(request.user.store_id)
        return Response(self.get_serializer(endpoints, many=True).data)


def _endpoint(request, pk: int) -> WebhookEndpoint:
    try:
        return selectors.endpoint_for_store(request.user.store_id, pk)
    except WebhookEndpoint.DoesNotExist:
        raise Http404 from None


class WebhookEndpointDetail(GenericAPIView):
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.none()  # for the schema; reads go through the selectors

    @extend_schema(operation_id="webhook_endpoints_retrieve", summary="One of the store's webhook endpoints",
                   responses={200: WebhookEndpointSerializer, 401: ERROR, 404: NOT_FOUND, **THROTTLED})
    def get(self, request, pk: int):
        return Response(self.get_serializer(_endpoint(request, pk)).data)


class WebhookDeliveryList(GenericAPIView):
    serializer_class = WebhookDeliverySerializer
    pagination_class = DeliveryCursorPagination
    queryset = WebhookDelivery.objects.none()

    @extend_schema(operation_id="webhook_deliveries_list", summary="An endpoint's delivery log, with every attempt",
                   description="Cursor-paginated, newest first (created_at, then id).",
                   responses={200: WebhookDeliverySerializer(many=True), 400: ERROR, 401: ERROR, 404: NOT_FOUND,
                              **THROTTLED})
    def get(self, request, pk: int):
        page = self.paginate_queryset(selectors.deliveries_for_endpoint(_endpoint(request, pk)))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
