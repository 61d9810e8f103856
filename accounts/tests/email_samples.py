"""The account e-mails, built by the real flows and caught in the test outbox, for the screenshot
test (``notifications/tests/email_samples.py`` adds them to ``SAMPLES``): the sign-up
verification, the password reset link and a store invitation. Each ``build(language)`` returns
the e-mail as sent (an ``EmailMultiAlternatives``) to a person who reads ``language``."""
from __future__ import annotations

from allauth.account.forms import ResetPasswordForm
from allauth.account.models import EmailAddress
from allauth.core import context
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import mail
from django.test import RequestFactory, TestCase

from accounts.invitations import store_invitation_create
from accounts.tests.factories import BuyerFactory, SellerFactory
from catalog.tests.factories import StoreFactory


def _request(language: str):
    request = RequestFactory().post("/accounts/", HTTP_ACCEPT_LANGUAGE=language, HTTP_HOST="127.0.0.1:8000")
    SessionMiddleware(lambda r: None).process_request(request)
    request.LANGUAGE_CODE = language
    return request


def _last_email():
    email = mail.outbox[-1]
    mail.outbox.clear()
    return email


def signup_verification(language: str):
    """A new buyer's "confirm your e-mail address" (what sign-up sends)."""
    user = BuyerFactory(username="anna", first_name="Anna", last_name="Petrova", language=language, email="anna@example.com",
                        email_verified=False)
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    address.send_confirmation(_request(language), signup=True)
    return _last_email()


def password_reset(language: str):
    """The "reset your password" link, asked for on the password reset page."""
    BuyerFactory(first_name="Anna", last_name="Petrova", language=language, email="anna@example.com")
    form = ResetPasswordForm(data={"email": "anna@example.com"})
    assert form.is_valid(), form.errors
    request = _request(language)
    with context.request_context(request):  # allauth builds the link from the request being served
        form.save(request)
    return _last_email()


def store_invitation(language: str):
    """A store member's invitation to a colleague, sent once the invitation is committed."""
    store = StoreFactory(name="Nordic Time")
    inviter = SellerFactory(first_name="Lars", last_name="Holm", store=store, language=language)
    with TestCase.captureOnCommitCallbacks(execute=True):
        store_invitation_create(invited_by=inviter, email="maria@nordic-time.example", language=language)
    return _last_email()


SAMPLES = [("signup-verification", signup_verification), ("password-reset", password_reset),
           ("store-invitation", store_invitation)]
