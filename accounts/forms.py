"""The login forms: allauth's (the site's log-in and reauthentication) and the admin's, each
saying "locked out" rather than "wrong password" once axes has locked the account (the right
password is refused too then)."""
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ReauthenticateForm as AllauthReauthenticateForm
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .lockout import lockout_message


def locked_out(request) -> bool:
    # Axes marks the request while authenticating when the account is locked out.
    return bool(getattr(request, "axes_locked_out", False))


class LoginForm(AllauthLoginForm):
    """ACCOUNT_FORMS["login"]: by username or e-mail address."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # allauth's label is "Login", which Russian reads as the verb ("Войти").
        label = _("Username or e-mail address")
        self.fields["login"].label = label
        self.fields["login"].widget.attrs["placeholder"] = label

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if locked_out(self.request):
                raise ValidationError(lockout_message(self.request), code="locked_out") from None
            raise


class ReauthenticateForm(AllauthReauthenticateForm):
    """ACCOUNT_FORMS["reauthenticate"]: the password again before a sensitive change."""

    def clean_password(self) -> str:
        from allauth.core import context

        try:
            return super().clean_password()
        except ValidationError:
            if locked_out(context.request):
                raise ValidationError(lockout_message(context.request), code="locked_out") from None
            raise


class AdminLoginForm(AdminAuthenticationForm):
    def get_invalid_login_error(self):
        if locked_out(self.request):
            return ValidationError(lockout_message(self.request), code="locked_out")
        return super().get_invalid_login_error()
