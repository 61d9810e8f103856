"""Sign-up and password reset are rate-limited (allauth's ACCOUNT_RATE_LIMITS; off in the test
settings, set here with a clean cache): a refused request answers 429 with a readable page,
and creates no account and sends no e-mail."""
import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory

pytestmark = pytest.mark.django_db

SIGNUP = reverse("account_signup")
RESET = reverse("account_reset_password")
TOO_MANY = "You have tried this too many times in a short while. Please wait a little and try again."


@pytest.fixture
def limits(settings):
    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/h/ip", "reset_password": "10/h/ip,2/h/key"}
    yield settings.ACCOUNT_RATE_LIMITS
    cache.clear()


def sign_up(client, n: int):
    return client.post(SIGNUP, {"username": f"newcomer{n}", "email": f"newcomer{n}@example.org",
                                "password1": "violet-harbour-2209", "password2": "violet-harbour-2209"})


def test_sign_up_over_the_limit_is_refused_and_creates_nothing(client, limits):
    accepted = [sign_up(client, n) for n in (1, 2)]
    users, addresses, sent = User.objects.count(), EmailAddress.objects.count(), len(mail.outbox)

    refused = sign_up(client, 3)

    assert [r.status_code for r in accepted] == [302, 302]
    assert (users, addresses, sent) == (2, 2, 2)
    assert refused.status_code == 429
    assert TOO_MANY in refused.content.decode()
    assert not User.objects.filter(username="newcomer3").exists()
    assert (User.objects.count(), EmailAddress.objects.count(), len(mail.outbox)) == (2, 2, 2)


def test_sign_up_from_another_address_is_not_refused(client, limits):
    sign_up(client, 1), sign_up(client, 2)

    other = client.post(SIGNUP, {"username": "elsewhere", "email": "elsewhere@example.org",
                                 "password1": "violet-harbour-2209", "password2": "violet-harbour-2209"},
                        REMOTE_ADDR="203.0.113.9")

    assert other.status_code == 302
    assert User.objects.filter(username="elsewhere").exists()


def test_password_reset_over_the_limit_for_one_address_is_refused_and_sends_nothing(client, limits):
    buyer = BuyerFactory(email="target@example.org")
    accepted = [client.post(RESET, {"email": "target@example.org"}) for _ in range(2)]
    sent = len(mail.outbox)

    refused = client.post(RESET, {"email": "target@example.org"})

    assert [r.status_code for r in accepted] == [302, 302]
    assert sent == 2
    assert refused.status_code == 429
    assert TOO_MANY in refused.content.decode()
    assert len(mail.outbox) == 2
    buyer.refresh_from_db()
    assert buyer.check_password("secret-pass-123")
    # Another address is not refused by that e-mail address's limit.
    assert client.post(RESET, {"email": "someone-else@example.org"}).status_code == 302
    assert len(mail.outbox) == 3
