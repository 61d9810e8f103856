"""A store with a dispute in every state the API answers about, and its neighbours: another
store with disputes of its own, and staff tokens. Shared by the schema run
(``test_schemathesis``) and the authorization matrix (``test_authorization_matrix``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import Group

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from api.keys import issue_key, revoke_key
from api.models import ApiKey, IdempotentRequest
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import (
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    Inspection,
    InstructionTemplate,
    Refund,
    ReturnInstructions,
)
from disputes.services import (
    dispute_accept,
    dispute_counter_offer,
    dispute_escalate,
    dispute_message_post,
    dispute_reject,
    dispute_send_instructions,
    dispute_ship,
)
from disputes.tests.factories import DisputeFactory, disputable_line, photo
from notifications.models import Notification
from webhooks.models import WebhookEndpoint
from webhooks.tests.factories import EndpointFactory

PAID = Decimal("2490.00")
S = Dispute.State


@dataclass
class StoreWorld:
    store: object
    seller: object
    buyer: object
    warehouse: object
    key: str
    disputes: dict[str, Dispute] = field(default_factory=dict)
    files: dict[str, DisputeAttachment] = field(default_factory=dict)
    template: InstructionTemplate | None = None
    webhook: WebhookEndpoint | None = None


@dataclass
class World:
    ours: StoreWorld
    theirs: StoreWorld
    revoked_key: str
    staff_tokens: dict[str, str]  # group name -> token

    def dispute_ids(self) -> list[int]:
        return [d.pk for d in self.ours.disputes.values()]


def _dispute(buyer, store, *, refund_only: bool = False) -> Dispute:
    line = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)
    if refund_only:
        return DisputeFactory(order_line=line, buyer=buyer, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE)
    return DisputeFactory(order_line=line, buyer=buyer)


def store_world(name: str, buyer_name: str, *, every_state: bool) -> StoreWorld:
    store = StoreFactory(name=name)
    seller = SellerFactory(store=store)
    buyer = BuyerFactory(country="RU", username=buyer_name.lower(), first_name=buyer_name, last_name="Testova")
    warehouse = WarehouseFactory(store=store, country="RU", city="Podolsk", name=f"{name} returns")
    world = StoreWorld(store=store, seller=seller, buyer=buyer, warehouse=warehouse,
                       key=issue_key(store=store, user=seller, name="ERP")[1])
    # Made first, so every event below records a delivery to it (queued on commit: never sent here).
    world.webhook = EndpointFactory(store=store, url=f"https://hooks.example.com/{store.pk}/returns")
    world.template = InstructionTemplate.objects.create(store=store, name=f"{name} template", warehouse=warehouse,
                                                        method="drop_off", carrier="Russian Post", text="Keep it.")
    d = world.disputes
    d["local_awaiting_seller"] = _dispute(buyer, store)
    dispute_message_post(dispute=d["local_awaiting_seller"], author=buyer, body=f"Where do I send it? {name}",
                         files=[photo("question.png")])
    world.files["local_awaiting_seller"] = DisputeAttachment.objects.get(dispute=d["local_awaiting_seller"])
    d["refund_awaiting_seller"] = _dispute(buyer, store, refund_only=True)
    if not every_state:
        return world

    d["awaiting_buyer_shipment"] = _dispute(buyer, store)
    dispute_send_instructions(dispute=d["awaiting_buyer_shipment"], seller=seller, warehouse=warehouse,
                              method="drop_off", carrier="Russian Post", text="Keep the receipt.")
    d["return_in_transit"] = _dispute(buyer, store)
    dispute_send_instructions(dispute=d["return_in_transit"], seller=seller, warehouse=warehouse,
                              method="drop_off", carrier="Russian Post")
    dispute_ship(dispute=d["return_in_transit"], buyer=buyer, carrier="Russian Post", tracking_number="RR123456785RU")
    d["counter_offered"] = _dispute(buyer, store, refund_only=True)
    dispute_counter_offer(dispute=d["counter_offered"], seller=seller, amount=Decimal("1000.00"), message="Half?")
    d["rejected"] = _dispute(buyer, store, refund_only=True)
    dispute_reject(dispute=d["rejected"], seller=seller, reason="Used.", evidence=[photo("evidence.png")])
    world.files["rejected"] = DisputeAttachment.objects.get(dispute=d["rejected"])
    d["escalated"] = _dispute(buyer, store, refund_only=True)
    dispute_reject(dispute=d["escalated"], seller=seller, reason="Used.")
    dispute_escalate(dispute=d["escalated"], buyer=buyer, reason="It was new.")
    d["refund_pending"] = _dispute(buyer, store, refund_only=True)
    dispute_accept(dispute=d["refund_pending"], seller=seller)
    for name_, dispute in d.items():
        dispute.refresh_from_db()
        assert dispute.state == {"local_awaiting_seller": S.AWAITING_SELLER,
                                 "refund_awaiting_seller": S.AWAITING_SELLER}.get(name_, name_), (name_, dispute.state)
    return world


def staff_token(group: str) -> str:
    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name=group))
    return issue_key(store=None, user=staff, name=f"{group} desk")[1]


def build_world(*, every_state: bool = True, staff: bool = True) -> World:
    """``staff=False`` for tests with ``transaction=True``: they flush the groups the migrations made."""
    ours = store_world("Golden Dragon Trading", "Anna", every_state=every_state)
    theirs = store_world("Silver Crane Goods", "Boris", every_state=False)
    old_key, revoked = issue_key(store=ours.store, user=ours.seller, name="Old ERP")
    revoke_key(key=old_key, user=ours.seller)
    return World(ours=ours, theirs=theirs, revoked_key=revoked,
                 staff_tokens={group: staff_token(group) for group in ("Support agent", "Supervisor")} if staff else {})


def snapshot() -> dict:
    """Everything a request to the API may write: compared before and after a refusal."""
    return {
        "disputes": list(Dispute.objects.order_by("pk").values()),
        "events": list(DisputeEvent.objects.order_by("pk").values()),
        "instructions": list(ReturnInstructions.objects.order_by("pk").values()),
        "inspections": list(Inspection.objects.order_by("pk").values()),
        "refunds": list(Refund.objects.order_by("pk").values()),
        "messages": list(DisputeMessage.objects.order_by("pk").values()),
        "attachments": list(DisputeAttachment.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values()),
        "idempotency": list(IdempotentRequest.objects.order_by("pk").values()),
        "keys": list(ApiKey.objects.order_by("pk").values("pk", "revoked_at", "name", "store_id")),
    }
