"""A store keeps its own warehouses in the seller pages, over HTTP: adds, edits, deactivates
and reactivates them (never deletes them); sees the marketplace's return points read-only;
never reaches another store's. What changes for return instructions follows from it:
a deactivated warehouse is no longer offered, and instructions already sent keep their address."""
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Warehouse
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import Dispute, InstructionTemplate, ReturnInstructions
from disputes.services import dispute_send_instructions
from disputes.tests.factories import DisputeFactory, disputable_line

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
LIST = reverse("catalog:seller_warehouses")
NEW = {"name": "Kazan returns", "address": "7 Tatarstan Street, 420021", "city": "Kazan", "country": "RU",
       "accepts_returns": "on"}


def edit_url(warehouse) -> str:
    return reverse("catalog:seller_warehouse_edit", args=[warehouse.pk])


def deactivate_url(warehouse) -> str:
    return reverse("catalog:seller_warehouse_deactivate", args=[warehouse.pk])


def reactivate_url(warehouse) -> str:
    return reverse("catalog:seller_warehouse_reactivate", args=[warehouse.pk])


def browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def warehouses() -> list[dict]:
    return list(Warehouse.objects.order_by("pk").values())


def row(warehouse) -> tuple:
    fresh = Warehouse.objects.get(pk=warehouse.pk)
    return (fresh.store_id, fresh.name, fresh.address, fresh.city, fresh.country, fresh.accepts_returns,
            fresh.stocks_goods, fresh.is_active)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def store():
    return StoreFactory(name="Golden Dragon Trading")


@pytest.fixture
def seller(store):
    return SellerFactory(store=store, username="golden-dragon")


@pytest.fixture
def podolsk(store):
    return WarehouseFactory(store=store, name="Podolsk returns", address="12 Klimovskaya Street", city="Podolsk",
                            country="RU")


@pytest.fixture
def theirs():
    """Another store's warehouse."""
    return WarehouseFactory(store=StoreFactory(name="Silver Fox Goods"), name="Silver Fox returns", city="Kazan")


@pytest.fixture
def marketplace():
    return WarehouseFactory(store=None, name="Marketplace returns", city="Podolsk", address="1 Logistics Park")


# --- the store keeps its warehouses --------------------------------------------------------------


def test_a_seller_adds_edits_deactivates_and_reactivates_a_warehouse(store, seller):
    desk = browser(seller)

    added = desk.post(LIST, NEW, follow=True)

    assert added.redirect_chain == [(LIST, 302)]
    assert messages_of(added) == ["Warehouse “Kazan returns” added."]
    kazan = Warehouse.objects.get()
    assert row(kazan) == (store.pk, "Kazan returns", "7 Tatarstan Street, 420021", "Kazan", "RU", True, False, True)
    assert list(added.context["warehouses"]) == [kazan]

    edited = desk.post(edit_url(kazan), {**NEW, "address": "9 Tatarstan Street, 420021", "stocks_goods": "on"},
                       follow=True)

    assert edited.redirect_chain == [(LIST, 302)]
    assert messages_of(edited) == ["Warehouse “Kazan returns” saved. Return instructions already sent keep the "
                                   "address the buyer was given."]
    assert row(kazan) == (store.pk, "Kazan returns", "9 Tatarstan Street, 420021", "Kazan", "RU", True, True, True)

    unticked = desk.post(edit_url(kazan), {**NEW, "address": "9 Tatarstan Street, 420021", "accepts_returns": "",
                                           "stocks_goods": "on"}, follow=True)

    assert messages_of(unticked) == ["Warehouse “Kazan returns” saved."]  # the address did not change
    assert row(kazan) == (store.pk, "Kazan returns", "9 Tatarstan Street, 420021", "Kazan", "RU", False, True, True)

    deactivated = desk.post(deactivate_url(kazan), follow=True)

    assert deactivated.redirect_chain == [(LIST, 302)]
    assert messages_of(deactivated) == [
        "Warehouse “Kazan returns” deactivated: it is no longer offered for new returns."]
    assert row(kazan)[-1] is False
    assert f'action="{reactivate_url(kazan)}"' in deactivated.content.decode()

    reactivated = desk.post(reactivate_url(kazan), follow=True)

    assert messages_of(reactivated) == ["Warehouse “Kazan returns” is active again."]
    assert row(kazan)[-1] is True
    assert Warehouse.objects.count() == 1  # never deleted, never another row


def test_the_list_shows_the_stores_warehouses_and_the_marketplaces_return_points_read_only(
    store, seller, podolsk, theirs, marketplace
):
    closed = WarehouseFactory(store=store, name="Almaty (closed)", country="KZ", city="Almaty", is_active=False)
    WarehouseFactory(store=None, name="Marketplace, closed", is_active=False)
    WarehouseFactory(store=None, name="Marketplace MALL", accepts_returns=False, stocks_goods=True)

    page = browser(seller).get(LIST)

    assert page.status_code == 200
    assert list(page.context["warehouses"]) == [podolsk, closed]  # active first
    assert list(page.context["marketplace_points"]) == [marketplace]
    text = page.content.decode()
    assert "Silver Fox returns" not in text and "Marketplace, closed" not in text and "MALL" not in text
    assert edit_url(podolsk) in text and edit_url(closed) in text
    assert edit_url(marketplace) not in text and deactivate_url(marketplace) not in text
    assert f'href="{LIST}"' in browser(seller).get(reverse("disputes:seller_desk")).content.decode()


def test_the_list_counts_the_returns_still_on_their_way_to_each_warehouse(store, seller, podolsk):
    line = lambda: disputable_line(store=store, warehouse_country=None)  # noqa: E731
    for state in ("awaiting_buyer_shipment", "return_in_transit", "refunded", "closed"):
        dispute = DisputeFactory(order_line=line())
        dispute_send_instructions(dispute=dispute, seller=seller, warehouse=podolsk, method="drop_off",
                                  carrier="Russian Post")
        Dispute.objects.filter(pk=dispute.pk).update(state=state)

    page = browser(seller).get(LIST)

    assert [w.returns_on_their_way for w in page.context["warehouses"]] == [2]

    deactivated = browser(seller).post(deactivate_url(podolsk), follow=True)

    assert messages_of(deactivated) == [
        "Warehouse “Podolsk returns” deactivated: it is no longer offered for new returns. 2 returns already on "
        "their way there keep this address: receive them there."]


# --- nobody else's ---------------------------------------------------------------------------------


@pytest.mark.parametrize("whose", ["another_store", "marketplace"])
def test_a_warehouse_that_is_not_the_stores_is_a_404_and_stays_as_it_was(whose, seller, theirs, marketplace):
    warehouse = {"another_store": theirs, "marketplace": marketplace}[whose]
    desk = browser(seller)
    before = warehouses()

    responses = [
        desk.get(edit_url(warehouse)),
        desk.post(edit_url(warehouse), {**NEW, "name": "Taken over"}),
        desk.post(deactivate_url(warehouse)),
        desk.post(reactivate_url(warehouse)),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert warehouses() == before
    assert Warehouse.objects.filter(name="Taken over").count() == 0


def test_an_unknown_warehouse_is_a_404(seller):
    assert browser(seller).get(reverse("catalog:seller_warehouse_edit", args=[987654])).status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "buyer", "staff"])
def test_only_store_members_reach_the_warehouse_pages(who, podolsk):
    person = {"anonymous": None, "buyer": BuyerFactory(), "staff": StaffFactory()}[who]
    client = browser(person)
    before = warehouses()

    responses = [client.get(LIST), client.post(LIST, NEW), client.get(edit_url(podolsk)),
                 client.post(edit_url(podolsk), {**NEW, "name": "Taken over"}), client.post(deactivate_url(podolsk)),
                 client.post(reactivate_url(podolsk))]

    if who == "anonymous":  # asked to log in, like the seller desk
        assert [r.status_code for r in responses] == [302] * 6
        assert all(r["Location"].startswith(reverse("account_login") + "?next=") for r in responses)
    else:  # refused, like the seller desk
        assert [r.status_code for r in responses] == [403] * 6
    assert warehouses() == before


def test_the_seller_desk_refuses_the_same_people():
    # The warehouse pages follow the desk: the same decorator, the same answers.
    assert browser().get(reverse("disputes:seller_desk")).status_code == 302
    assert browser(BuyerFactory()).get(reverse("disputes:seller_desk")).status_code == 403


def test_deactivating_and_reactivating_are_post_only(seller, podolsk):
    desk = browser(seller)

    assert desk.get(deactivate_url(podolsk)).status_code == 405
    assert desk.get(reactivate_url(podolsk)).status_code == 405
    assert row(podolsk)[-1] is True


# --- what is refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"name": "", "address": "  ", "city": "", "country": ""},
         {"name": ["This field is required."], "address": ["This field is required."],
          "city": ["This field is required."], "country": ["This field is required."]}),
        ({"country": "XX"}, {"country": ["Select a valid choice. XX is not one of the available choices."]}),
        ({"accepts_returns": ""},
         {"__all__": ["Tick what the warehouse does: it takes returns, stocks goods, or both."]}),
        ({"name": "Podolsk returns"}, {"name": ["You already have a warehouse named “Podolsk returns”."]}),
        ({"name": "x" * 201}, {"name": ["Ensure this value has at most 200 characters (it has 201)."]}),
    ],
    ids=["empty", "unknown_country", "no_role", "duplicate_name", "too_long"],
)
def test_a_bad_warehouse_is_refused_with_a_message_and_nothing_is_saved(changes, errors, seller, podolsk, theirs):
    desk = browser(seller)
    before = warehouses()

    added = desk.post(LIST, {**NEW, **changes})

    assert added.status_code == 422
    assert added.context["form"].errors == errors
    for message in [m for field in errors.values() for m in field]:
        assert message in added.content.decode()
    assert warehouses() == before

    other = WarehouseFactory(store=podolsk.store, name="Kazan", city="Kazan")
    before = warehouses()
    edited = desk.post(edit_url(other), {**NEW, "name": "Kazan", **changes})

    assert edited.status_code == 422
    assert edited.context["form"].errors == errors
    assert "<h1>Edit Kazan</h1>" in edited.content.decode()  # the stored name, not what was typed
    assert warehouses() == before


def test_another_stores_warehouse_name_is_free_to_use(store, seller, theirs):
    response = browser(seller).post(LIST, {**NEW, "name": "Silver Fox returns"})

    assert response.status_code == 302
    assert Warehouse.objects.filter(name="Silver Fox returns").count() == 2


def test_a_seller_cannot_hand_a_warehouse_to_another_store_or_to_the_marketplace(store, seller, podolsk, theirs):
    desk = browser(seller)

    desk.post(LIST, {**NEW, "store": theirs.store_id})
    desk.post(edit_url(podolsk), {**NEW, "name": "Podolsk returns", "store": ""})

    assert Warehouse.objects.get(name="Kazan returns").store_id == store.pk
    assert Warehouse.objects.get(pk=podolsk.pk).store_id == store.pk


# --- what return instructions make of it ----------------------------------------------------------


def test_a_warehouse_deactivated_in_the_seller_pages_is_no_longer_offered_nor_accepted(store, seller, podolsk):
    kazan = WarehouseFactory(store=store, name="Kazan returns", city="Kazan")
    dispute = DisputeFactory(order_line=disputable_line(store=store, warehouse_country=None))
    desk = browser(seller)
    page = reverse("disputes:dispute_detail", args=[dispute.pk])

    assert list(desk.get(page).context["forms"]["instructions"].fields["warehouse"].queryset) == [podolsk, kazan]
    desk.post(deactivate_url(podolsk))

    assert list(desk.get(page).context["forms"]["instructions"].fields["warehouse"].queryset) == [kazan]
    refused = desk.post(reverse("disputes:dispute_action", args=[dispute.pk, "instructions"]), {
        "warehouse": podolsk.pk, "method": "drop_off", "carrier": "Russian Post", "text": ""})
    assert refused.status_code == 422
    assert refused.context["forms"]["instructions"].errors == {"warehouse": [
        "This warehouse cannot take this return: it is inactive, takes no returns or is not one of the return "
        "warehouses for this buyer. Choose one from the list."]}
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_seller"
    assert ReturnInstructions.objects.count() == 0
    templates_page = desk.get(reverse("disputes:instruction_templates"))
    assert list(templates_page.context["form"].fields["warehouse"].queryset) == [kazan]


def test_instructions_sent_keep_their_address_after_the_seller_edits_and_deactivates_the_warehouse(
    store, seller, podolsk
):
    dispute = DisputeFactory(order_line=disputable_line(store=store, warehouse_country=None))
    InstructionTemplate.objects.create(store=store, name="Podolsk", warehouse=podolsk, carrier="CDEK", text="Hi.")
    desk = browser(seller)
    desk.post(reverse("disputes:dispute_action", args=[dispute.pk, "instructions"]), {
        "warehouse": podolsk.pk, "method": "drop_off", "carrier": "Russian Post", "text": ""})
    told = "Podolsk returns, 12 Klimovskaya Street, Podolsk, Russia"

    desk.post(edit_url(podolsk), {**NEW, "name": "Moved"})
    desk.post(deactivate_url(podolsk))

    assert row(podolsk) == (store.pk, "Moved", NEW["address"], "Kazan", "RU", True, False, False)
    buyer = browser(dispute.buyer)
    page = buyer.get(reverse("disputes:dispute_detail", args=[dispute.pk]))
    slip = buyer.get(reverse("disputes:return_slip", args=[dispute.pk]))
    assert (page.status_code, slip.status_code) == (200, 200)
    assert page.context["instructions_address"] == told
    assert "<address>Podolsk returns<br>12 Klimovskaya Street<br>Podolsk, Russia</address>" in slip.content.decode()
    assert "Tatarstan" not in page.content.decode() + slip.content.decode()


# --- query budgets ---------------------------------------------------------------------------------


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def many_warehouses(store, count: int, start: int) -> None:
    Warehouse.objects.bulk_create(
        Warehouse(store=store if i % 5 else None, name=f"Warehouse {start + i}", country="RU", city="Moscow",
                  address=f"{start + i} Test Street", accepts_returns=True, is_active=bool(i % 7))
        for i in range(count))


# Session, user, the bell's unread count, the store's name in the header, the store's
# warehouses (with the returns on their way counted in the same query), the marketplace's.
WAREHOUSE_LIST_BUDGET = 6


def test_the_warehouse_list_costs_the_same_with_3_or_50_warehouses(store, seller):
    desk = browser(seller)
    WarehouseFactory(store=store)
    many_warehouses(store, 2, 1)
    with_3 = query_count(desk, LIST)
    many_warehouses(store, 47, 3)
    with_50 = query_count(desk, LIST)

    assert Warehouse.objects.count() == 50
    # Measured (SQLite and PostgreSQL): 6 and 6.
    assert with_3 == with_50 <= WAREHOUSE_LIST_BUDGET


def test_the_admins_warehouse_list_costs_the_same_with_3_or_50_warehouses(store):
    staff = StaffFactory(is_superuser=True)
    admin = browser(staff)
    url = reverse("admin:catalog_warehouse_changelist")
    WarehouseFactory(store=store)
    many_warehouses(StoreFactory(), 2, 1)
    with_3 = query_count(admin, url)
    many_warehouses(StoreFactory(), 47, 3)
    with_50 = query_count(admin, url)

    # Measured (SQLite and PostgreSQL): 6 and 6; the operator column reads no store row by row.
    assert with_3 == with_50 <= 6
    page = admin.get(url).content.decode()
    for column in ("column-operator", "column-country", "column-accepts_returns", "column-is_active"):
        assert column in page
    assert '<td class="field-operator">Marketplace</td>' in page
    assert f'<td class="field-operator">{store.name}</td>' in page

