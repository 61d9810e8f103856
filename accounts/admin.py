from axes.admin import AccessAttemptAdmin
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "country", "store", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "country", "store", "groups")
    list_select_related = ("store",)
    search_fields = ("username", "email", "first_name", "last_name", "store__name")
    autocomplete_fields = ("store",)
    fieldsets = BaseUserAdmin.fieldsets + ((_("Marketplace"), {"fields": ("country", "store", "language")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + ((_("Marketplace"), {"fields": ("country", "store")}),)


class LoginLockoutAdmin(AccessAttemptAdmin):
    """Failed log-ins per account and address (django-axes). Staff with the view permission
    see who is locked out; unlocking (deleting the count) needs the delete permission,
    which supervisors have."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time", "lockout", "path_info")
    list_filter = ("attempt_time", "path_info")
    actions = ["unlock"]

    @admin.display(description=_("Lockout"))
    def lockout(self, obj: AccessAttempt) -> str:
        ends = obj.attempt_time + get_cool_off()
        if obj.failures_since_start >= settings.AXES_FAILURE_LIMIT and ends > timezone.now():
            return _("Locked out until %(time)s") % {
                "time": formats.date_format(timezone.localtime(ends), "DATETIME_FORMAT")}
        return _("Not locked out")

    @admin.action(description=_("Unlock the selected accounts"), permissions=["delete"])
    def unlock(self, request, queryset) -> None:
        count, _deleted = queryset.delete()
        self.message_user(request, ngettext("Unlocked %(count)d account.", "Unlocked %(count)d accounts.",
                                            count) % {"count": count}, messages.SUCCESS)


admin.site.register(AccessAttempt, LoginLockoutAdmin)
