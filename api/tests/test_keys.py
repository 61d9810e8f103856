"""A store's API keys, as the service issues, checks and revokes them: the key shown once
authenticates; the database keeps only its SHA-256; anything else (revoked, wrong secret,
malformed, an inactive store's) is refused with None and never an exception; the time of
last use is written at most once a minute."""
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import SellerFactory
from api import keys
from api.keys import authenticate_key, issue_key, mark_used, revoke_key
from api.models import ApiKey
from catalog.tests.factories import StoreFactory
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def store():
    return StoreFactory(name="Golden Dragon Trading")


@pytest.fixture
def seller(store):
    return SellerFactory(store=store, username="golden-dragon")


def rows() -> list[dict]:
    return list(ApiKey.objects.order_by("pk").values())


def everything_stored() -> str:
    """Every value of every column of every table, and every session decoded."""
    from django.contrib.sessions.models import Session

    texts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            texts += [str(value) for row in cursor.fetchall() for value in row]
    texts += [str(session.get_decoded()) for session in Session.objects.all()]
    return "\n".join(texts)


# --- issuing --------------------------------------------------------------------------------------


def test_an_issued_key_authenticates_as_its_store(clock, store, seller):
    key, plaintext = issue_key(store=store, user=seller, name="Warehouse system")

    prefix, secret = plaintext.removeprefix("rp_").split("_", 1)
    assert plaintext == f"rp_{key.prefix}_{secret}"
    assert len(key.prefix) == 8 and prefix == key.prefix
    assert len(secret) >= 43
    assert key.hashed == hashlib.sha256(secret.encode()).hexdigest()
    stored = ApiKey.objects.get()
    assert (stored.store_id, stored.name, stored.created_by_id, stored.created_at, stored.last_used_at,
            stored.revoked_at, stored.revoked_by_id) == (store.pk, "Warehouse system", seller.pk, NOW, None, None,
                                                        None)

    found = authenticate_key(plaintext)

    assert found == key
    assert found.store == store


def test_the_database_never_holds_the_key_nor_its_secret(clock, store, seller):
    _, plaintext = issue_key(store=store, user=seller, name="Warehouse system")
    authenticate_key(plaintext)

    secret = plaintext.split("_", 2)[2]
    stored = everything_stored()
    assert ApiKey.objects.get().prefix in stored  # the search does see the key's row
    assert plaintext not in stored
    assert secret not in stored


def test_each_key_is_its_own(store, seller):
    first, first_text = issue_key(store=store, user=seller, name="One")
    second, second_text = issue_key(store=store, user=seller, name="Two")

    assert first.prefix != second.prefix and first.hashed != second.hashed
    assert authenticate_key(first_text) == first
    assert authenticate_key(second_text) == second


def test_the_name_is_trimmed_and_required_and_unique_among_the_stores_active_keys(store, seller):
    key, _ = issue_key(store=store, user=seller, name="  Warehouse system  ")
    assert key.name == "Warehouse system"
    before = rows()

    with pytest.raises(DomainError) as taken:
        issue_key(store=store, user=seller, name="Warehouse system")
    with pytest.raises(DomainError) as blank:
        issue_key(store=store, user=seller, name="   ")
    with pytest.raises(DomainError) as long:
        issue_key(store=store, user=seller, name="x" * 101)

    assert (taken.value.code, str(taken.value)) == (
        ErrorCode.NAME_TAKEN, "You already have an active API key named “Warehouse system”.")
    assert (blank.value.code, str(blank.value)) == (ErrorCode.INVALID_NAME, "Give the key a name.")
    assert (long.value.code, str(long.value)) == (
        ErrorCode.INVALID_NAME, "A key's name has at most 100 characters.")
    assert rows() == before


def test_a_revoked_keys_name_and_another_stores_names_are_free(store, seller):
    key, _ = issue_key(store=store, user=seller, name="Warehouse system")
    revoke_key(key=key, user=seller)
    other = StoreFactory()

    again, _ = issue_key(store=store, user=seller, name="Warehouse system")
    theirs, _ = issue_key(store=other, user=SellerFactory(store=other), name="Warehouse system")

    assert ApiKey.objects.filter(name="Warehouse system").count() == 3
    assert again.revoked_at is None and theirs.store == other


def test_the_database_refuses_two_active_keys_of_a_store_with_one_name(store, seller):
    # The service checks first; the constraint is what holds when two requests race.
    key, _ = issue_key(store=store, user=seller, name="Warehouse system")

    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(store=store, name="Warehouse system", prefix="zzzzzzzz", hashed="0" * 64)


def test_a_name_taken_in_a_race_is_refused_like_a_name_taken_before(store, seller, monkeypatch):
    issue_key(store=store, user=seller, name="Warehouse system")
    before = rows()
    real, checks = keys.name_taken, []

    def name_taken(store, name, user=None):  # the first check ran before the other request committed; later ones see it
        checks.append(name)
        return len(checks) > 1 and real(store, name, user)

    monkeypatch.setattr("api.keys.name_taken", name_taken)

    with pytest.raises(DomainError) as taken:
        issue_key(store=store, user=seller, name="Warehouse system")

    assert taken.value.code == ErrorCode.NAME_TAKEN
    assert checks == ["Warehouse system", "Warehouse system"]  # refused by the constraint, then told why
    assert rows() == before


# --- what is refused ------------------------------------------------------------------------------


def test_a_revoked_key_is_refused(store, seller):
    key, plaintext = issue_key(store=store, user=seller, name="Warehouse system")
    revoke_key(key=key, user=seller)

    assert authenticate_key(plaintext) is None


def test_a_key_of_an_inactive_store_is_refused(store, seller):
    _, plaintext = issue_key(store=store, user=seller, name="Warehouse system")
    store.is_active = False
    store.save()

    assert authenticate_key(plaintext) is None


def test_the_right_prefix_with_a_wrong_secret_is_refused(store, seller):
    key, plaintext = issue_key(store=store, user=seller, name="One")
    _, other_text = issue_key(store=store, user=seller, name="Two")
    secret = plaintext.split("_", 2)[2]
    flipped = ("A" if secret[0] != "A" else "B") + secret[1:]

    assert authenticate_key(f"rp_{key.prefix}_{flipped}") is None
    assert authenticate_key(f"rp_{key.prefix}_{other_text.split('_', 2)[2]}") is None  # another key's secret
    assert authenticate_key(f"rp_{key.prefix}_{secret[:-1]}") is None
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None


@pytest.mark.parametrize("raw", [
    "", " ", "rp", "rp_", "rp__", "rp___", "{prefix}", "rp_{prefix}", "rp_{prefix}_", "rp__{secret}",
    "{prefix}_{secret}", "xx_{prefix}_{secret}", "RP_{prefix}_{secret}", " rp_{prefix}_{secret}",
    "rp_{prefix}_{secret} ", "rp_{prefix}_{secret}\n", "rp_{prefix}_{secret}\x00", "rp_{prefix}\x00_{secret}",
    "rp_{prefix}x_{secret}", "rp_{short}_{secret}", "rp_{prefix}_{secret}_", "rp_{prefix}_{secret}{secret}",
    "Bearer rp_{prefix}_{secret}", "rp_пароль12_{secret}", "rp_{prefix}_{secret_cyrillic}", "rp_{prefix}_🔑" * 3,
    "x" * 1_000_000, "rp_{prefix}_" + "a" * 1_000_000,
], ids=lambda raw: repr(raw[:40]))
def test_malformed_keys_are_refused_without_an_exception(raw, store, seller):
    key, plaintext = issue_key(store=store, user=seller, name="Warehouse system")
    secret = plaintext.split("_", 2)[2]
    raw = raw.replace("{prefix}", key.prefix).replace("{short}", key.prefix[:7]).replace(
        "{secret_cyrillic}", "а" + secret[1:]).replace("{secret}", secret)

    with CaptureQueriesContext(connection) as queries:
        assert authenticate_key(raw) is None
    # A string that is not even shaped like a key costs no query.
    if not raw.startswith(f"rp_{key.prefix}_"):
        assert len(queries) == 0


@pytest.mark.parametrize("raw", [None, b"rp_abcdefgh_secret", 12345, ["rp_"]], ids=repr)
def test_what_is_not_a_string_is_refused(raw):
    assert authenticate_key(raw) is None


def test_an_unknown_prefix_is_refused(store, seller):
    key, plaintext = issue_key(store=store, user=seller, name="Warehouse system")
    ApiKey.objects.filter(pk=key.pk).delete()

    assert authenticate_key(plaintext) is None


# --- the time of last use -------------------------------------------------------------------------


def test_the_last_use_is_written_at_most_once_a_minute(clock, store, seller):
    key, plaintext = issue_key(store=store, user=seller, name="Warehouse system")

    with CaptureQueriesContext(connection) as first:
        assert authenticate_key(plaintext).last_used_at == NOW
    assert ApiKey.objects.get().last_used_at == NOW
    assert len(first) == 2  # the key with its store, the UPDATE

    clock.move_to(NOW + timedelta(seconds=59))
    with CaptureQueriesContext(connection) as within:
        assert authenticate_key(plaintext).last_used_at == NOW
    assert len(within) == 1  # read only: no write per request
    assert ApiKey.objects.get().last_used_at == NOW

    clock.move_to(NOW + timedelta(seconds=61))
    assert authenticate_key(plaintext).last_used_at == NOW + timedelta(seconds=61)
    assert ApiKey.objects.get().last_used_at == NOW + timedelta(seconds=61)


def test_two_requests_that_both_read_an_old_last_use_write_it_once(clock, store, seller):
    key, _ = issue_key(store=store, user=seller, name="Warehouse system")
    first, second = ApiKey.objects.get(pk=key.pk), ApiKey.objects.get(pk=key.pk)  # both read "never used"

    assert mark_used(first) is True
    clock.move_to(NOW + timedelta(seconds=5))
    assert mark_used(second) is False  # the conditional UPDATE found it fresh: nothing written

    assert ApiKey.objects.get().last_used_at == NOW


# --- revoking -------------------------------------------------------------------------------------


def test_revoking_twice_changes_nothing_the_second_time(clock, store, seller):
    key, _ = issue_key(store=store, user=seller, name="Warehouse system")
    colleague = SellerFactory(store=store)

    assert revoke_key(key=key, user=seller) is True
    assert (key.revoked_at, key.revoked_by) == (NOW, seller)
    revoked = rows()

    clock.move_to(NOW + timedelta(hours=1))
    stale = ApiKey.objects.get(pk=key.pk)
    stale.revoked_at = None  # a copy read before the first revocation
    assert revoke_key(key=stale, user=colleague) is False

    assert rows() == revoked
    assert (stale.revoked_at, stale.revoked_by_id) == (NOW, seller.pk)  # what is stored, read back
