from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from .lockout import lockout_message


class LockoutAwareMixin:
    """A refused log-in says so when the account is locked out (axes marks the request while
    authenticating), instead of "wrong password": the right password is refused too."""

    def get_invalid_login_error(self):
        if getattr(self.request, "axes_locked_out", False):
            return ValidationError(lockout_message(self.request), code="locked_out")
        return super().get_invalid_login_error()


class LoginForm(LockoutAwareMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockoutAwareMixin, AdminAuthenticationForm):
    pass
