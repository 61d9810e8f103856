"""A store's members keep its API keys in the seller pages, over HTTP: name and create one
(its full key shown once, on the page that answers the form, and never again), see them
listed, revoke them. Nobody else reaches them: another store's key is a 404, buyers,
staff and visitors are refused as on the other seller pages."""
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from api.keys import authenticate_key, issue_key, revoke_key
from api.models import ApiKey
from catalog.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
LIST = reverse("api:seller_api_keys")
FULL_KEY = re.compile(r"rp_[a-z0-9]{8}_[A-Za-z0-9_-]{43}")


def revoke_url(key) -> str:
    return reverse("api:seller_api_key_revoke", args=[key.pk])


def browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def rows() -> list[dict]:
    return list(ApiKey.objects.order_by("pk").values())


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def store():
    return StoreFactory(name="Golden Dragon Trading")


@pytest.fixture
def seller(store):
    return SellerFactory(store=store, username="golden-dragon", first_name="Li", last_name="Wei")


@pytest.fixture
def theirs():
    other = StoreFactory(name="Silver Fox Goods")
    return issue_key(store=other, user=SellerFactory(store=other), name="Silver Fox system")[0]


# --- creating: the key is shown once ----------------------------------------------------------------


def test_a_seller_creates_a_key_and_sees_it_once(store, seller, caplog):
    desk = browser(seller)
    caplog.set_level(logging.DEBUG)

    created = desk.post(LIST, {"name": "Warehouse system"})

    assert created.status_code == 201
    assert created["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    key = ApiKey.objects.get()
    plaintext = created.context["plaintext"]
    assert authenticate_key(plaintext) == key
    page = created.content.decode()
    assert page.count(plaintext) == 1
    assert "Copy it now: it will not be shown again." in page
    assert messages_of(created) == []  # not in a message either: those live in the session or a cookie
    assert (key.store, key.name, key.created_by, key.created_at) == (store, "Warehouse system", seller, NOW)

    secret = plaintext.split("_", 2)[2]
    listed = desk.get(LIST)
    assert listed.status_code == 200
    assert key.prefix in listed.content.decode()
    for later in (listed, desk.get(LIST)):
        assert secret not in later.content.decode()
    assert all(secret not in str(s.get_decoded()) for s in Session.objects.all())
    assert secret not in caplog.text and key.hashed not in caplog.text


def test_the_list_shows_the_stores_keys_without_their_secrets(clock, store, seller, theirs):
    colleague = SellerFactory(store=store, username="colleague", first_name="", last_name="")
    ci, ci_text = issue_key(store=store, user=seller, name="Warehouse system")
    clock.move_to(NOW + timedelta(hours=1))
    old, old_text = issue_key(store=store, user=colleague, name="Old script")
    authenticate_key(ci_text)
    revoke_key(key=old, user=seller)

    page = browser(seller).get(LIST)

    assert page.status_code == 200
    assert list(page.context["page"].object_list) == [ci, old]  # active first
    text = page.content.decode()
    for expected in ("Warehouse system", ci.prefix, "Li Wei", "10 Mar 2025, 15:00", "10 Mar 2025, 16:00",
                     "Old script", old.prefix, "colleague", "Active", "Revoked"):
        assert expected in text
    assert "Silver Fox system" not in text and theirs.prefix not in text
    for secret in (ci_text.split("_", 2)[2], old_text.split("_", 2)[2], ci.hashed, old.hashed):
        assert secret not in text
    assert f'action="{revoke_url(ci)}"' in text
    assert f'action="{revoke_url(old)}"' not in text  # a revoked key has nothing left to revoke
    assert f'href="{LIST}"' in browser(seller).get(reverse("disputes:seller_desk")).content.decode()


def test_a_store_without_keys_is_told_so(seller):
    page = browser(seller).get(LIST)

    assert page.status_code == 200
    assert "Your store has no API keys yet." in page.content.decode()


# --- revoking -------------------------------------------------------------------------------------------


def test_a_seller_revokes_a_key_and_it_stops_working(clock, store, seller):
    key, plaintext = issue_key(store=store, user=seller, name="Warehouse system")
    colleague = SellerFactory(store=store)

    revoked = browser(colleague).post(revoke_url(key), follow=True)

    assert revoked.redirect_chain == [(LIST, 302)]
    assert messages_of(revoked) == [
        "API key “Warehouse system” revoked: requests made with it are refused from now on."]
    assert ApiKey.objects.filter(pk=key.pk, revoked_at=NOW, revoked_by=colleague).exists()
    assert authenticate_key(plaintext) is None
    before = rows()

    clock.move_to(NOW + timedelta(hours=1))
    again = browser(seller).post(revoke_url(key), follow=True)

    assert again.redirect_chain == [(LIST, 302)]
    assert messages_of(again) == ["API key “Warehouse system” was already revoked."]
    assert rows() == before


def test_revoking_is_post_only(store, seller):
    key, _ = issue_key(store=store, user=seller, name="Warehouse system")

    assert browser(seller).get(revoke_url(key)).status_code == 405
    assert ApiKey.objects.get().revoked_at is None


# --- nobody else's --------------------------------------------------------------------------------------


def test_another_stores_key_is_a_404_and_stays_as_it_was(seller, theirs):
    before = rows()

    assert browser(seller).post(revoke_url(theirs)).status_code == 404
    assert browser(seller).post(reverse("api:seller_api_key_revoke", args=[987654])).status_code == 404
    assert rows() == before


@pytest.mark.parametrize("who", ["anonymous", "buyer", "staff"])
def test_only_store_members_reach_the_api_key_pages(who, theirs):
    person = {"anonymous": None, "buyer": BuyerFactory(), "staff": StaffFactory(is_superuser=True)}[who]
    client = browser(person)
    before = rows()

    responses = [client.get(LIST), client.post(LIST, {"name": "Taken over"}), client.post(revoke_url(theirs))]

    if who == "anonymous":  # asked to log in, like the seller desk
        assert [r.status_code for r in responses] == [302] * 3
        assert all(r["Location"].startswith(reverse("account_login") + "?next=") for r in responses)
    else:  # refused, like the seller desk
        assert [r.status_code for r in responses] == [403] * 3
    assert rows() == before


# --- what is refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("", {"name": ["This field is required."]}),
        ("   ", {"name": ["This field is required."]}),
        ("Warehouse system", {"name": ["You already have an active API key named “Warehouse system”."]}),
        ("x" * 101, {"name": ["Ensure this value has at most 100 characters (it has 101)."]}),
    ],
    ids=["blank", "spaces", "duplicate", "too_long"],
)
def test_a_bad_name_is_refused_with_a_message_and_nothing_is_saved(name, errors, store, seller):
    issue_key(store=store, user=seller, name="Warehouse system")
    before = rows()

    refused = browser(seller).post(LIST, {"name": name})

    assert refused.status_code == 422
    assert refused.context["form"].errors == errors
    assert errors["name"][0] in refused.content.decode()
    assert "plaintext" not in refused.context or refused.context["plaintext"] is None
    assert FULL_KEY.search(refused.content.decode()) is None
    assert rows() == before


def test_a_name_taken_in_a_race_is_refused_on_the_form(store, seller, monkeypatch):
    issue_key(store=store, user=seller, name="Warehouse system")
    before = rows()
    monkeypatch.setattr("api.forms.ApiKeyForm.clean_name", lambda form: form.cleaned_data["name"])

    refused = browser(seller).post(LIST, {"name": "Warehouse system"})

    assert refused.status_code == 422
    assert refused.context["form"].errors == {
        "name": ["You already have an active API key named “Warehouse system”."]}
    assert rows() == before


def test_a_revoked_keys_name_may_be_used_again(store, seller):
    key, _ = issue_key(store=store, user=seller, name="Warehouse system")
    revoke_key(key=key, user=seller)

    assert browser(seller).post(LIST, {"name": "Warehouse system"}).status_code == 201
    assert ApiKey.objects.filter(name="Warehouse system", revoked_at=None).count() == 1


def test_a_seller_cannot_create_a_key_for_another_store(store, seller, theirs):
    browser(seller).post(LIST, {"name": "Mine", "store": theirs.store_id})

    assert ApiKey.objects.get(name="Mine").store == store


# --- query budget ------------------------------------------------------------------------------------


def query_count(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST)
    assert response.status_code == 200
    return len(captured)


def many_keys(store, users, count: int, start: int) -> None:
    for i in range(count):
        key, _ = issue_key(store=store, user=users[i % len(users)], name=f"System {start + i}")
        if i % 3 == 0:
            revoke_key(key=key, user=users[0])
            key.last_used_at = NOW
            key.save(update_fields=["last_used_at"])


# Session, user, the bell's unread count, the store (its name in the header, the form's store),
# the keys' count for the pages, the page of keys with who created and who revoked them.
KEY_LIST_BUDGET = 6


def test_the_key_list_costs_the_same_with_2_or_40_keys(store, seller):
    desk = browser(seller)
    colleagues = [seller, *(SellerFactory(store=store) for _ in range(4))]
    many_keys(store, colleagues, 2, 0)
    with_2 = query_count(desk)
    many_keys(store, colleagues, 38, 2)
    with_40 = query_count(desk)

    assert ApiKey.objects.filter(store=store).count() == 40
    # Measured (SQLite and PostgreSQL): 6 and 6.
    assert with_2 == with_40 <= KEY_LIST_BUDGET


# --- in Russian ------------------------------------------------------------------------------------------


def test_the_api_key_pages_read_in_russian(demo_seller):
    from disputes.tests.test_russian_pages import FRAGMENTS, assert_russian, visible_text

    seller = demo_seller
    store = seller.store
    active, _ = issue_key(store=store, user=seller, name="Склад")
    revoke_key(key=issue_key(store=store, user=seller, name="Старый")[0], user=seller)
    ApiKey.objects.filter(pk=active.pk).update(last_used_at=NOW)
    client = browser(seller)

    assert_russian(client, LIST)

    def page_in(language: str, name: str, status: int) -> str:
        client.post(reverse("accounts:language_set"), {"language": language, "next": "/"})
        response = client.post(LIST, {"name": name})
        assert response.status_code == status
        return visible_text(response)

    # Created (the key shown once), then refused twice: a name in use, no name.
    for english_name, russian_name, status in (("Касса 1", "Касса 2", 201), ("Склад", "Склад", 422),
                                               ("", "", 422)):
        english, russian = page_in("en", english_name, status), page_in("ru", russian_name, status)
        assert sorted(piece for piece in FRAGMENTS if piece in english and piece in russian) == []
        if status == 201:
            assert "Скопируйте его сейчас" in russian
        elif english_name:
            assert "У вас уже есть действующий API-ключ «Склад»" in russian

    client.post(reverse("accounts:language_set"), {"language": "ru", "next": "/"})
    revoked = client.post(revoke_url(active), follow=True)
    assert [str(m) for m in revoked.context["messages"]][0].startswith("API-ключ «Склад» отозван")


@pytest.fixture
def demo_seller(clock):
    from django.core.management import call_command

    from accounts.models import User

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return User.objects.get(username="seller")
