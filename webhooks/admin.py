from django.contrib import admin

from returns_portal.admin_site import ReadOnlyAdmin

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Stores' endpoints, read-only for staff (stores keep them; the secret is never shown)."""

    list_display = ("url", "store", "created_at", "disabled_at", "disabled_reason", "consecutive_failures",
                    "last_success_at", "last_failure_at")
    list_filter = (("disabled_at", admin.EmptyFieldListFilter), "disabled_reason")
    list_select_related = ("store",)
    search_fields = ("url", "store__name")
    fields = ("store", "url", "description", "created_by", "created_at", "secret_rotated_at", "disabled_at",
              "disabled_reason", "consecutive_failures", "consecutive_given_up", "last_success_at", "last_failure_at")
    readonly_fields = fields
    ordering = ("-created_at", "-pk")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("number", "started_at", "status_code", "latency_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event_type", "endpoint", "dispute_id", "state", "attempts", "last_status_code", "created_at",
                    "next_attempt_at", "delivered_at")
    list_filter = ("state", "event_type", "created_at")
    list_select_related = ("endpoint",)
    search_fields = ("=id", "=event_id", "endpoint__url", "=dispute__id")
    fields = ("id", "endpoint", "dispute", "event_id", "event_type", "state", "attempts", "next_attempt_at",
              "delivered_at", "last_status_code", "redelivery_of", "requested_by", "created_at", "body")
    readonly_fields = fields
    raw_id_fields = ("dispute", "redelivery_of")
    inlines = [WebhookAttemptInline]
    ordering = ("-created_at",)
    show_full_result_count = False
