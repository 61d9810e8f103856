"""Staff tokens, made in the admin by the member of staff who uses them: shown once, listed,
revoked; only their owner's; the page's queries stay flat."""
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import SellerFactory, StaffFactory
from api.keys import authenticate_key, issue_key
from api.models import ApiKey

pytestmark = pytest.mark.django_db

PAGE = "/admin/api-tokens/"
FULL_KEY = re.compile(r"rp_[a-z0-9]{8}_[A-Za-z0-9_-]{43}")


def staff_in(group: str):
    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name=group))
    return staff


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_supervisor_makes_a_token_that_is_shown_once_and_acts_as_them():
    supervisor = staff_in("Supervisor")
    client = signed_in(supervisor)

    made = client.post(PAGE, {"name": "Escalations script"})

    assert made.status_code == 201
    [raw] = FULL_KEY.findall(made.content.decode())
    key = ApiKey.objects.get()
    assert (key.store, key.acts_as, key.created_by, key.name) == (None, supervisor, supervisor, "Escalations script")
    assert authenticate_key(raw) == key
    again = client.get(PAGE)
    assert FULL_KEY.search(again.content.decode()) is None
    assert "Escalations script" in again.content.decode()


def test_a_name_twice_is_refused():
    supervisor = staff_in("Supervisor")
    issue_key(store=None, user=supervisor, name="Script")
    refused = signed_in(supervisor).post(PAGE, {"name": "Script"})
    assert refused.status_code == 422
    assert refused.context["form"].errors == {"name": ["You already have an active API key named “Script”."]}
    assert ApiKey.objects.count() == 1


def test_the_page_lists_only_ones_own_tokens_and_revokes_only_them():
    mine, theirs = staff_in("Supervisor"), staff_in("Supervisor")
    my_key, _raw = issue_key(store=None, user=mine, name="Mine")
    their_key, their_raw = issue_key(store=None, user=theirs, name="Theirs")
    client = signed_in(mine)

    page = client.get(PAGE)
    assert [k.pk for k in page.context["page"].object_list] == [my_key.pk]
    assert client.post(f"{PAGE}{their_key.pk}/revoke/").status_code == 404
    assert authenticate_key(their_raw) is not None
    assert client.post(f"{PAGE}{my_key.pk}/revoke/").status_code == 302
    my_key.refresh_from_db()
    assert my_key.revoked_by == mine


def test_sellers_and_staff_without_the_permission_are_kept_out():
    seller = SellerFactory()
    assert signed_in(seller).get(PAGE).status_code == 302  # to the admin's sign-in
    assert signed_in(StaffFactory()).get(PAGE).status_code == 403
    assert signed_in(StaffFactory()).post(PAGE, {"name": "x"}).status_code == 403
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("count", [1, 30])
def test_the_pages_queries_stay_flat(count):
    supervisor = staff_in("Supervisor")
    for n in range(count):
        issue_key(store=None, user=supervisor, name=f"Token {n}")
    client = signed_in(supervisor)
    client.get(PAGE)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    assert len(queries) <= 8, [q["sql"] for q in queries]


def test_the_page_says_how_to_send_a_token_in_words_that_survive_html():
    page = signed_in(staff_in("Supervisor")).get(PAGE).content.decode()
    assert "“Authorization: Bearer &lt;token&gt;”" in page
