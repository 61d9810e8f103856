from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Notification


class _SetOrNotFilter(admin.SimpleListFilter):
    field_name = ""

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(**{f"{self.field_name}__isnull": self.value() == "no"})
        return queryset


class ReadFilter(_SetOrNotFilter):
    title = _("read")
    parameter_name = "read"
    field_name = "read_at"


class EmailedFilter(_SetOrNotFilter):
    title = _("e-mailed")
    parameter_name = "emailed"
    field_name = "emailed_at"


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by the portal's services, never typed in."""

    list_display = ("subject", "recipient", "created_at", "read_at", "emailed_at", "email_skipped_at")
    list_filter = (ReadFilter, EmailedFilter)
    list_select_related = ("recipient",)
    search_fields = ("recipient__username", "key")
    date_hierarchy = "created_at"
    fields = ("recipient", "subject", "body", "key", "params", "url", "created_at", "read_at", "emailed_at",
              "email_skipped_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
