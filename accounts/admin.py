from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin  # registers it: replaced below
from allauth.account.models import EmailAddress
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

from returns_portal.admin_site import ReadOnlyAdmin

from .models import User
from .services import user_email_set_by_staff

EMAIL_CHOICES = ("email_reminders", "email_messages", "email_outcomes", "email_digest")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "first_name", "last_name", "country", "store", "is_staff",
                    "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "country", "store", "groups")
    list_select_related = ("store",)
    search_fields = ("username", "display_name", "email", "first_name", "last_name", "store__name")
    autocomplete_fields = ("store",)
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("Marketplace"), {"fields": ("display_name", "country", "store", "language")}),
        (_("E-mails"), {"fields": EMAIL_CHOICES}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        (_("Marketplace"), {"fields": ("email", "display_name", "country", "store", "language")}),
    )

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change or "email" in form.changed_data:
            # Staff type the address of a person they create (it logs in without a verification
            # e-mail), or the one a person asked support to move their account to: the old address
            # stops being theirs (no password reset to it any more).
            user_email_set_by_staff(user=obj)


# allauth's e-mail addresses, with who may do what (accounts/migrations/0008): support agents and
# supervisors see addresses and whether they are verified (a buyer whose confirmation e-mail does
# not arrive); only a supervisor marks one verified. Adding and deleting: superusers only.
admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class EmailAddressAdmin(AllauthEmailAddressAdmin):
    list_select_related = ("user",)

    @admin.action(description=_("Mark the selected addresses verified"), permissions=["change"])
    def make_verified(self, request, queryset) -> None:
        super().make_verified(request, queryset)


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
class SocialAccountAdmin(ReadOnlyAdmin, socialaccount_admin.SocialAccountAdmin):
    list_display = ("user", "provider", "uid", "date_joined", "last_login")
    list_select_related = ("user",)
    readonly_fields = ("user", "provider", "uid", "date_joined", "last_login", "extra_data")
    raw_id_fields = ()

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("accounts.view_user") or super().has_view_permission(request, obj)
