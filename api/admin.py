from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from returns_portal.admin_site import ReadOnlyAdmin

from .keys import revoke_key
from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Stores' keys and staff tokens (no store: they act as the member of staff who made
    them), read-only for staff: their owners create them; the hash is never shown.
    Staff holding ``api.revoke_apikey`` may revoke keys (a leaked key, a store's request)."""

    list_display = ("name", "store", "acts_as", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("store", "acts_as", "created_by")
    search_fields = ("prefix", "name", "store__name")
    fields = ("store", "acts_as", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at", "revoked_by")
    readonly_fields = fields
    actions = ["revoke_keys"]
    ordering = ("-created_at", "-pk")

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("api.revoke_apikey")

    @admin.action(description=_("Revoke the selected API keys"), permissions=["revoke"])
    def revoke_keys(self, request, queryset) -> None:
        keys = list(queryset.order_by("pk"))
        revoked = sum(revoke_key(key=key, user=request.user) for key in keys)
        already = len(keys) - revoked
        text = ngettext("%(count)d API key revoked", "%(count)d API keys revoked", revoked) % {"count": revoked}
        if already:
            text = ngettext("%(text)s; %(count)d was already revoked.", "%(text)s; %(count)d were already revoked.",
                            already) % {"text": text, "count": already}
        else:
            text += "."
        self.message_user(request, text, messages.SUCCESS)
