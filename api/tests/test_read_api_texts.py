"""The API's texts for codes (``state_text``, ``kind_text``, ``method_text``, ``outcome_text``,
``status_text``) say what the model's ``get_<field>_display()`` says, in the request's
language; and the list filtered by who must act keeps the flat query budget."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from accounts.tests.factories import SellerFactory
from api.tests.test_read_api import LIST, api, count_queries, detail, key_for
from catalog.models import Warehouse
from catalog.tests.factories import StoreFactory
from disputes.models import Dispute, DisputeEvent, Inspection, Refund, ReturnInstructions
from disputes.tests.bulk import bulk_disputes
from disputes.tests.factories import DisputeEventFactory, DisputeFactory, disputable_line

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_text_is_the_models_display_in_the_requests_language(language):
    store = StoreFactory(name="Watch House")
    dispute = DisputeFactory(order_line=disputable_line(store=store))
    member = SellerFactory(store=store)
    now = timezone.now()
    instructions = ReturnInstructions.objects.create(
        dispute=dispute, warehouse=Warehouse.objects.filter(store=store).first(), address={"city": "Moscow"},
        method="drop_off", carrier="Russian Post", text="Pack it well.", rma_code="RMA-TXT-1",
        ship_by=now + timedelta(days=10), issued_by=member)
    inspection = Inspection.objects.create(dispute=dispute, inspector=member, answers={},
                                           outcome=Inspection.Outcome.REJECTED, findings=[])
    refund = Refund.objects.create(dispute=dispute, order_line=dispute.order_line, amount=Decimal("100.00"),
                                   currency="RUB", idempotency_key="texts-1", status=Refund.Status.FAILED)
    event = DisputeEventFactory(dispute=dispute, actor=member, kind=DisputeEvent.Kind.INSTRUCTIONS_SENT,
                                from_state=Dispute.State.AWAITING_SELLER,
                                to_state=Dispute.State.AWAITING_BUYER_SHIPMENT, details={"rma_code": "RMA-TXT-1"})
    client = api(key_for(store), HTTP_ACCEPT_LANGUAGE=language)
    body = client.get(detail(dispute.pk)).json()
    [item] = client.get(LIST).json()["results"]
    with translation.override(language):
        assert body["state_text"] == item["state_text"] == dispute.get_state_display()
        assert body["timeline"][0]["kind_text"] == event.get_kind_display()
        assert body["instructions"]["method_text"] == instructions.get_method_display()
        assert body["inspection"]["outcome_text"] == inspection.get_outcome_display()
        assert body["refunds"][0]["status_text"] == refund.get_status_display()


def test_list_of_what_waits_for_the_store_keeps_a_flat_query_budget_from_10_to_1000():
    small = bulk_disputes(10, stores=1, prefix="S")
    large = bulk_disputes(1000, stores=1, prefix="L")
    counts = [count_queries(api(key_for(batch[0].store)), f"{LIST}?who=seller&page_size=200")
              for batch in (small, large)]
    assert counts[0] == counts[1] <= 10, counts
