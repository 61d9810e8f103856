from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage


class DisputeEventInline(admin.TabularInline):
    """The timeline is append-only: shown, never edited."""

    model = DisputeEvent
    extra = 0
    fields = ("created_at", "kind", "actor", "from_state", "to_state", "details")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DisputeMessageInline(admin.TabularInline):
    model = DisputeMessage
    extra = 0
    fields = ("created_at", "author", "body")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DisputeAttachmentInline(admin.TabularInline):
    model = DisputeAttachment
    extra = 0
    fields = ("created_at", "uploaded_by", "link", "content_type", "size")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("file"))
    def link(self, obj: DisputeAttachment) -> str:
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.original_name)


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    """State changes go through services (and admin actions in later releases), never
    through editing fields, so the disputes are read-only here."""

    list_display = ("id", "order_line", "buyer", "store", "kind", "route", "state", "amount", "currency",
                    "deadline_at", "created_at")
    list_filter = ("state", "kind", "route", "resolution", "store")
    list_select_related = ("order_line", "buyer", "store")
    search_fields = ("id", "order_line__order__number", "buyer__username", "buyer__email", "store__name")
    date_hierarchy = "created_at"
    ordering = ("deadline_at",)
    readonly_fields = [f.name for f in Dispute._meta.fields]
    inlines = [DisputeEventInline, DisputeMessageInline, DisputeAttachmentInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DisputeEvent)
class DisputeEventAdmin(admin.ModelAdmin):
    list_display = ("dispute", "kind", "from_state", "to_state", "actor", "created_at")
    list_filter = ("kind", "to_state")
    list_select_related = ("actor",)
    search_fields = ("dispute__id", "actor__username")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
