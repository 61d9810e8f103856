"""Disputes, their timeline, messages and evidence; and the order lines they are opened on."""
import io
from datetime import timedelta
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.tests.factories import BuyerFactory
from catalog.models import Category
from catalog.tests.factories import CategoryFactory, ProductFactory, StoreFactory, WarehouseFactory
from disputes.models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage
from orders.models import OrderLine
from orders.tests.factories import order_with_line


def image_bytes(image_format: str = "PNG", size=(32, 24)) -> bytes:
    """Real image bytes: evidence is judged by its content, so a fake header would be refused."""
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, image_format)
    return buffer.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")


def photo(name: str = "photo.png", content: bytes = PNG, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def pdf(name: str = "receipt.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
                              content_type="application/pdf")


def disputable_line(
    *,
    buyer=None,
    country: str = "RU",
    price: Decimal = Decimal("2490.00"),
    local_return: bool = True,
    category=None,
    store=None,
    warehouse_country: str | None = "RU",
    delivered_days_ago: float = 1,
) -> OrderLine:
    """A delivered line inside buyer protection: by default the demo's Russian buyer, an opted-in
    product of a store with an active return warehouse in Russia (the store's own)."""
    buyer = buyer or BuyerFactory(country=country)
    store = store or StoreFactory()
    if warehouse_country:
        WarehouseFactory(store=store, country=warehouse_country, city="Moscow", name=f"{store.name} returns")
    delivered_at = timezone.now() - timedelta(days=delivered_days_ago)
    order = order_with_line(
        buyer=buyer,
        store=store,
        delivered=True,
        delivered_at=delivered_at,
        shipped_at=delivered_at - timedelta(days=3),
        line__product=ProductFactory(
            store=store,
            price=price,
            local_return=local_return,
            category=category or CategoryFactory(name="T-shirts", kind=Category.Kind.APPAREL),
        ),
    )
    return order.lines.get()


class DisputeFactory(factory.django.DjangoModelFactory):
    """An open local return on a delivered line, waiting for the seller (as ``dispute_open`` leaves it)."""

    class Meta:
        model = Dispute

    order_line = factory.LazyFunction(disputable_line)
    buyer = factory.LazyAttribute(lambda d: d.order_line.order.buyer)
    store = factory.LazyAttribute(lambda d: d.order_line.order.store)
    kind = Dispute.Kind.RETURN
    route = Dispute.Route.LOCAL
    state = Dispute.State.AWAITING_SELLER
    amount = factory.LazyAttribute(lambda d: d.order_line.refundable_amount)
    currency = factory.LazyAttribute(lambda d: d.order_line.order.currency)
    reason = Dispute.Reason.CHANGED_MIND
    deadline_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))

    class Params:
        withdrawn = factory.Trait(
            state=Dispute.State.CLOSED,
            resolution=Dispute.Resolution.WITHDRAWN,
            deadline_at=None,
            closed_at=factory.LazyFunction(timezone.now),
        )


class DisputeEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisputeEvent

    dispute = factory.SubFactory(DisputeFactory)
    actor = factory.LazyAttribute(lambda e: e.dispute.buyer)
    kind = DisputeEvent.Kind.REOPENED


class DisputeMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisputeMessage

    dispute = factory.SubFactory(DisputeFactory)
    author = factory.LazyAttribute(lambda m: m.dispute.buyer)
    body = factory.Sequence(lambda n: f"Message {n}")


class DisputeAttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisputeAttachment

    dispute = factory.SubFactory(DisputeFactory)
    message = None
    uploaded_by = factory.LazyAttribute(lambda a: a.dispute.buyer)
    content_type = "image/png"
    file = factory.LazyFunction(lambda: ContentFile(PNG, name="photo.png"))
    original_name = "photo.png"
    size = len(PNG)



def notes(since: int = 0, **filters) -> list[tuple[int, str, str]]:
    """Notifications as their recipients read them (rendered now): (recipient id, subject,
    link), oldest first, after the first ``since``."""
    from notifications.models import Notification

    return [(n.recipient_id, n.subject, n.url)
            for n in Notification.objects.filter(**filters).order_by("pk")[since:]]


def the_notification(*, subject: str, **filters):
    """The one notification with this rendered subject (among those matching ``filters``)."""
    from notifications.models import Notification

    [found] = [n for n in Notification.objects.filter(**filters) if n.subject == subject]
    return found
