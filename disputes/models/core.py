from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from returns_portal.labels import choice_label

from ..uploads import evidence_upload_to, private_storage


class Dispute(models.Model):
    """A buyer's claim on one order line: a return (local or international) or a refund only."""

    class Kind(models.TextChoices):
        RETURN = "return", _("Return goods and money")
        REFUND_ONLY = "refund_only", _("Refund only (keep the goods)")

    class Route(models.TextChoices):
        NONE = "", _("No return")
        LOCAL = "local", _("Local return")
        INTERNATIONAL = "international", _("International return")

    class State(models.TextChoices):
        AWAITING_SELLER = "awaiting_seller", _("Waiting for the seller")
        AWAITING_BUYER_SHIPMENT = "awaiting_buyer_shipment", _("Waiting for the buyer to ship")
        RETURN_IN_TRANSIT = "return_in_transit", _("Return on its way")
        COUNTER_OFFERED = "counter_offered", _("Seller made a counter-offer")
        REJECTED = "rejected", _("Rejected by the seller")
        ESCALATED = "escalated", _("With marketplace staff")
        REFUND_PENDING = "refund_pending", _("Refund being paid")
        REFUNDED = "refunded", _("Refunded")
        CLOSED = "closed", _("Closed")

    class Resolution(models.TextChoices):
        NONE = "", _("Open")
        WITHDRAWN = "withdrawn", _("Withdrawn by the buyer")
        REJECTED = "rejected", _("Closed as rejected")
        BUYER_TIMEOUT = "buyer_timeout", _("Closed: the buyer did not ship in time")
        REFUNDED = "refunded", _("Refunded")

    class Reason(models.TextChoices):
        CHANGED_MIND = "changed_mind", _("Changed my mind")
        NOT_AS_EXPECTED = "not_as_expected", _("Colour, size or shape not as expected")
        SMELL = "smell", _("Unpleasant smell")
        NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
        DAMAGED = "damaged", _("Damaged")
        WRONG_ITEM = "wrong_item", _("Wrong item")
        OTHER = "other", _("Other")

    TERMINAL_STATES = frozenset({State.REFUNDED, State.CLOSED})

    order_line = models.ForeignKey(
        "orders.OrderLine", verbose_name=_("order line"), on_delete=models.PROTECT, related_name="disputes"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="disputes"
    )
    store = models.ForeignKey(
        "catalog.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="disputes"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    route = models.CharField(_("route"), max_length=20, choices=Route.choices, blank=True, default="")
    state = models.CharField(_("state"), max_length=30, choices=State.choices, default=State.AWAITING_SELLER)
    resolution = models.CharField(_("resolution"), max_length=20, choices=Resolution.choices, blank=True, default="")
    amount = models.DecimalField(_("compensation"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    description = models.TextField(_("description"), blank=True)
    counter_offer_amount = models.DecimalField(
        _("seller's counter-offer"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    seller_answer = models.TextField(_("seller's answer"), blank=True)
    # The deadline of the current step; NULL when nobody is on the clock.
    deadline_at = models.DateTimeField(_("current deadline"), null=True, blank=True)
    # The deadline a reminder was last sent for (one reminder per deadline).
    reminded_deadline_at = models.DateTimeField(_("reminded for deadline"), null=True, blank=True)
    # Set once when an escalated dispute passes the staff SLA; it stays open, flagged.
    overdue_flagged_at = models.DateTimeField(_("flagged overdue"), null=True, blank=True)
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # A withdrawal remembers the step it left, so that reopening resumes it (DESIGN §3).
    withdrawn_from = models.CharField(_("withdrawn from"), max_length=30, choices=State.choices, blank=True)
    # Set when the buyer reopens a withdrawn dispute: that happens at most once.
    reopened_at = models.DateTimeField(_("reopened"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        permissions = [("decide_dispute", _("Can decide escalated disputes"))]
        indexes = [
            models.Index(fields=["state", "deadline_at"], name="dispute_state_deadline"),
            models.Index(fields=["buyer", "-created_at"], name="dispute_buyer_created"),
            models.Index(fields=["store", "state"], name="dispute_store_state"),
            # The staff's list: the most urgent first, ended disputes last (its first page
            # is read from the index instead of sorting every dispute). PostgreSQL's default
            # ascending order already puts NULLs last; SQLite cannot state it in an index.
            models.Index(fields=["deadline_at", "-id"], name="dispute_deadline_order"),
            # A store's disputes in the API's order, oldest change first (its cursor pages).
            models.Index(fields=["store", "updated_at", "id"], name="dispute_store_updated"),
        ]
        constraints = [
            # One open dispute per order line, enforced by the database itself.
            models.UniqueConstraint(
                fields=["order_line"],
                condition=~Q(state__in=["refunded", "closed"]),
                name="dispute_one_open_per_line",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=(Q(kind="return") & Q(route__in=["local", "international"]))
                | (Q(kind="refund_only") & Q(route="")),
                name="dispute_route_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        """"Dispute #12 — Men's automatic watch (DEMO-1002)", in titles, breadcrumbs and
        selects. Reads the order line and its order: select them with the dispute."""
        return _("Dispute #%(id)s — %(title)s (%(order)s)") % {
            "id": self.pk, "title": self.order_line.title, "order": self.order_line.order.number}

    def get_absolute_url(self) -> str:
        return reverse("disputes:dispute_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state not in self.TERMINAL_STATES

    @property
    def is_overdue(self) -> bool:
        """Open and past the current step's deadline (``queues.overdue`` asks the database)."""
        return self.is_open and self.deadline_at is not None and self.deadline_at < timezone.now()

    @property
    def is_local_return(self) -> bool:
        return self.kind == self.Kind.RETURN and self.route == self.Route.LOCAL

    @property
    def needs_evidence(self) -> bool:
        return not self.is_local_return

    @property
    def kind_label(self) -> str:
        kind = choice_label(self.Kind, self.kind)
        if self.kind == self.Kind.RETURN:
            return f"{kind}: {choice_label(self.Route, self.route)}"
        return kind


class DisputeEventQuerySet(models.QuerySet):
    def for_parties(self) -> "DisputeEventQuerySet":
        """What the buyer and the store may read: without staff-only entries (internal notes)."""
        return self.exclude(kind__in=DisputeEvent.STAFF_ONLY_KINDS)


class DisputeEvent(models.Model):
    """Append-only timeline: who did what, when, from which state to which. A move that keeps
    the state (a staff note, an extended deadline) has ``from_state == to_state``."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Dispute opened")
        WITHDRAWN = "withdrawn", _("Dispute withdrawn")
        REOPENED = "reopened", _("Dispute reopened")
        INSTRUCTIONS_SENT = "instructions_sent", _("Return instructions sent")
        SHIPPED = "shipped", _("Return shipped")
        ACCEPTED = "accepted", _("Seller accepted")
        COUNTER_OFFERED = "counter_offered", _("Seller made a counter-offer")
        OFFER_ACCEPTED = "offer_accepted", _("Buyer accepted the counter-offer")
        REJECTED = "rejected", _("Seller rejected")
        REJECTION_ACCEPTED = "rejection_accepted", _("Buyer accepted the rejection")
        ESCALATED = "escalated", _("Escalated to marketplace staff")
        INSPECTED = "inspected", _("Goods received and inspected")
        STAFF_DECIDED = "staff_decided", _("Marketplace staff decided")
        REFUND_PAID = "refund_paid", _("Refund paid")
        REFUND_FAILED = "refund_failed", _("Refund payment failed")
        REFUND_APPROVED = "refund_approved", _("Refund approved by a second staff member")
        DEADLINE_PASSED = "deadline_passed", _("Deadline passed")
        STAFF_OVERDUE = "staff_overdue", _("Staff decision overdue")
        DEADLINE_EXTENDED = "deadline_extended", _("Deadline extended")
        STAFF_NOTE = "staff_note", _("Internal staff note")
        RECLASSIFIED = "reclassified", _("Reason for the dispute changed")
        MANUAL_REFUND = "manual_refund", _("Manual refund")

    # Entries only staff read: never on the buyer's or the seller's pages, in their
    # notifications or anything a store's systems receive.
    STAFF_ONLY_KINDS = frozenset({Kind.STAFF_NOTE})

    dispute = models.ForeignKey(Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system acted (a deadline passed)."),
    )
    kind = models.CharField(_("what"), max_length=30, choices=Kind.choices)
    from_state = models.CharField(_("from"), max_length=30, choices=Dispute.State.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=30, choices=Dispute.State.choices, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    objects = DisputeEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        indexes = [models.Index(fields=["dispute", "created_at"], name="dispute_event_timeline")]

    def __str__(self) -> str:
        return f"{self.dispute_id}: {self.get_kind_display()}"


class DisputeMessage(models.Model):
    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["dispute", "created_at"], name="dispute_message_thread")]

    def __str__(self) -> str:
        return f"{self.dispute_id}: {self.body[:40]}"


class DisputeAttachment(models.Model):
    """A photo or video: evidence given at opening (no message, no inspection), attached to
    a message, or taken by the inspector of returned goods.

    Stored in private storage (outside static files, not web-served); the file view
    streams it only to the dispute's buyer, its seller and staff.
    """

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        DisputeMessage,
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    inspection = models.ForeignKey(
        "disputes.Inspection",
        verbose_name=_("inspection"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), upload_to=evidence_upload_to, storage=private_storage, max_length=300)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    def get_absolute_url(self) -> str:
        return reverse("disputes:attachment", args=[self.dispute_id, self.pk])
