from allauth.socialaccount import admin as socialaccount_admin  # imported first: it registers allauth's
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
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


# Single sign-on (accounts.sso). The identity provider is configured from the environment only, so
# allauth's provider applications (client secrets) are not in the admin, nor tokens (none are kept:
# SOCIALACCOUNT_STORE_TOKENS is off). Which person signed in with which provider account is shown
# read-only to staff who may view users: unlinking is not a support action here (the person's only
# way in may be that link; an account without a password cannot be reached otherwise).

for _model in (SocialApp, SocialToken, SocialAccount):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(SocialAccount)
class SocialAccountAdmin(socialaccount_admin.SocialAccountAdmin):
    list_display = ("user", "provider", "uid", "date_joined", "last_login")
    list_select_related = ("user",)
    readonly_fields = ("user", "provider", "uid", "date_joined", "last_login", "extra_data")
    raw_id_fields = ()

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("accounts.view_user") or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
