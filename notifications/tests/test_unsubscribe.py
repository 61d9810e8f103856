"""One-click unsubscribe (RFC 8058): a signed link that turns one kind of e-mail off for one
person, without a login; forged, altered or expired links change nothing."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory
from notifications.kinds import CHOICE_FIELDS, Kind
from notifications.services import email_kind_turn_off
from notifications.unsubscribe import SALT, unsubscribe_headers, unsubscribe_read, unsubscribe_token

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def choices(user) -> dict[str, bool]:
    return dict(zip(CHOICE_FIELDS.values(),
                    User.objects.filter(pk=user.pk).values_list(*CHOICE_FIELDS.values()).get()))


def url(token: str) -> str:
    return reverse("notifications:unsubscribe", args=[token])


ALL_ON = {field: True for field in CHOICE_FIELDS.values()}


def test_a_token_names_the_person_and_the_kind_and_money_has_none():
    token = unsubscribe_token(user_id=42, kind=Kind.MESSAGE)
    found = unsubscribe_read(token)
    assert (found.user_id, found.kind) == (42, "messages")
    with pytest.raises(ValueError):
        unsubscribe_token(user_id=42, kind=Kind.MONEY)
    assert unsubscribe_headers(user_id=42, kind=Kind.MONEY) == {}


def test_a_token_signed_for_something_else_or_naming_money_is_refused():
    assert unsubscribe_read(signing.dumps({"u": 42, "k": "messages"}, salt="another.salt")) is None
    assert unsubscribe_read(signing.dumps({"u": 42, "k": "money"}, salt=SALT)) is None
    assert unsubscribe_read(signing.dumps({"u": "42", "k": "messages"}, salt=SALT)) is None
    assert unsubscribe_read(signing.dumps([42, "messages"], salt=SALT)) is None
    assert unsubscribe_read("not-a-token") is None


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Kind.REMINDER, Kind.MESSAGE, Kind.OUTCOME, Kind.DIGEST])
def test_get_asks_and_changes_nothing_then_the_one_click_post_turns_that_kind_off(client, kind):
    person = BuyerFactory(language="en")
    token = unsubscribe_token(user_id=person.pk, kind=kind)

    page = client.get(url(token))
    assert page.status_code == 200
    assert page.context["state"] == "ask"
    assert str(Kind(kind).label) in page.content.decode()
    assert person.email not in page.content.decode()  # the link holder learns nothing about the account
    assert choices(person) == ALL_ON

    # What a mail program sends: no session, no CSRF token.
    client.handler.enforce_csrf_checks = True
    done = client.post(url(token), {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert done.context["state"] == "done"
    assert 'href="/accounts/profile/"' in done.content.decode()
    assert choices(person) == {**ALL_ON, CHOICE_FIELDS[kind]: False}

    again = client.post(url(token), {"List-Unsubscribe": "One-Click"})  # a second click: still done
    assert again.status_code == 200
    assert choices(person) == {**ALL_ON, CHOICE_FIELDS[kind]: False}


@pytest.mark.django_db
def test_the_page_is_in_russian_for_a_russian_reader(client):
    person = BuyerFactory()
    token = unsubscribe_token(user_id=person.pk, kind=Kind.DIGEST)
    page = client.get(url(token), HTTP_ACCEPT_LANGUAGE="ru")
    assert "Не присылать эти письма" in page.content.decode()
    done = client.post(url(token), HTTP_ACCEPT_LANGUAGE="ru")
    assert "Вы больше не будете получать письма этого вида" in done.content.decode()


def forged_tokens(person) -> dict[str, str]:
    good = unsubscribe_token(user_id=person.pk, kind=Kind.MESSAGE)
    other = unsubscribe_token(user_id=person.pk + 1, kind=Kind.MESSAGE)
    payload, stamp, signature = good.split(":")
    return {
        "altered signature": f"{payload}:{stamp}:{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "another person's payload with this signature": f"{other.split(':')[0]}:{stamp}:{signature}",
        "signed with another salt": signing.dumps({"u": person.pk, "k": "messages"}, salt="x", compress=False),
        "money": signing.dumps({"u": person.pk, "k": "money"}, salt=SALT, compress=False),
        "garbage": "garbage",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["altered signature", "another person's payload with this signature",
                                  "signed with another salt", "money", "garbage"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_or_altered_token_is_a_400_page_and_changes_nothing(client, case, method):
    person = BuyerFactory(language="en")
    neighbour = User.objects.filter(pk=person.pk + 1).first()
    token = forged_tokens(person)[case]

    response = getattr(client, method)(url(token))

    assert response.status_code == 400
    assert response.context["state"] == "invalid"
    assert "This unsubscribe link is not valid" in response.content.decode()
    assert choices(person) == ALL_ON
    assert neighbour is None or choices(neighbour) == ALL_ON


@pytest.mark.django_db
def test_an_expired_token_is_refused_and_one_just_in_time_works(client, settings):
    settings.UNSUBSCRIBE_LINK_DAYS = 90
    person = BuyerFactory(language="en")
    with time_machine.travel(T0, tick=False):
        token = unsubscribe_token(user_id=person.pk, kind=Kind.OUTCOME)
    with time_machine.travel(T0 + timedelta(days=90, seconds=1), tick=False):
        assert client.post(url(token)).status_code == 400
        assert choices(person) == ALL_ON
    with time_machine.travel(T0 + timedelta(days=89, hours=23), tick=False):
        assert client.post(url(token)).status_code == 200
        assert choices(person)["email_outcomes"] is False


@pytest.mark.django_db
def test_a_token_of_a_deleted_account_is_a_400(client):
    person = BuyerFactory()
    token = unsubscribe_token(user_id=person.pk, kind=Kind.OUTCOME)
    person.delete()
    assert client.post(url(token)).status_code == 400


@pytest.mark.django_db
def test_the_service_turns_one_kind_off_and_refuses_money():
    person = BuyerFactory()
    assert email_kind_turn_off(user_id=person.pk, kind=Kind.REMINDER) is True
    assert choices(person) == {**ALL_ON, "email_reminders": False}
    assert email_kind_turn_off(user_id=person.pk + 1000, kind=Kind.REMINDER) is False
    with pytest.raises(ValueError):
        email_kind_turn_off(user_id=person.pk, kind=Kind.MONEY)
    assert choices(person) == {**ALL_ON, "email_reminders": False}


@pytest.mark.django_db
def test_the_page_reads_two_rows_at_most(client, django_assert_max_num_queries):
    person = BuyerFactory()
    token = unsubscribe_token(user_id=person.pk, kind=Kind.OUTCOME)
    with django_assert_max_num_queries(3):
        client.get(url(token))
    with django_assert_max_num_queries(3):
        client.post(url(token))
