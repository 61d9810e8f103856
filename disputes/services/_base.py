"""What every dispute service shares: the guarded transition (for one dispute or a batch),
telling the people concerned, attachments.

Lock order, in every service: the dispute row first, then its order line, then its refund
(``refund_pay`` starts from a refund but locks in this order too). Opening a dispute locks
only the line: there is no dispute yet. With one order everywhere two services never wait
for each other in a circle, which PostgreSQL would end as a deadlock.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notifications.services import Draft, notify_many
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.money import check_amount, format_money
from webhooks import outbox

from ..lifecycle import MOVES, RESUME, STAY, TERMINAL_STATES, Party, authorize, deadline_for, party_of
from ..models import Dispute, DisputeAttachment, DisputeEvent
from ..rules.base import ChainResult
from ..uploads import validate_evidence_file

R = Dispute.Resolution


class NotEligible(DomainError):
    """Opening refused by the eligibility chain; ``result`` holds every reason."""

    def __init__(self, result: ChainResult) -> None:
        super().__init__(ErrorCode.NOT_ELIGIBLE, " ".join(result.messages))
        self.result = result


@dataclass
class Change:
    """One dispute to move, with the details its timeline entry records."""

    dispute: Dispute
    details: dict = field(default_factory=dict)
    event: DisputeEvent | None = None  # the timeline entry written, once applied


def lock_dispute(pk: int) -> Dispute:
    """The dispute row, locked until the transaction ends (only that row: ``of=self``)."""
    return (Dispute.objects.select_for_update(of=("self",))
            .select_related("order_line__order", "shipment").get(pk=pk))


def dispute_locked_for(
    *, dispute: Dispute, move: str, actor: User | None, party: Party | None = None, check=None,
    now: datetime | None = None,
) -> Dispute:
    """Lock the dispute row and check that ``actor`` (None: the system) may make ``move``
    now: the lifecycle (party, state, kind of dispute, permission, guard), then
    ``check(locked)``. Raises ``DomainError`` when refused. Call inside a transaction."""
    locked = lock_dispute(dispute.pk)
    if party is None:
        party = Party.SYSTEM if actor is None else party_of(locked, actor)
    authorize(locked, move, party, user=actor, now=now)
    if check is not None:
        check(locked)
    return locked


def dispute_transition(
    *,
    dispute: Dispute,
    move: str,
    actor: User | None,
    party: Party | None = None,
    details: dict | None = None,
    check=None,
    now: datetime | None = None,
    **fields,
) -> Dispute:
    """Make ``move`` on one dispute: ``dispute_locked_for``, then the move applied as a batch
    of one (``transition_many``) with ``fields`` written too. Call inside a transaction;
    when refused, nothing is written."""
    locked = dispute_locked_for(dispute=dispute, move=move, actor=actor, party=party, check=check, now=now)
    # The moment is taken once the lock is held, so the timeline's order is the order of the moves.
    now = now or timezone.now()
    transition_many([Change(locked, details or {})], move=move, actor=actor, now=now, fields=fields)
    return locked


def transition_many(
    changes: Sequence[Change],
    *,
    move: str,
    actor: User | None = None,
    now: datetime | None = None,
    fields: dict | None = None,
    due_by: datetime | None = None,
) -> list[Change]:
    """Apply ``move`` to disputes the caller has locked: one conditional UPDATE that re-checks
    the state (and, for the deadline sweep, ``deadline_at <= due_by``), one insert of their
    timeline entries. Entering a state starts its deadline afresh (``lifecycle.deadline_for``);
    a move that keeps the state (``STAY``) writes only ``updated_at`` and ``fields``, and its
    entry goes from the state to the same state (``Change.event``). Returns the changes
    applied; a dispute whose state moved meanwhile is left alone, so a move applied twice, or
    raced, has one effect. The instances are updated in place."""
    if not changes:
        return []
    transition = MOVES[move]
    now = now or timezone.now()
    groups: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        if transition.target == RESUME:
            target = change.dispute.withdrawn_from
        elif transition.target == STAY:
            target = change.dispute.state
        else:
            target = transition.target
        groups[target].append(change)
    applied: list[Change] = []
    events: list[DisputeEvent] = []
    for target, group in groups.items():
        values = {**_entering(move, target, now), **(fields or {})}
        ids = [change.dispute.pk for change in group]
        rows = Dispute.objects.filter(pk__in=ids, state__in=transition.sources)
        if transition.target == STAY:
            rows = rows.filter(state=target)
        if due_by is not None:
            rows = rows.filter(deadline_at__lte=due_by)
        if rows.update(**values) != len(group):
            moved = set(Dispute.objects.filter(pk__in=ids, state=target, updated_at=now).values_list("pk", flat=True))
            group = [change for change in group if change.dispute.pk in moved]
        for change in group:
            dispute = change.dispute
            change.event = DisputeEvent(dispute_id=dispute.pk, actor=actor, kind=transition.move.event,
                                        from_state=dispute.state, to_state=target, details=change.details,
                                        created_at=now)
            events.append(change.event)
            for name, value in values.items():
                setattr(dispute, name, dispute.state if isinstance(value, F) else value)
        applied.extend(group)
    record_events(events)
    return applied


def record_events(events: Sequence[DisputeEvent]) -> Sequence[DisputeEvent]:
    """Write timeline entries (one insert) and, in the same transaction, the webhook
    deliveries they owe their disputes' stores (``webhooks.outbox``, sent after commit).
    Every service writes its entries here, never with ``DisputeEvent.objects`` itself."""
    DisputeEvent.objects.bulk_create(events, batch_size=1000)
    outbox.events_recorded(events)
    return events


def _entering(move: str, target: str, now: datetime) -> dict:
    transition = MOVES[move]
    if transition.target == STAY:  # the step goes on: its deadline, resolution and dates stay
        return {"updated_at": now}
    values = {"state": target, "updated_at": now, "deadline_at": deadline_for(target, now)}
    if target in TERMINAL_STATES:
        values.update(resolution=transition.move.resolution, closed_at=now)
        if transition.move.resolution == R.WITHDRAWN:
            values["withdrawn_from"] = F("state")  # SQL reads the row as it was before the UPDATE
    elif transition.target == RESUME:
        values.update(resolution=R.NONE, closed_at=None, reopened_at=now)
    return values


def check_part_of_asked(amount, dispute: Dispute, refusal: str) -> None:
    """A part of what the buyer asked (a counter-offer, a partial refund): a Decimal more than
    zero and less than the amount asked, in the currency's minor units. ``refusal`` is the
    sentence for an amount out of that range; it gets the amount asked as ``%(amount)s``."""
    if not (isinstance(amount, Decimal) and amount.is_finite() and Decimal("0") < amount < dispute.amount):
        raise DomainError(ErrorCode.INVALID_AMOUNT,
                          refusal % {"amount": format_money(dispute.amount, dispute.currency)})
    check_amount(amount, dispute.currency)


# --- telling the people concerned ---------------------------------------------------------------

BUYER, SELLER = "buyer", "seller"
# Staff are told by what they may do: decide disputes, or approve and pay refunds.
STAFF, PAYERS = "staff:decide_dispute", "staff:pay_refund"


def staff_with(codename: str) -> list[int]:
    """Active staff holding ``disputes.<codename>`` (directly, through a group, or superusers)."""
    return list(User.objects.filter(is_active=True, is_staff=True).order_by("pk")
                .filter(Q(is_superuser=True)
                        | Q(user_permissions__codename=codename,
                            user_permissions__content_type__app_label="disputes")
                        | Q(groups__permissions__codename=codename,
                            groups__permissions__content_type__app_label="disputes"))
                .distinct().values_list("pk", flat=True))


def tell(
    items: Sequence[tuple[Dispute, dict]],
    keys: Mapping[str, str],
    *,
    exclude: User | None = None,
    anchor: str = "",
) -> list:
    """Notify the people concerned about each dispute: ``keys`` maps an audience — its buyer
    (``BUYER``), every active member of its store (``SELLER``), the staff who decide disputes
    (``STAFF``) or who pay refunds (``PAYERS``) — to the message it gets, with that dispute's
    parameters (its number, order number and item title are added). ``exclude`` (the person
    who acted) is not told; ``anchor`` points the link into the page (``#messages``). A query
    for the buyers and the stores' people together, one per staff audience, and one insert,
    however many disputes."""
    if not items:
        return []
    buyer_ids = {d.buyer_id for d, _p in items} if BUYER in keys else set()
    store_ids = {d.store_id for d, _p in items} if SELLER in keys else set()
    buyers: set[int] = set()
    members: dict[int, list[int]] = defaultdict(list)
    if buyer_ids or store_ids:
        # The store's people: not the account its API keys act as (its systems learn by webhook).
        people = User.objects.filter(Q(pk__in=buyer_ids) | Q(store_id__in=store_ids, is_api_account=False),
                                     is_active=True).order_by("pk")
        for pk, store_id, api_account in people.values_list("pk", "store_id", "is_api_account"):
            if pk in buyer_ids:
                buyers.add(pk)
            if store_id in store_ids and not api_account:
                members[store_id].append(pk)
    staff = {audience: staff_with(audience.removeprefix("staff:")) for audience in keys
             if audience.startswith("staff:")}
    skip = exclude.pk if exclude is not None else None
    drafts = []
    for dispute, params in items:
        params = {"dispute": dispute.pk, "order": dispute.order_line.order.number,
                  "title": dispute.order_line.title, **params}
        page = dispute.get_absolute_url() + anchor
        recipients: dict[int, tuple[str, str]] = {}
        for audience, key in keys.items():  # in the order given
            if audience == BUYER:
                people, url = [dispute.buyer_id] if dispute.buyer_id in buyers else [], page
            elif audience == SELLER:
                people, url = members.get(dispute.store_id, []), page
            else:
                people, url = staff[audience], reverse("admin:disputes_dispute_change", args=[dispute.pk])
            for pk in people:
                recipients.setdefault(pk, (key, url))
        drafts.extend(Draft(pk, key, params, url) for pk, (key, url) in recipients.items() if pk != skip)
    return notify_many(drafts)


def save_attachments(
    *, dispute: Dispute, uploader: User, files: Sequence[UploadedFile], message=None, inspection=None
) -> None:
    """Store the evidence files and their rows. Refused (INVALID_UPLOAD) as a whole if one file
    is not acceptable (``validate_evidence_file``; a file the form judged is not judged again).

    Every file is judged before any is written, and the files written are removed again if a
    write or a row fails here. A rollback of the caller's transaction later on leaves files
    without rows: ``sweep_orphan_evidence`` removes those.
    """
    checked = []
    for upload in files:
        try:
            checked.append((upload, validate_evidence_file(upload)))
        except ValidationError as error:
            raise DomainError(ErrorCode.INVALID_UPLOAD, " ".join(error.messages)) from error
    written = []
    try:
        for upload, content_type in checked:
            attachment = DisputeAttachment(
                dispute=dispute,
                message=message,
                inspection=inspection,
                uploaded_by=uploader,
                original_name=(upload.name or "")[:255],
                content_type=content_type,
                size=upload.size,
            )
            attachment.file.save(upload.name or "upload", upload, save=False)
            written.append(attachment.file)
            attachment.save()
    except BaseException:
        for file in written:
            file.storage.delete(file.name)
        raise
