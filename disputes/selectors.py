"""Reads of disputes, always scoped to the person asking."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, F, Prefetch, QuerySet, Window
from django.utils import timezone

from accounts.models import User
from catalog.models import Category, Warehouse
from orders.models import Order, OrderLine

from .lifecycle import OPEN_STATES, Party, states_where
from .models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage, ReturnInstructions
from .rules.base import ChainResult
from .rules.conditions import RETURN_CONDITIONS, ReturnCondition, conditions_for
from .rules.eligibility import KIND_RETURN, ROUTE_LOCAL, DisputeFacts, EarlierDispute, check_eligibility


def disputes_visible_to(user: User) -> QuerySet[Dispute]:
    """A seller sees its store's disputes, a buyer their own, staff with the permission to
    view disputes every one; anyone else none (the staff flag alone grants nothing)."""
    disputes = Dispute.objects.select_related(
        "order_line__order", "order_line__product__category", "store", "buyer",
        "instructions", "shipment", "inspection",
    )
    if not user.is_authenticated or not user.is_active:
        return disputes.none()
    if user.is_staff and user.has_perm("disputes.view_dispute"):
        return disputes
    if user.store_id:
        return disputes.filter(store_id=user.store_id)
    return disputes.filter(buyer=user)


SELLER_MUST_ACT = states_where(Party.SELLER)
# The buyer was told where to send the goods and they have not been received yet.
RETURN_ON_ITS_WAY = frozenset({Dispute.State.AWAITING_BUYER_SHIPMENT, Dispute.State.RETURN_IN_TRANSIT})


def returns_on_their_way() -> QuerySet[ReturnInstructions]:
    """Return instructions whose goods are still headed for their warehouse (at the address
    the buyer was told, ``ReturnInstructions.address``, whatever the store changed since)."""
    return ReturnInstructions.objects.filter(dispute__state__in=RETURN_ON_ITS_WAY)


def disputes_for_seller(seller: User, *, status: str = "action", kind: str = "") -> QuerySet[Dispute]:
    """The store's disputes, most urgent first (nearest deadline; no deadline last).
    ``status``: "action" (the seller must act), "open", "closed" or "all"."""
    if not seller.store_id:
        return Dispute.objects.none()
    disputes = Dispute.objects.filter(store_id=seller.store_id).select_related("order_line__order", "buyer")
    if status == "action":
        disputes = disputes.filter(state__in=SELLER_MUST_ACT)
    elif status == "open":
        disputes = disputes.filter(state__in=OPEN_STATES)
    elif status == "closed":
        disputes = disputes.exclude(state__in=OPEN_STATES)
    if kind in Dispute.Kind.values:
        disputes = disputes.filter(kind=kind)
    return disputes.order_by(F("deadline_at").asc(nulls_last=True), "-created_at", "-pk")


def disputes_for_buyer(buyer: User, *, open_only: bool | None = None) -> QuerySet[Dispute]:
    disputes = Dispute.objects.filter(buyer=buyer).select_related("order_line__order", "store")
    if open_only is True:
        disputes = disputes.filter(state__in=OPEN_STATES)
    elif open_only is False:
        disputes = disputes.exclude(state__in=OPEN_STATES)
    return disputes


def order_lines_for_buyer(buyer: User) -> QuerySet[OrderLine]:
    return OrderLine.objects.filter(order__buyer=buyer).select_related(
        "order", "product__category", "product__store"
    )


MAX_PAGE = 100_000  # a page number past this is read as this one (then as the oldest page there is)


@dataclass(frozen=True)
class LatestFirstPage:
    """One page of a dispute's timeline or messages. Page 1 is the latest entries, page 2
    the ones before them, and so on; ``items`` are oldest first, as a conversation reads."""

    items: list
    number: int
    has_older: bool
    # The position of the page's oldest item among all (1: the very first), when counted.
    first_position: int | None = None

    @property
    def has_newer(self) -> bool:
        return self.number > 1

    @property
    def older_number(self) -> int:
        return self.number + 1

    @property
    def newer_number(self) -> int:
        return self.number - 1


def page_number(raw: str | None) -> int:
    """A page asked for in the address: a number from 1 (anything else is page 1; a page
    past the oldest is the oldest, see ``latest_first_page``)."""
    try:
        number = int((raw or "1").strip()[:12])
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def latest_first_page(entries: QuerySet, number: int, size: int, *, counted: bool = False) -> LatestFirstPage:
    """Page ``number`` of ``entries`` (ordered newest first): one query, ``size`` + 1 rows to
    know whether older ones exist (``counted``: each row also carries how many there are in
    all, a window count in the same query); a page past the oldest one is the oldest one
    (two more queries, only then)."""
    if counted:
        entries = entries.annotate(total_count=Window(Count("pk")))
    rows = list(entries[(number - 1) * size:number * size + 1])
    if not rows and number > 1:
        number = max(1, -(-entries.count() // size))
        rows = list(entries[(number - 1) * size:number * size + 1])
    items = rows[:size][::-1]
    first = None
    if counted:
        first = rows[0].total_count - (number - 1) * size - len(items) + 1 if rows else 1
    return LatestFirstPage(items=items, number=number, has_older=len(rows) > size, first_position=first)


def dispute_page_data(dispute: Dispute, *, staff: bool = False, events_page: int = 1, messages_page: int = 1,
                      page_size: int | None = None) -> dict:
    """One page of the timeline and one of the messages (with their attachments; page 1 the
    latest), evidence and inspection photos, refunds: five queries, however long the
    dispute. The timeline has staff-only entries (internal notes) only for ``staff``."""
    size = page_size or settings.DISPUTE_PAGE_SIZE
    loose_files = list(DisputeAttachment.objects.filter(dispute=dispute, message__isnull=True))
    events = DisputeEvent.objects.filter(dispute=dispute)
    if not staff:
        events = events.for_parties()
    messages = (
        DisputeMessage.objects.filter(dispute=dispute)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=DisputeAttachment.objects.order_by("id")))
    )
    events_slice = latest_first_page(events.select_related("actor").order_by("-created_at", "-id"), events_page, size,
                                     counted=True)
    messages_slice = latest_first_page(messages.order_by("-created_at", "-id"), messages_page, size)
    return {
        "events": events_slice.items,
        "events_page": events_slice,
        "thread": messages_slice.items,
        "messages_page": messages_slice,
        "evidence": [a for a in loose_files if a.inspection_id is None],
        "inspection_photos": [a for a in loose_files if a.inspection_id is not None],
        "refunds": list(dispute.refunds.all()),
    }


def dispute_for_staff(user: User, pk: int, *, events_page: int, messages_page: int, page_size: int) -> dict:
    """The admin's dispute page: the dispute with its parties, line, instructions, shipment
    and inspection; its refunds; one page of the timeline and of the messages (latest first);
    the evidence and inspection photos. A fixed number of queries however long the dispute."""
    dispute = disputes_visible_to(user).select_related(
        "instructions__issued_by", "inspection__inspector").get(pk=pk)
    events = Paginator(DisputeEvent.objects.filter(dispute=dispute).select_related("actor")
                       .order_by("-created_at", "-id"), page_size).get_page(events_page)
    thread = Paginator(
        DisputeMessage.objects.filter(dispute=dispute).select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=DisputeAttachment.objects.order_by("id")))
        .order_by("-created_at", "-id"), page_size).get_page(messages_page)
    loose_files = list(DisputeAttachment.objects.filter(dispute=dispute, message__isnull=True).order_by("id"))
    return {
        "dispute": dispute,
        "events": events,
        "messages": thread,
        "evidence": [a for a in loose_files if a.inspection_id is None],
        "inspection_photos": [a for a in loose_files if a.inspection_id is not None],
        "refunds": list(dispute.refunds.select_related("decided_by", "approved_by").order_by("created_at", "id")),
    }


def attachment_for(user: User, *, dispute_pk: int, attachment_pk: int) -> DisputeAttachment:
    dispute = disputes_visible_to(user).get(pk=dispute_pk)
    return DisputeAttachment.objects.get(dispute=dispute, pk=attachment_pk)


def return_destination(line: OrderLine) -> Warehouse | None:
    """Where a local return of this line goes: the seller's own return warehouse in the
    buyer's delivery country, else the marketplace's."""
    pair = (line.product.store_id, line.order.delivery_country)
    destination = Warehouse.objects.first_return_points({pair}).get(pair)
    if destination is not None and destination.store_id == line.product.store_id:
        # The seller's own warehouse: its operator is the line's store, already read with the
        # line, so the form naming the operator costs no query for it.
        destination.store = line.product.store
    return destination


def enabled_condition_codes(category: Category) -> list[str]:
    """The return conditions checked for goods of ``category``, in catalogue order: each
    condition's default (DESIGN §2), overridden by the nearest staff switch
    (``CategoryCondition``) on the category or one of its ancestors. One query: the category
    tree with every switch on it."""
    parents: dict[int, int | None] = {}
    switches_on: dict[int, dict[str, bool]] = defaultdict(dict)
    for pk, parent_id, code, enabled in Category.objects.order_by().values_list(
            "id", "parent_id", "conditions__code", "conditions__enabled"):
        parents[pk] = parent_id
        if code is not None:
            switches_on[pk][code] = enabled
    lineage: list[int] = []
    current: int | None = category.pk
    while current is not None and current not in lineage:
        lineage.append(current)
        current = parents.get(current)
    switches: dict[str, bool] = {}
    for pk in reversed(lineage):  # the farthest ancestor first: nearer switches are applied last and win
        switches.update(switches_on.get(pk, {}))
    defaults = {c.code for c in conditions_for(category_kind=category.kind,
                                               not_returnable_once_opened=category.not_returnable_once_opened)}
    return [c.code for c in RETURN_CONDITIONS if switches.get(c.code, c.code in defaults)]


def dispute_on_line(line: OrderLine, *, exclude: Dispute | None = None) -> Dispute | None:
    """The dispute already opened on ``line`` (an open one first, else the latest)."""
    disputes = Dispute.objects.filter(order_line=line)
    if exclude is not None:
        disputes = disputes.exclude(pk=exclude.pk)
    return disputes.order_by(F("closed_at").desc(nulls_first=True), "-pk").first()


def earlier_dispute_facts(dispute: Dispute | None) -> EarlierDispute | None:
    if dispute is None:
        return None
    return EarlierDispute(number=dispute.pk, is_open=dispute.is_open, resolution=dispute.resolution,
                          closed_at=dispute.closed_at, reopened=dispute.reopened_at is not None)


def eligibility_facts(
    *,
    buyer: User,
    line: OrderLine,
    kind: str,
    route: str,
    amount: Decimal | None,
    evidence_count: int,
    now: datetime | None = None,
    earlier: Dispute | None | bool = False,
    exclude: Dispute | None = None,
    refundable: Decimal | None = None,
) -> DisputeFacts:
    """The facts the eligibility chain judges. ``earlier``: the dispute already on the line
    when the caller has read it (None: there is none); otherwise it is read here.
    ``refundable``: what is left to refund when refunds may be decided and not yet paid on
    the line (a reopening after a manual refund); else paid minus refunded."""
    order = line.order
    category = line.product.category
    coverage = Warehouse.objects.return_coverage(store_id=line.product.store_id, country=order.delivery_country)
    return DisputeFacts(
        buyer_id=buyer.pk,
        line_buyer_id=order.buyer_id,
        order_delivered=order.status == Order.Status.DELIVERED,
        delivered_at=order.delivered_at,
        now=now or timezone.now(),
        protection_days=settings.BUYER_PROTECTION_DAYS,
        earlier_dispute=earlier_dispute_facts(
            dispute_on_line(line, exclude=exclude) if earlier is False else earlier),
        kind=kind,
        route=route,
        amount=amount,
        refundable_amount=line.refundable_amount if refundable is None else refundable,
        currency=order.currency,
        evidence_count=evidence_count,
        buyer_country=order.delivery_country,
        seller_offers_local_return=line.product.local_return,
        category_name=category.name,
        category_allows_local_return=category.local_return_allowed,
        return_point_in_country=coverage.for_store,
        any_return_warehouse_in_country=coverage.anybody,
    )


@dataclass(frozen=True)
class OpeningOptions:
    """What the opening form shows: can a dispute be opened at all, can it be a local
    return (and if not, why), where a local return goes, and what will be checked."""

    general: ChainResult
    local_return: ChainResult
    destination: Warehouse | None
    conditions: list[ReturnCondition]

    @property
    def can_open(self) -> bool:
        return self.general.passed

    @property
    def local_return_available(self) -> bool:
        return self.local_return.passed


LOCAL_RETURN_CODES = frozenset(
    {"seller_offers_local_return", "category_allows_local_return", "return_warehouse_in_country"}
)


def opening_options(*, buyer: User, line: OrderLine, earlier: Dispute | None | bool = False) -> OpeningOptions:
    """``earlier``: the dispute already on the line, when the caller has read it."""
    facts = eligibility_facts(
        buyer=buyer, line=line, kind=KIND_RETURN, route=ROUTE_LOCAL, amount=None, evidence_count=0,
        earlier=earlier,
    )
    result = check_eligibility(facts)
    general = ChainResult(tuple(r for r in result.results if r.code not in LOCAL_RETURN_CODES))
    local = ChainResult(tuple(r for r in result.results if r.code in LOCAL_RETURN_CODES))
    enabled = set(enabled_condition_codes(line.product.category))
    return OpeningOptions(
        general=general,
        local_return=local,
        destination=return_destination(line) if local.passed else None,
        conditions=[c for c in RETURN_CONDITIONS if c.code in enabled],
    )
