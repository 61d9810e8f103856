"""Staff see a store's API keys in the admin, read-only: never the secret, never its hash;
staff allowed to revoke them do it with an action that calls the service."""
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import SellerFactory, StaffFactory
from api.keys import authenticate_key, issue_key, revoke_key
from api.models import ApiKey
from catalog.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
CHANGELIST = reverse("admin:api_apikey_changelist")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def keys():
    store = StoreFactory(name="Golden Dragon Trading")
    seller = SellerFactory(store=store)
    return [issue_key(store=store, user=seller, name=name) for name in ("Warehouse system", "Old script")]


def admin_client(**kwargs) -> Client:
    client = Client()
    client.force_login(StaffFactory(**kwargs))
    return client


def test_staff_see_keys_read_only_without_secret_or_hash(keys):
    (key, plaintext), _ = keys
    client = admin_client(permissions=["api.view_apikey"])

    listed = client.get(CHANGELIST)
    detail = client.get(reverse("admin:api_apikey_change", args=[key.pk]))

    assert (listed.status_code, detail.status_code) == (200, 200)
    for page in (listed.content.decode(), detail.content.decode()):
        assert key.prefix in page and "Warehouse system" in page
        assert plaintext.split("_", 2)[2] not in page and key.hashed not in page
    assert 'name="name"' not in detail.content.decode()  # nothing to edit
    assert client.get(reverse("admin:api_apikey_add")).status_code == 403
    assert client.post(reverse("admin:api_apikey_delete", args=[key.pk]), {"post": "yes"}).status_code == 403
    assert ApiKey.objects.count() == 2


def test_even_a_superuser_cannot_add_edit_or_delete_a_key(keys):
    (key, _), _ = keys
    client = admin_client(is_superuser=True)
    before = list(ApiKey.objects.values())

    assert client.get(reverse("admin:api_apikey_add")).status_code == 403
    client.post(reverse("admin:api_apikey_change", args=[key.pk]), {"name": "Changed"})
    client.post(reverse("admin:api_apikey_delete", args=[key.pk]), {"post": "yes"})

    assert list(ApiKey.objects.values()) == before


def test_staff_allowed_to_revoke_revoke_with_the_action(keys):
    (first, first_text), (second, second_text) = keys
    revoke_key(key=second, user=second.created_by)
    revoked_before = ApiKey.objects.get(pk=second.pk).revoked_at
    staff = StaffFactory(permissions=["api.view_apikey", "api.revoke_apikey"])
    client = Client()
    client.force_login(staff)

    done = client.post(CHANGELIST, {"action": "revoke_keys", "_selected_action": [first.pk, second.pk]},
                       follow=True)

    assert done.status_code == 200
    assert [str(m) for m in done.context["messages"]] == ["1 API key revoked; 1 was already revoked."]
    assert ApiKey.objects.filter(pk=first.pk, revoked_at=NOW, revoked_by=staff).exists()
    assert ApiKey.objects.get(pk=second.pk).revoked_at == revoked_before  # unchanged
    assert authenticate_key(first_text) is None


def test_staff_without_the_permission_have_no_revoke_action(keys):
    (first, first_text), _ = keys
    client = admin_client(permissions=["api.view_apikey"])

    assert "revoke_keys" not in client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "revoke_keys", "_selected_action": [first.pk]})

    assert ApiKey.objects.get(pk=first.pk).revoked_at is None
    assert authenticate_key(first_text) == first


def test_the_admins_key_list_costs_the_same_with_2_or_40_keys(keys):
    client = admin_client(is_superuser=True)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    with_2 = count()
    store = StoreFactory()
    seller = SellerFactory(store=store)
    for i in range(38):
        issue_key(store=store if i % 2 else StoreFactory(), user=seller, name=f"System {i}")
    with_40 = count()

    assert with_2 == with_40
