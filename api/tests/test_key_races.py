"""Requests racing on one store's keys, on PostgreSQL (SQLite serialises writers on the whole
file, so it cannot show that the partial unique index and the conditional UPDATEs are what
keep the outcome single)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import SellerFactory
from api import keys
from api.keys import authenticate_key, issue_key, mark_used, revoke_key
from api.models import ApiKey
from catalog.models import Store
from catalog.tests.factories import StoreFactory
from returns_portal.errors import ErrorCode
from returns_portal.testing import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_keys_named_alike_at_once_make_one_key():
    store = StoreFactory()
    seller = SellerFactory(store=store)

    outcomes = race(lambda: issue_key(store=Store.objects.get(pk=store.pk), user=seller, name="Warehouse system"),
                    times=4)

    assert sorted(outcomes, key=str) == sorted(["ok", *[ErrorCode.NAME_TAKEN] * 3], key=str)
    assert ApiKey.objects.filter(store=store, name="Warehouse system").count() == 1


def test_requests_with_a_stale_last_use_at_once_write_it_once(monkeypatch):
    store = StoreFactory()
    seller = SellerFactory(store=store)
    key, plaintext = issue_key(store=store, user=seller, name="Warehouse system")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=an_hour_ago)

    written = []
    monkeypatch.setattr(keys, "mark_used", lambda key: written.append(mark_used(key)) or written[-1])

    outcomes = race(lambda: authenticate_key(plaintext), times=6)

    assert outcomes == ["ok"] * 6
    # Each request read an hour-old time; the conditional UPDATE let one of them write.
    assert written.count(True) == 1 and set(written) <= {True, False}
    assert ApiKey.objects.get().last_used_at > an_hour_ago


def test_two_revocations_at_once_revoke_once():
    store = StoreFactory()
    sellers = [SellerFactory(store=store), SellerFactory(store=store)]
    key, _ = issue_key(store=store, user=sellers[0], name="Warehouse system")
    turns, revoked = iter(sellers), []

    outcomes = race(lambda: revoked.append(revoke_key(key=ApiKey.objects.get(pk=key.pk), user=next(turns))))

    assert outcomes == ["ok", "ok"]
    assert sorted(revoked) == [False, True]
    stored = ApiKey.objects.get()
    assert stored.revoked_at is not None and stored.revoked_by_id in {s.pk for s in sellers}
