"""One e-mail of each kind, built as the portal builds it, for the tests that read them and for
the screenshot test (``returns_portal/tests/browser/test_email_screenshots.py``).

``SAMPLES`` lists (name, build): ``build(language)`` creates what the e-mail needs in the test
database and returns the e-mail (an ``EmailMultiAlternatives``, not sent) to a person who reads
``language``. To show another e-mail in the screenshots (account verification, a store
invitation), add a line here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounts.tests.email_samples import SAMPLES as ACCOUNT_SAMPLES
from accounts.tests.factories import BuyerFactory, SellerFactory
from catalog.models import Category
from catalog.tests.factories import CategoryFactory, StoreFactory
from disputes.digest import store_weeks, digest_email
from disputes.models import Dispute
from disputes.notices import warehouse_params
from disputes.tests.factories import DisputeFactory, disputable_line
from notifications.emails import notification_email
from notifications.models import Notification


@dataclass
class Built:
    email: EmailMultiAlternatives
    recipient: object
    dispute: Dispute | None = None


def _people(language: str):
    store = StoreFactory(name="Nordic Time")
    buyer = BuyerFactory(first_name="Anna", last_name="Petrova", language=language)
    seller = SellerFactory(first_name="Lars", last_name="Holm", store=store, language=language)
    return store, buyer, seller


def _dispute(store, buyer, *, title="Men's automatic watch", price=Decimal("12990.00"), **kwargs) -> Dispute:
    line = disputable_line(buyer=buyer, store=store, price=price,
                           category=CategoryFactory(name="Watches", kind=Category.Kind.JEWELRY))
    line.title = title
    line.save(update_fields=["title"])
    return DisputeFactory(order_line=line, **kwargs)


def _notify(recipient, dispute: Dispute | None, key: str, params: dict, anchor: str = "") -> Built:
    base = {"dispute": dispute.pk, "order": dispute.order_line.order.number,
            "title": dispute.order_line.title} if dispute else {}
    url = dispute.get_absolute_url() + anchor if dispute else params.pop("_url")
    notification = Notification.objects.create(recipient=recipient, key=key, params={**base, **params}, url=url)
    notification = Notification.objects.select_related("recipient").get(pk=notification.pk)
    return Built(notification_email(notification), recipient, dispute)


def reminder(language: str) -> Built:
    """A seller reminded the day before the deadline to answer a new dispute."""
    store, buyer, seller = _people(language)
    dispute = _dispute(store, buyer, deadline_at=timezone.now() + timedelta(hours=23, minutes=30))
    return _notify(seller, dispute, "disputes.reminder", {"deadline": dispute.deadline_at.isoformat()})


def message(language: str) -> Built:
    """A buyer told of the seller's message."""
    store, buyer, seller = _people(language)
    dispute = _dispute(store, buyer)
    return _notify(buyer, dispute, "disputes.message",
                   {"excerpt": "Hello! Could you send us a photo of the label on the box, please?"}, "#messages")


def outcome(language: str) -> Built:
    """A buyer given the return instructions (a dispute update)."""
    store, buyer, seller = _people(language)
    ship_by = timezone.now() + timedelta(days=10)
    dispute = _dispute(store, buyer, state=Dispute.State.AWAITING_BUYER_SHIPMENT, deadline_at=ship_by)
    warehouse = store.warehouses.get()
    return _notify(buyer, dispute, "disputes.instructions_sent.buyer",
                   {"warehouse": warehouse_params(warehouse), "carrier": "Russian Post", "ship_by": ship_by.isoformat(),
                    "rma": "RMA-7F3K2Q"})


def money(language: str) -> Built:
    """A buyer told the refund was paid (always e-mailed)."""
    store, buyer, seller = _people(language)
    dispute = _dispute(store, buyer, state=Dispute.State.REFUNDED, resolution=Dispute.Resolution.REFUNDED,
                       deadline_at=None, closed_at=timezone.now())
    return _notify(buyer, dispute, "disputes.refund_paid.buyer",
                   {"amount": str(dispute.amount), "currency": dispute.currency})


def digest(language: str) -> Built:
    """A seller's weekly digest: two disputes waiting for the store, one opened this week, one closed."""
    store, buyer, seller = _people(language)
    now = timezone.now()
    _dispute(store, buyer, deadline_at=now + timedelta(days=4, hours=3), created_at=now - timedelta(days=1))
    _dispute(store, buyer, title="Silk scarf", price=Decimal("3490.00"), state=Dispute.State.RETURN_IN_TRANSIT,
             deadline_at=now + timedelta(days=12), created_at=now - timedelta(days=20))
    _dispute(store, buyer, title="Leather watch strap", price=Decimal("1590.00"), state=Dispute.State.REFUNDED,
             resolution=Dispute.Resolution.REFUNDED, deadline_at=None, created_at=now - timedelta(days=15),
             closed_at=now - timedelta(days=2))
    return Built(digest_email(seller, store_weeks({store.pk}, now)[store.pk], now), seller)


def webhook(language: str) -> Built:
    """A store member told their webhook endpoint was disabled (no dispute behind it)."""
    store, buyer, seller = _people(language)
    return _notify(seller, None, "webhooks.endpoint_disabled",
                   {"url": "https://erp.nordic-time.example/hooks/returns", "count": 5,
                    "date": timezone.now().isoformat(), "_url": "/seller/webhooks/1/"})


BUILDERS: dict[str, Callable[[str], Built]] = {
    "reminder": reminder, "message": message, "outcome": outcome, "money": money, "digest": digest,
    "webhook": webhook,
}
# (name, build(language) -> the e-mail): what the screenshot test renders, one PNG per language.
SAMPLES: list[tuple[str, Callable[[str], EmailMultiAlternatives]]] = [
    *((name, (lambda build: lambda language: build(language).email)(build)) for name, build in BUILDERS.items()),
    *ACCOUNT_SAMPLES,  # sign-up verification, password reset, store invitation
]
