"""The login forms: allauth's (the site's log-in and reauthentication) and the admin's, each
saying "locked out" rather than "wrong password" once axes has locked the account (the right
password is refused too then); the profile and the store invitation forms."""
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ReauthenticateForm as AllauthReauthenticateForm
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from returns_portal.countries import Country

from .lockout import lockout_message
from .models import User


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


class ProfileForm(forms.Form):
    """What a person chooses on their profile. The weekly digest is offered to store members
    only; a buyer must have a country (their orders are delivered there), others may leave it."""

    display_name = forms.CharField(
        label=_("Display name"), max_length=User._meta.get_field("display_name").max_length, required=False,
        help_text=_("How the portal names you to sellers, buyers and staff. Empty: your first and last name, "
                    "or your username."))
    country = forms.ChoiceField(
        label=_("Country"),
        help_text=_("The catalog marks the goods you can return locally in this country, and new orders are "
                    "delivered here unless you say otherwise. A dispute keeps following its order's delivery "
                    "country, whatever you choose here."))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES,
                                 help_text=_("The language of the pages, notifications and e-mails you get."))
    email_reminders = forms.BooleanField(
        label=_("Deadline reminders"), required=False,
        help_text=_("A day before a step of your dispute is due."))
    email_messages = forms.BooleanField(
        label=_("Messages"), required=False, help_text=_("When the other side or staff write in a dispute."))
    email_outcomes = forms.BooleanField(
        label=_("Outcomes"), required=False,
        help_text=_("Dispute updates and decisions: instructions sent, goods received, a rejection, an escalation."))
    email_digest = forms.BooleanField(
        label=_("Weekly digest"), required=False,
        help_text=_("Once a week: your store's open disputes and their deadlines."))

    def __init__(self, *args, user: User, **kwargs):
        initial = {"display_name": user.display_name, "country": user.country,
                   "language": user.language or translation.get_language(),
                   "email_reminders": user.email_reminders, "email_messages": user.email_messages,
                   "email_outcomes": user.email_outcomes, "email_digest": user.email_digest}
        super().__init__(*args, initial=initial, **kwargs)
        if user.is_buyer:
            self.fields["country"].choices = [("", _("Choose a country")), *Country.choices]
        else:
            self.fields["country"].choices = [("", _("Not set")), *Country.choices]
            self.fields["country"].required = False
            self.fields["country"].help_text = _(
                "The catalog marks the goods that can be returned locally in this country; not set: the "
                "marketplace's default country. A dispute follows its order's delivery country, whatever you "
                "choose here.")
        if not user.is_seller:
            del self.fields["email_digest"]

    def email_fields(self):
        return [self[name] for name in ("email_reminders", "email_messages", "email_outcomes", "email_digest")
                if name in self.fields]

    def profile_fields(self):
        return [self[name] for name in ("display_name", "country", "language")]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             help_text=_("We send the invitation there; it becomes their login address."))


class InvitationAcceptForm(forms.Form):
    """The new member's account: username, display name, a password typed twice and checked by
    Django's password validators (against the username and the invitation's address too)."""

    username = forms.CharField(label=_("Username"), max_length=User._meta.get_field("username").max_length,
                               help_text=_("You log in with it or with your e-mail address."),
                               widget=forms.TextInput(attrs={"autocomplete": "username"}))
    display_name = forms.CharField(label=_("Display name"), required=False,
                                   max_length=User._meta.get_field("display_name").max_length,
                                   help_text=_("How buyers and staff see you, e.g. “Maria, Store support”."))
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html)
    password2 = forms.CharField(label=_("Password (again)"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, invitation, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean_username(self) -> str:
        from allauth.account.adapter import get_adapter

        username = self.cleaned_data["username"].strip().lower()
        return get_adapter().clean_username(username)

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords are not the same."))
        elif password1:
            candidate = User(username=cleaned.get("username", ""), email=self.invitation.email,
                             display_name=cleaned.get("display_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned
