"""How django-allauth fits the portal: what a new account starts with, where people land.

A buyer who signs up starts in the country and language they were browsing in (the "Deliver
to" choice and the page language); they change both on their profile. Accounts signed up
this way are buyers: store members come only by a store's invitation, staff only by the admin.
"""
from allauth.account.adapter import DefaultAccountAdapter
from allauth.utils import build_absolute_uri
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from catalog.selectors import viewer_country
from returns_portal.mail import build_email, site_link

from .lockout import client_ip_address
from .selectors import address_holders


def starting_country(request) -> str:
    return viewer_country(request) if request is not None else ""


def starting_language(request) -> str:
    language = translation.get_language_from_request(request) if request is not None else ""
    return language if language in dict(settings.LANGUAGES) else ""


def account_email_language(address: str, user=None) -> str:
    """The language of an account e-mail to ``address``: its account's language when it has
    one (an address belongs to one account), else the language of the page the request came
    from (a sign-up for an address nobody holds, a reset asked for an unknown address)."""
    if user is None:
        user = address_holders(address).first()
    language = getattr(user, "language", "") or translation.get_language() or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


# Each account e-mail's one button (templates/email/base.html): the link it is about, or for a
# security notice, where to act if the change was not the reader's.
EMAIL_BUTTONS = {
    "account/email/email_confirmation_signup": ("activate_url", _("Confirm my address")),
    "account/email/email_confirmation": ("activate_url", _("Confirm my address")),
    "account/email/password_reset_key": ("password_reset_url", _("Choose a new password")),
    "account/email/account_already_exists": ("password_reset_url", _("Reset my password")),
    "account/email/unknown_account": ("signup_url", _("Create an account")),
}
NOTICE_BUTTON = ("account_reset_password", _("Reset my password"))
NOTICES = {"account/email/password_changed", "account/email/password_set", "account/email/password_reset",
           "account/email/email_changed", "account/email/email_confirm", "account/email/email_deleted",
           "socialaccount/email/account_connected", "socialaccount/email/account_disconnected"}


class AccountAdapter(DefaultAccountAdapter):
    # The header names who is signed in: no "Successfully signed in as ..." line above the
    # page a person came to log in for (nor one for logging out).
    SILENT_MESSAGES = {"account/messages/logged_in.txt", "account/messages/logged_out.txt"}

    def add_message(self, request, level, message_template=None, message_context=None, extra_tags="",
                    message=None):
        if message_template in self.SILENT_MESSAGES:
            return
        super().add_message(request, level, message_template=message_template,
                            message_context=message_context, extra_tags=extra_tags, message=message)

    def get_client_ip(self, request) -> str:
        """The client's address by the site's one rule (NUM_PROXIES, as the lockout and the API's
        throttling): behind the proxy, allauth's limits per address must not count every visitor
        as the proxy."""
        return client_ip_address(request) or super().get_client_ip(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's e-mails through the portal's sender (returns_portal.mail): text and HTML
        from ``<prefix>_message.txt`` / ``.html`` (the HTML in the e-mail layout), in the
        reader's language, with one button."""
        language = account_email_language(email, context.get("user"))
        # LANGUAGE_CODE: the layout's <html lang> falls back to it (no request context here).
        context = {"email": email, "expire_days": settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS,
                   "LANGUAGE_CODE": language, **context}
        if template_prefix in EMAIL_BUTTONS:
            key, label = EMAIL_BUTTONS[template_prefix]
            context.update(button_url=context.get(key), button_label=label)
        elif template_prefix in NOTICES:
            path = reverse(NOTICE_BUTTON[0])
            # An absolute link as allauth makes its own (the request's host), else the site's address.
            url = build_absolute_uri(self.request, path) if self.request is not None else site_link(path)
            context.update(button_url=url, button_label=NOTICE_BUTTON[1])
        with translation.override(language):
            context["button_label"] = str(context.get("button_label") or "")
            subject = render_to_string(f"{template_prefix}_subject.txt", context)
        message = build_email(to=[email], subject=self.format_email_subject(subject),
                              template=f"{template_prefix}_message", context=context, language=language)
        message.from_email = self.get_from_email()
        message.send(fail_silently=False)

    def send_notification_mail(self, template_prefix, user, context=None, email=None) -> None:
        # The account's language and name, also when the notice goes to an address the
        # account no longer has (the old one, after a change).
        super().send_notification_mail(template_prefix, user, {"user": user, **(context or {})}, email)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.country = user.country or starting_country(request)
        user.language = user.language or starting_language(request)
        user.store = None
        user.is_staff = user.is_superuser = False
        if commit:
            user.save()
        return user
