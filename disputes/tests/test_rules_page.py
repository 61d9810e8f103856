"""The rules in force (issue 10, ``/admin/rules/``): every deadline of the lifecycle table with its
setting, value and outcome; the other rules from the settings; where local return exists today
and through which warehouses; read-only, for staff, flat in queries as warehouses grow."""
import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory, StaffFactory
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes import policy
from disputes.lifecycle import EXPIRING, STEPS
from disputes.presentation import OUTCOME_TEXTS
from disputes.services.expiry import OUTCOMES

pytestmark = pytest.mark.django_db


def staff(permissions=()) -> User:
    user = StaffFactory(permissions=list(permissions))
    return User.objects.get(pk=user.pk)


def test_every_deadline_of_the_lifecycle_is_listed_with_its_setting_and_outcome(settings):
    settings.SELLER_RESPONSE_DAYS, settings.STAFF_DECISION_DAYS = 4, 3

    rows = policy.deadlines()

    assert [(row.state, row.setting, row.days, row.duration) for row in rows] == [
        ("Waiting for the seller", "SELLER_RESPONSE_DAYS", 4, "4 days"),
        ("Waiting for the buyer to ship", "BUYER_SHIP_DAYS", 10, "10 days"),
        ("Return on its way", "SELLER_RECEIPT_DAYS", 15, "15 days"),
        ("Seller made a counter-offer", "ESCALATION_DAYS", 7, "7 days"),
        ("Rejected by the seller", "ESCALATION_DAYS", 7, "7 days"),
        ("With marketplace staff", "STAFF_DECISION_DAYS", 3, "3 days"),
    ]
    assert len(rows) == len([step for step in STEPS.values() if step.deadline])
    assert rows[0].when_passed == [
        "A local return whose seller did not send return instructions within 4 days gets default instructions for "
        "the return warehouse in the buyer's country.",
        "The seller did not send return instructions within 4 days, and no return warehouse in the buyer's country "
        "takes returns any more; marketplace staff will decide.",
        "The seller did not answer within 4 days, so the buyer is refunded the amount asked."]
    assert rows[-1].when_passed == ["Marketplace staff did not decide within 3 days; the dispute is flagged overdue."]


def test_the_seller_timeout_outcome_follows_the_policy_in_force(settings):
    settings.SELLER_TIMEOUT_POLICY = "escalate"

    assert policy.deadlines()[0].when_passed[-1] == (
        "The seller did not answer within 5 days; marketplace staff will decide.")


def test_every_outcome_of_the_sweep_has_words():
    for step in EXPIRING:
        results = OUTCOMES[step.expiry].results()
        assert results and all(code in OUTCOME_TEXTS for code in results), step.state


def test_local_return_by_country_with_each_warehouse_and_who_runs_it():
    store = StoreFactory(name="Golden Dragon")
    moscow = WarehouseFactory(name="Moscow returns", country="RU", city="Moscow", store=None)
    kazan = WarehouseFactory(name="Golden Dragon Kazan", country="RU", city="Kazan", store=store)
    almaty = WarehouseFactory(name="Almaty hub", country="KZ", city="Almaty", store=store)
    WarehouseFactory(name="Closed", country="UA", is_active=False)
    WarehouseFactory(name="Stock only", country="BY", accepts_returns=False, stocks_goods=True)

    today = policy.local_return_today()

    assert [(c.name, [(w.name, w.operator_name) for w in c.warehouses]) for c in today.countries] == [
        ("Kazakhstan", [(almaty.name, "Golden Dragon")]),
        ("Russia", [(kazan.name, "Golden Dragon"), (moscow.name, "Marketplace")]),
    ]
    assert "Ukraine" in today.without and "Belarus" in today.without and "Russia" not in today.without


def test_the_page(client, settings):
    settings.STAFF_REFUND_APPROVAL_LIMIT = 25000
    WarehouseFactory(name="Moscow returns", country="RU", city="Moscow", address="1 Tverskaya")
    client.force_login(staff())  # any staff member may read the rules

    response = client.get(reverse("staff_rules"))
    page = response.content.decode()

    assert response.status_code == 200
    assert '<tr data-setting="SELLER_RESPONSE_DAYS">' in page and "<td>5 days</td>" in page
    assert '<tr data-setting="STAFF_REFUND_APPROVAL_LIMIT">' in page and "<td>25,000</td>" in page
    assert "<td>every 60 seconds</td>" in page and "<td>15 minutes</td>" in page and "<td>24 hours</td>" in page
    assert '<h3 data-country="RU">Russia</h3>' in page
    assert "<td>Moscow, 1 Tverskaya</td>" in page and "<td>Marketplace</td>" in page
    assert "No local return in: " in page
    assert f'<a href="{reverse("admin:disputes_categorycondition_changelist")}">Return conditions of categories</a>' in page
    assert "<form" not in page.split('id="content-main"')[1]  # read-only
    assert "Returns portal administration" in page


def test_the_page_is_for_staff(client):
    url = reverse("staff_rules")

    anonymous = client.get(url)
    client.force_login(BuyerFactory())
    buyer = client.get(url)

    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("admin:login"))
    assert buyer.status_code == 302 and buyer.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("count", [2, 40])
def test_the_page_makes_as_many_queries_whatever_the_warehouses(client, count, django_assert_max_num_queries):
    countries = ["RU", "KZ", "AM", "BY"]
    stores = [StoreFactory() for _ in range(4)]
    for n in range(count):
        WarehouseFactory(country=countries[n % 4], store=stores[n % 4] if n % 3 else None)
    client.force_login(staff(["disputes.view_dispute"]))

    with django_assert_max_num_queries(7):
        response = client.get(reverse("staff_rules"))

    assert response.status_code == 200
    assert response.context["local_return"].warehouse_count == count
