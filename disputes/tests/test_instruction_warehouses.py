"""Where return instructions may send the goods, and that what the buyer was told stays told.

The rule: a local return goes to an active warehouse that takes returns, of the store or of
the marketplace, in the buyer's delivery country; an international return goes to one of the
store's own active warehouses that take returns, in whichever country the store takes its
goods back. Instructions keep the warehouse's address as the buyer was told it: the store
may edit or deactivate the warehouse afterwards without moving a parcel already on its way."""
import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory
from catalog.models import Warehouse
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import Dispute, DisputeEvent, InstructionTemplate, ReturnInstructions
from disputes.services import dispute_send_instructions
from disputes.tests.factories import DisputeFactory, disputable_line
from notifications.models import Notification
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
NOT_OFFERED = ("This warehouse cannot take this return: it is inactive, takes no returns or is not one of the "
               "return warehouses for this buyer. Choose one from the list.")
LOCAL_REFUSAL = "Choose an active return warehouse in the buyer's country."
INTERNATIONAL_REFUSAL = "Choose one of your store's active warehouses that take returns."
PODOLSK = {"name": "Golden Dragon returns, Podolsk", "address": "12 Klimovskaya Street", "city": "Podolsk",
           "country": "RU"}


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def store():
    return StoreFactory(name="Golden Dragon Trading", country="CN")


@pytest.fixture
def warehouse(store):
    return WarehouseFactory(store=store, **PODOLSK)


@pytest.fixture
def seller(store):
    return SellerFactory(store=store, username="golden-dragon")


@pytest.fixture
def buyer():
    return BuyerFactory(country="RU", username="anna")


@pytest.fixture
def local(buyer, store, warehouse) -> Dispute:
    """A local return to Russia waiting for the seller's instructions."""
    return DisputeFactory(order_line=disputable_line(buyer=buyer, store=store, warehouse_country=None), buyer=buyer)


@pytest.fixture
def international(store, warehouse) -> Dispute:
    """A buyer in Ukraine returning abroad, waiting for the seller's instructions."""
    line = disputable_line(buyer=BuyerFactory(country="UA"), store=store, warehouse_country=None)
    return DisputeFactory(order_line=line, route=Dispute.Route.INTERNATIONAL)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send_url(dispute) -> str:
    return reverse("disputes:dispute_action", args=[dispute.pk, "instructions"])


def written() -> dict:
    """Everything sending instructions writes: compared before and after a refusal."""
    return {
        "disputes": list(Dispute.objects.order_by("pk").values()),
        "events": list(DisputeEvent.objects.order_by("pk").values()),
        "instructions": list(ReturnInstructions.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values("pk", "key", "params")),
        "warehouses": list(Warehouse.objects.order_by("pk").values()),
    }


def send(dispute, seller, warehouse) -> Dispute:
    return dispute_send_instructions(dispute=dispute, seller=seller, warehouse=warehouse, method="drop_off",
                                     carrier="Russian Post", text="Keep the receipt.")


def offered(response) -> list:
    return list(response.context["forms"]["instructions"].fields["warehouse"].queryset)


# --- what may be offered and sent --------------------------------------------------------------


def test_a_local_return_is_offered_every_return_point_in_the_buyers_country_and_nothing_else(
    local, seller, store, warehouse
):
    marketplace = WarehouseFactory(store=None, country="RU", city="Podolsk", name="Marketplace returns")
    WarehouseFactory(store=store, country="RU", name="Closed", is_active=False)
    WarehouseFactory(store=store, country="RU", name="Stock only", accepts_returns=False, stocks_goods=True)
    WarehouseFactory(store=store, country="KZ", name="Almaty")
    WarehouseFactory(store=StoreFactory(), country="RU", name="Someone else's")
    WarehouseFactory(store=None, country="RU", name="Marketplace, closed", is_active=False)

    page = browser(seller).get(reverse("disputes:dispute_detail", args=[local.pk]))

    assert offered(page) == [warehouse, marketplace]  # the store's own first


def test_an_international_return_is_offered_only_the_stores_own_return_warehouses(international, seller, store,
                                                                                   warehouse):
    shenzhen = WarehouseFactory(store=store, country="CN", city="Shenzhen", name="Shenzhen returns")
    WarehouseFactory(store=None, country="UA", city="Kyiv", name="Marketplace, Kyiv")
    WarehouseFactory(store=None, country="RU", name="Marketplace, Moscow")
    WarehouseFactory(store=store, country="CN", name="Closed", is_active=False)
    WarehouseFactory(store=store, country="CN", name="Stock only", accepts_returns=False, stocks_goods=True)

    page = browser(seller).get(reverse("disputes:dispute_detail", args=[international.pk]))

    assert offered(page) == [warehouse, shenzhen]
    assert page.context["forms"]["instructions"]["warehouse"].value() == warehouse.pk


def test_an_international_return_from_a_country_with_a_marketplace_return_point_starts_from_the_stores_own(
    seller, store, warehouse
):
    # A buyer in Russia chose to return abroad although local return was possible: the form
    # must not start from the marketplace's return point the default local instructions name.
    Warehouse.objects.filter(pk=warehouse.pk).update(country="CN", city="Shenzhen")
    WarehouseFactory(store=None, country="RU", city="Podolsk", name="Marketplace returns")
    dispute = DisputeFactory(order_line=disputable_line(store=store, warehouse_country=None),
                             route=Dispute.Route.INTERNATIONAL)

    form = browser(seller).get(reverse("disputes:dispute_detail", args=[dispute.pk])).context["forms"]["instructions"]

    assert form["warehouse"].value() == warehouse.pk
    assert list(form.fields["warehouse"].queryset) == [warehouse]


@pytest.mark.parametrize("route", ["local", "international"])
@pytest.mark.parametrize("flaw", ["inactive", "takes_no_returns"])
def test_the_seller_is_refused_a_warehouse_that_is_inactive_or_takes_no_returns(
    request, route, flaw, seller, store
):
    dispute = request.getfixturevalue(route)
    bad = WarehouseFactory(store=store, country="RU" if route == "local" else "CN", name="Bad",
                           **({"is_active": False} if flaw == "inactive" else
                              {"accepts_returns": False, "stocks_goods": True}))
    before = written()

    response = browser(seller).post(send_url(dispute), {"warehouse": bad.pk, "method": "drop_off",
                                                        "carrier": "Russian Post", "text": ""})

    assert response.status_code == 422
    assert response.context["forms"]["instructions"].errors == {"warehouse": [NOT_OFFERED]}
    assert NOT_OFFERED in response.content.decode()
    assert written() == before

    # The service refuses it too (the form is only the first check), and nothing changes.
    with pytest.raises(DomainError) as refused:
        send(dispute, seller, bad)

    assert refused.value.code == ErrorCode.INVALID_WAREHOUSE
    assert refused.value.message == (LOCAL_REFUSAL if route == "local" else INTERNATIONAL_REFUSAL)
    assert written() == before
    assert Dispute.objects.get(pk=dispute.pk).state == Dispute.State.AWAITING_SELLER


@pytest.mark.parametrize("where", ["marketplace_in_ukraine", "marketplace_in_russia", "another_store"])
def test_an_international_return_cannot_go_to_a_warehouse_that_is_not_the_stores(where, international, seller):
    other = {
        "marketplace_in_ukraine": lambda: WarehouseFactory(store=None, country="UA", city="Kyiv"),
        "marketplace_in_russia": lambda: WarehouseFactory(store=None, country="RU"),
        "another_store": lambda: WarehouseFactory(store=StoreFactory(), country="CN"),
    }[where]()
    before = written()

    with pytest.raises(DomainError) as refused:
        send(international, seller, other)

    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_WAREHOUSE, INTERNATIONAL_REFUSAL)
    assert written() == before


def test_a_template_whose_warehouse_was_deactivated_is_refused_with_its_name(local, seller, store, warehouse):
    template = InstructionTemplate.objects.create(store=store, name="Podolsk", warehouse=warehouse,
                                                  carrier="CDEK", text="Courier.")
    Warehouse.objects.filter(pk=warehouse.pk).update(is_active=False)
    WarehouseFactory(store=None, country="RU", name="Marketplace returns")  # something is still offered
    before = written()

    response = browser(seller).post(send_url(local), {"template": template.pk, "warehouse": "", "method": "",
                                                      "carrier": "", "text": ""})

    assert response.status_code == 422
    assert response.context["forms"]["instructions"].errors == {"warehouse": [
        "The template's warehouse, Golden Dragon returns, Podolsk, cannot take this return: choose one from the "
        "list."]}
    assert written() == before


def test_the_templates_page_offers_only_active_return_warehouses_and_flags_a_templates_dead_one(
    seller, store, warehouse
):
    closed = WarehouseFactory(store=store, country="RU", name="Closed")
    InstructionTemplate.objects.create(store=store, name="Old", warehouse=closed, carrier="CDEK", text="Old.")
    Warehouse.objects.filter(pk=closed.pk).update(is_active=False)
    WarehouseFactory(store=store, country="RU", name="Stock only", accepts_returns=False, stocks_goods=True)
    marketplace = WarehouseFactory(store=None, country="RU", name="Marketplace returns")

    page = browser(seller).get(reverse("disputes:instruction_templates"))

    assert list(page.context["form"].fields["warehouse"].queryset) == [warehouse, marketplace]
    assert "This warehouse no longer takes returns: choose another when you use the template." in (
        page.content.decode())
    refused = browser(seller).post(reverse("disputes:instruction_templates"), {
        "name": "New", "warehouse": closed.pk, "method": "drop_off", "carrier": "CDEK", "text": "New."})
    assert refused.status_code == 422
    assert refused.context["form"].errors == {"warehouse": [
        "This warehouse cannot take returns: it is inactive, takes no returns or is not yours. Choose one from the "
        "list."]}
    assert InstructionTemplate.objects.filter(name="New").count() == 0


# --- what the buyer was told stays told ---------------------------------------------------------


def test_instructions_keep_the_address_the_buyer_was_told(local, seller, warehouse):
    send(local, seller, warehouse)

    instructions = ReturnInstructions.objects.get()
    told = Notification.objects.get(key="disputes.instructions_sent.buyer")
    assert instructions.address == PODOLSK == told.params["warehouse"]


def test_the_page_and_the_slip_keep_the_address_after_the_store_edits_and_deactivates_the_warehouse(
    local, buyer, seller, warehouse
):
    send(local, seller, warehouse)
    Warehouse.objects.filter(pk=warehouse.pk).update(name="Moved", address="1 New Road", city="Kazan",
                                                     is_active=False, accepts_returns=False)
    anna = browser(buyer)

    page = anna.get(reverse("disputes:dispute_detail", args=[local.pk]))
    slip = anna.get(reverse("disputes:return_slip", args=[local.pk]))

    assert (page.status_code, slip.status_code) == (200, 200)
    assert page.context["instructions_address"] == (
        "Golden Dragon returns, Podolsk, 12 Klimovskaya Street, Podolsk, Russia")
    assert "<dd>Golden Dragon returns, Podolsk, 12 Klimovskaya Street, Podolsk, Russia</dd>" in page.content.decode()
    assert ("<address>Golden Dragon returns, Podolsk<br>12 Klimovskaya Street<br>Podolsk, Russia</address>"
            in slip.content.decode())
    for response in (page, slip):
        assert "New Road" not in response.content.decode() and "Kazan" not in response.content.decode()
    # The seller's view of the dispute says the same.
    assert browser(seller).get(reverse("disputes:dispute_detail", args=[local.pk])).context[
        "instructions_address"] == page.context["instructions_address"]


def test_a_deactivated_warehouse_still_takes_the_buyers_parcel(local, buyer, seller, warehouse):
    send(local, seller, warehouse)
    Warehouse.objects.filter(pk=warehouse.pk).update(is_active=False)

    shipped = browser(buyer).post(reverse("disputes:dispute_action", args=[local.pk, "ship"]),
                                  {"carrier": "Russian Post", "tracking_number": "RR123456785RU"})

    assert shipped.status_code == 302
    assert Dispute.objects.get(pk=local.pk).state == Dispute.State.RETURN_IN_TRANSIT


# --- instructions issued before addresses were kept ----------------------------------------------


def test_the_migration_fills_each_address_from_the_buyers_notification_else_the_warehouse(local, seller, store,
                                                                                          warehouse):
    migration = importlib.import_module("disputes.migrations.0007_instructions_address_snapshot")
    send(local, seller, warehouse)
    second = DisputeFactory(order_line=disputable_line(store=store, warehouse_country=None))
    send(second, seller, warehouse)
    told, untold = ReturnInstructions.objects.get(dispute=local), ReturnInstructions.objects.get(dispute=second)
    # As a database migrated from before: no address kept; the buyer of the second dispute
    # has lost their notification; the warehouse moved since the first buyer was told.
    ReturnInstructions.objects.update(address={})
    Notification.objects.filter(params__rma=untold.rma_code).delete()
    Warehouse.objects.filter(pk=warehouse.pk).update(address="1 New Road", city="Kazan")

    migration.fill_addresses(apps, None)

    assert ReturnInstructions.objects.get(pk=told.pk).address == PODOLSK
    assert ReturnInstructions.objects.get(pk=untold.pk).address == {**PODOLSK, "address": "1 New Road",
                                                                     "city": "Kazan"}
