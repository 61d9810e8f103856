"""Each reader's language: switched from every page, remembered on a signed-in user (their
pages follow it whatever the browser says), in a cookie for visitors; bad input is a 400."""
import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory

pytestmark = pytest.mark.django_db

SWITCH = reverse("accounts:language_set")
CATALOG = reverse("catalog:product_list")


def html_lang(response) -> str:
    content = response.content.decode()
    start = content.index('<html lang="') + len('<html lang="')
    return content[start:content.index('"', start)]


def test_every_page_offers_the_languages_in_their_own_names(client):
    content = client.get(CATALOG).content.decode()

    assert f'action="{SWITCH}"' in content
    assert '<option value="en" lang="en" selected>English</option>' in content
    assert '<option value="ru" lang="ru">Русский</option>' in content


def test_a_signed_in_buyer_keeps_their_language_whatever_the_browser_says(client):
    buyer = BuyerFactory()
    client.force_login(buyer)

    response = client.post(SWITCH, {"language": "ru", "next": "/orders/"})

    assert (response.status_code, response["Location"]) == (302, "/orders/")
    assert User.objects.get(pk=buyer.pk).language == "ru"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    # A new session, a browser asking for English: the user's choice wins.
    client.cookies.clear()
    client.force_login(buyer)
    page = client.get(CATALOG, HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(page) == "ru"
    assert page["Content-Language"] == "ru"


def test_a_visitor_s_choice_is_kept_in_a_cookie(client):
    response = client.post(SWITCH, {"language": "ru", "next": CATALOG})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    assert html_lang(client.get(CATALOG, HTTP_ACCEPT_LANGUAGE="en")) == "ru"


@pytest.mark.parametrize("language", ["", "de", "ru-RU'; drop", "x" * 500])
def test_a_language_the_portal_does_not_speak_is_refused_and_changes_nothing(client, language):
    buyer = BuyerFactory(language="en")
    client.force_login(buyer)

    response = client.post(SWITCH, {"language": language, "next": CATALOG})

    assert response.status_code == 400
    assert "Please choose a language from the list." in response.content.decode()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert User.objects.get(pk=buyer.pk).language == "en"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switch_only_returns_to_this_site(client, next_url):
    response = client.post(SWITCH, {"language": "en", "next": next_url})

    assert (response.status_code, response["Location"]) == (302, CATALOG)


def test_switching_needs_a_post(client):
    assert client.get(SWITCH).status_code == 405
