"""How django-allauth fits the portal: what a new account starts with, where people land.

A buyer who signs up starts in the country and language they were browsing in (the "Deliver
to" choice and the page language); they change both on their profile. Accounts signed up
this way are buyers: store members come only by a store's invitation, staff only by the admin.
"""
from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.utils import translation

from catalog.selectors import viewer_country


def starting_country(request) -> str:
    return viewer_country(request) if request is not None else ""


def starting_language(request) -> str:
    language = translation.get_language_from_request(request) if request is not None else ""
    return language if language in dict(settings.LANGUAGES) else ""


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

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.country = user.country or starting_country(request)
        user.language = user.language or starting_language(request)
        user.store = None
        user.is_staff = user.is_superuser = False
        if commit:
            user.save()
        return user
