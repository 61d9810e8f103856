"""Disputes, their timeline, messages and evidence; and the order lines they are opened on."""
import io
import zlib
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


def bomb_png(width: int = 13_000, height: int = 13_000, *, bit_depth: int = 1, colour_type: int = 0) -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels that packs to little: a decompression bomb.

    Written chunk by chunk and compressed row by row, so making it never holds the image in memory.
    The defaults (1-bit greyscale) give ~20 KiB; ``bit_depth=8, colour_type=2`` (RGB) gives the
    issue's size (~0.5 MiB) but takes a few seconds.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    channels = {0: 1, 2: 3}[colour_type]
    row = b"\x00" * (1 + (width * channels * bit_depth + 7) // 8)  # filter byte + the row's pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([bit_depth, colour_type, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# How ffmpeg starts the files it writes: an MP4 (ftyp isom, compatible isom iso2 avc1 mp41,
# then free and mdat) and a WebM (EBML header with DocType "webm", then the Segment).
MP4_HEADER = bytes.fromhex("000000206674797069736f6d0000020069736f6d69736f3261766331"
                           "6d70343100000008667265650000000c6d646174") + b"\x00" * 64
WEBM_HEADER = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d"
                            "4287810442858102185380670100000000000000") + b"\x00" * 64


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
