"""The profile page (/accounts/profile/): each signed-in person keeps their display name, country,
language and e-mail choices there; the catalog and the pages follow what they save; refused input
is a 422 with the form's errors and changes nothing."""
import re

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import User
from accounts.services import user_profile_update
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.tests.factories import ProductFactory, WarehouseFactory
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")
CATALOG = reverse("catalog:product_list")
EMAIL_FIELDS = ("email_reminders", "email_messages", "email_outcomes", "email_digest")


def form_of(user: User, **changes) -> dict:
    """The profile form as the page sends it for ``user``, with ``changes`` (a False checkbox
    is left out, as a browser does)."""
    data = {"display_name": user.display_name, "country": user.country, "language": user.language or "en",
            **{name: getattr(user, name) for name in EMAIL_FIELDS}, **changes}
    return {name: ("on" if value is True else value) for name, value in data.items() if value is not False}


def stored(user: User) -> dict:
    fields = ("display_name", "country", "language", *EMAIL_FIELDS)
    return User.objects.filter(pk=user.pk).values(*fields).get()


@pytest.mark.parametrize("factory", [BuyerFactory, SellerFactory, StaffFactory])
def test_every_signed_in_person_has_a_profile_page_with_links_to_password_and_address(client, factory):
    person = factory()
    client.force_login(person)

    response = client.get(PROFILE)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{reverse("account_change_password")}"' in html
    assert f'href="{reverse("account_email")}"' in html
    assert "E-mails about money — a refund decided or paid — are always sent." in html
    assert re.search(r"A dispute (keeps following|follows) its order's delivery country, whatever you choose here.",
                     html)
    # The header names the person, linking to this page.
    assert f'<a href="{PROFILE}" title="Your profile">{person.get_full_name()}</a>' in html


def test_a_visitor_is_sent_to_log_in(client):
    response = client.get(PROFILE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_weekly_digest_is_offered_to_store_members_only(client):
    client.force_login(BuyerFactory())
    assert 'name="email_digest"' not in client.get(PROFILE).content.decode()
    client.force_login(SellerFactory())
    assert 'name="email_digest"' in client.get(PROFILE).content.decode()


def test_saving_the_display_name(client):
    buyer = BuyerFactory(display_name="")
    client.force_login(buyer)

    response = client.post(PROFILE, form_of(buyer, display_name="  Anna   K. "))

    assert (response.status_code, response["Location"]) == (302, PROFILE)
    assert stored(buyer)["display_name"] == "Anna K."
    page = client.get(PROFILE).content.decode()
    assert "Your profile is saved." in page
    assert f'<a href="{PROFILE}" title="Your profile">Anna K.</a>' in page


@pytest.mark.parametrize("name", EMAIL_FIELDS)
def test_saving_each_e_mail_choice_off_then_on_changes_that_one_only(client, name):
    seller = SellerFactory(language="en")
    client.force_login(seller)
    before = stored(seller)

    client.post(PROFILE, form_of(seller, **{name: False}))

    assert stored(seller) == {**before, name: False}
    client.post(PROFILE, form_of(seller, **{name: True}))
    assert stored(seller) == before


def test_a_buyer_s_saved_country_is_the_catalog_s(client):
    """Local return in Russia only: the same product is marked for a buyer in Russia, not once
    they say they live in Ukraine."""
    WarehouseFactory(country="RU", store=None, accepts_returns=True)
    product = ProductFactory(local_return=True, title="Kettle")
    buyer = BuyerFactory(country="RU")
    client.force_login(buyer)
    assert client.get(reverse("catalog:product_detail", args=[product.pk])).context["availability"].passed

    response = client.post(PROFILE, form_of(buyer, country="UA"))

    assert response.status_code == 302
    assert stored(buyer)["country"] == "UA"
    page = client.get(reverse("catalog:product_detail", args=[product.pk]))
    assert page.context["availability"].passed is False
    assert page.context["country_name"] == "Ukraine"
    assert client.get(CATALOG).context["viewer_country"] == "UA"


def test_saving_the_language_switches_the_pages_and_the_cookie(client):
    buyer = BuyerFactory(language="en")
    client.force_login(buyer)

    response = client.post(PROFILE, form_of(buyer, language="ru"), HTTP_ACCEPT_LANGUAGE="en")

    assert stored(buyer)["language"] == "ru"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    page = client.get(PROFILE, HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "ru"
    html = page.content.decode()
    assert "Ваш профиль" in html and "Профиль сохранён." in html
    # And back: the same choice as the header's switch.
    client.post(PROFILE, form_of(User.objects.get(pk=buyer.pk), language="en"))
    assert client.get(CATALOG)["Content-Language"] == "en"


def test_a_seller_and_staff_may_leave_the_country_empty_a_buyer_may_not(client):
    seller = SellerFactory(country="")
    client.force_login(seller)
    assert client.post(PROFILE, form_of(seller, display_name="Maria")).status_code == 302
    assert stored(seller)["display_name"] == "Maria"

    buyer = BuyerFactory(country="RU", display_name="Anna")
    client.force_login(buyer)
    before = stored(buyer)
    response = client.post(PROFILE, form_of(buyer, country="", display_name="Changed"))
    assert response.status_code == 422
    assert stored(buyer) == before


@pytest.mark.parametrize("changes", [
    {"country": "XX"},
    {"country": "RU'; drop"},
    {"language": "de"},
    {"language": ""},
    {"display_name": "x" * 151},
], ids=["unknown-country", "garbage-country", "unknown-language", "no-language", "long-name"])
def test_refused_input_is_a_422_with_the_error_and_changes_nothing(client, changes):
    buyer = BuyerFactory(country="RU", language="en", display_name="Anna", email_messages=True)
    client.force_login(buyer)
    before = stored(buyer)

    response = client.post(PROFILE, {**form_of(buyer, email_messages=False, display_name="Other"), **changes})

    assert response.status_code == 422
    assert response.context["form"].errors
    assert 'class="field-error"' in response.content.decode()
    assert stored(buyer) == before
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_an_empty_post_is_refused_and_changes_nothing(client):
    staff = StaffFactory(language="ru")
    client.force_login(staff)
    before = stored(staff)

    assert client.post(PROFILE, {}).status_code == 422
    assert stored(staff) == before


def test_a_buyer_cannot_set_the_digest_through_the_service():
    buyer = BuyerFactory(email_digest=True)

    with pytest.raises(DomainError) as refused:
        user_profile_update(user=buyer, display_name="", country="RU", language="en", email_reminders=True,
                            email_messages=True, email_outcomes=True, email_digest=False)

    assert refused.value.code == ErrorCode.NOT_ALLOWED
    assert stored(buyer)["email_digest"] is True


def test_the_service_returns_what_changed_and_writes_nothing_else():
    buyer = BuyerFactory(country="RU", language="en", display_name="")

    changed = user_profile_update(user=buyer, display_name="", country="KZ", language="en", email_reminders=True,
                                  email_messages=True, email_outcomes=False)

    assert changed == ["country", "email_outcomes"]
    assert (stored(buyer)["country"], stored(buyer)["email_outcomes"]) == ("KZ", False)
    assert user_profile_update(user=buyer, display_name="", country="KZ", language="en", email_reminders=True,
                               email_messages=True, email_outcomes=False) == []


@pytest.mark.parametrize("factory", [BuyerFactory, SellerFactory])
def test_the_profile_page_s_queries_are_few_and_flat(client, django_assert_max_num_queries, factory):
    person = factory()
    client.force_login(person)
    with django_assert_max_num_queries(8):
        assert client.get(PROFILE).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.post(PROFILE, form_of(person, display_name="New name")).status_code == 302
