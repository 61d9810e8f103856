"""The deadline sweep (DESIGN §3): whatever the clock says, the system acts.

Every due dispute gets exactly the outcome its state defines, written as a conditional
UPDATE (``state`` and ``deadline_at <= now`` re-checked in the WHERE) over a batch of
rows locked with ``FOR UPDATE SKIP LOCKED``; events, instructions, refunds and
notifications of the batch are bulk-inserted in the same transaction. A person acting on
a dispute at the same moment holds its row lock, so it is skipped and looked at again by
the next sweep, by which time its state has moved on. Running the sweep twice, or two
sweeps at once, applies each outcome once. Memory is bounded by the batch size.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from catalog.models import Warehouse
from notifications.services import Draft, emails_queue_on_commit, notify_many
from returns_portal.bulk import bulk_insert
from returns_portal.formatting import local_datetime

from .models import TRANSITIONS, Dispute, DisputeEvent, InstructionTemplate, Refund, ReturnInstructions
from .models.returns import ReturnMethod
from .services.answers import new_rma_code

S = Dispute.State

INSTRUCTIONS_ISSUED = "instructions_issued"
SELLER_TIMEOUT_REFUNDED = "seller_timeout_refunded"
SELLER_TIMEOUT_ESCALATED = "seller_timeout_escalated"
BUYER_DID_NOT_SHIP = "buyer_did_not_ship"
RECEIPT_TIMEOUT_REFUNDED = "receipt_timeout_refunded"
ANSWER_TIMEOUT_CLOSED = "answer_timeout_closed"
STAFF_OVERDUE_FLAGGED = "staff_overdue_flagged"
REMINDERS_SENT = "reminders_sent"
REMINDERS_DUE = "send_reminders"  # the dry run's key: reminders that would go out
OUTCOMES = (INSTRUCTIONS_ISSUED, SELLER_TIMEOUT_REFUNDED, SELLER_TIMEOUT_ESCALATED, BUYER_DID_NOT_SHIP,
            RECEIPT_TIMEOUT_REFUNDED, ANSWER_TIMEOUT_CLOSED, STAFF_OVERDUE_FLAGGED, REMINDERS_SENT)


@dataclass
class SweepReport:
    counts: Counter = field(default_factory=Counter)
    dry_run: bool = False

    @property
    def total(self) -> int:
        """Disputes moved on (or, in a dry run, due); reminders are not outcomes."""
        return sum(v for k, v in self.counts.items() if k not in (REMINDERS_SENT, REMINDERS_DUE))

    def lines(self) -> list[str]:
        return [f"{outcome}: {self.counts.get(outcome, 0)}" for outcome in OUTCOMES]


@dataclass(frozen=True)
class Row:
    pk: int
    state: str
    kind: str
    route: str
    store_id: int
    buyer_id: int
    order_line_id: int
    country: str
    amount: object
    currency: str
    deadline_at: datetime
    title: str


ROW_FIELDS = ("pk", "state", "kind", "route", "store_id", "buyer_id", "order_line_id",
              "order_line__order__delivery_country", "amount", "currency", "deadline_at", "order_line__title")


def _due(now: datetime, *states: str) -> QuerySet[Dispute]:
    return Dispute.objects.filter(state__in=states, deadline_at__lte=now)


def _lock_batch(queryset: QuerySet[Dispute], size: int) -> list[Row]:
    """The next ``size`` due disputes, locked (rows someone else holds are skipped)."""
    queryset = queryset.order_by("deadline_at", "pk")
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return [Row(*values) for values in queryset.values_list(*ROW_FIELDS)[:size]]


def _move(rows: list[Row], *, transition: str, now: datetime, **fields) -> list[Row]:
    """The conditional UPDATE; returns the rows it really moved (state and deadline re-checked)."""
    if not rows:
        return []
    target = TRANSITIONS[transition]
    ids = [r.pk for r in rows]
    changed = Dispute.objects.filter(pk__in=ids, state__in=target.sources, deadline_at__lte=now).update(
        state=target.target, updated_at=now, **fields)
    if changed == len(rows):  # the usual case (on PostgreSQL the rows are locked): all of them
        return rows
    moved = set(Dispute.objects.filter(pk__in=ids, state=target.target, updated_at=now).values_list("pk", flat=True))
    return [r for r in rows if r.pk in moved]


def _events(rows: list[Row], *, to_state: str, now: datetime, outcome: str, why: str, kind=None) -> None:
    kind = kind or DisputeEvent.Kind.DEADLINE_PASSED
    if connection.vendor == "postgresql":  # built on the server: no JSON text per row on the wire
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO disputes_disputeevent (dispute_id, actor_id, kind, from_state, to_state, details, "
                "created_at) SELECT u.id, NULL, %s, u.from_state, %s, jsonb_build_object('outcome', %s::text, "
                "'reason', %s::text, 'deadline', u.deadline), %s "
                "FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS u(id, from_state, deadline)",
                [kind, to_state, outcome, why, now, [r.pk for r in rows], [r.state for r in rows],
                 [r.deadline_at for r in rows]],
            )
        return
    bulk_insert(DisputeEvent, [
        {"dispute_id": r.pk, "actor_id": None, "kind": kind, "from_state": r.state, "to_state": to_state,
         "created_at": now, "details": {"outcome": outcome, "reason": why, "deadline": r.deadline_at.isoformat()}}
        for r in rows
    ])


def _members_by_store(store_ids) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for pk, store_id in User.objects.filter(store_id__in=set(store_ids), is_active=True).values_list("pk", "store_id"):
        members[store_id].append(pk)
    return members


@dataclass(frozen=True)
class Message:
    """A translated subject and body with placeholders filled per dispute — %(id)s,
    %(amount)s, %(currency)s, %(title)s and, once instructions exist, %(rma)s,
    %(carrier)s, %(warehouse)s — plus ``constants`` (the same for every dispute)."""

    subject: str
    body: str
    constants: dict = field(default_factory=dict)

    def render(self, r: Row, extra: dict) -> tuple[str, str]:
        values = {"id": r.pk, "amount": r.amount, "currency": r.currency, "title": r.title,
                  "rma": "", "carrier": "", "warehouse": "", **extra, **self.constants}
        return self.subject % values, self.body % values


# Numbers first, then the template's own "%%", then the free texts last, so that a title or
# an address containing "%" or "%(...)s" is copied as it is.
NUMBERS_SQL = [("%%(id)s", "d.id::text"), ("%%(amount)s", "d.amount::text"), ("%%(currency)s", "d.currency")]
TEXTS_SQL = [("%%(rma)s", "coalesce(ri.rma_code, '')"), ("%%(carrier)s", "coalesce(ri.carrier, '')"),
             ("%%(warehouse)s", "coalesce(w.name || ', ' || w.address || ', ' || w.city, '')"),
             ("%%(title)s", "l.title")]


def _render_sql(template: str, constants: dict) -> tuple[str, list]:
    """The SQL expression filling ``template`` per row; only placeholders it contains cost."""
    expression, params = "%s", [template]
    for placeholder, value in NUMBERS_SQL:
        if placeholder.replace("%%", "%") in template:
            expression = f"replace({expression}, '{placeholder}', {value})"
    for name, value in constants.items():
        expression = f"replace({expression}, '%%({name})s', %s)"
        params.append(str(value))
    if "%%" in template:
        expression = f"replace({expression}, '%%%%', '%%')"
    for placeholder, value in TEXTS_SQL:
        if placeholder.replace("%%", "%") in template:
            expression = f"replace({expression}, '{placeholder}', {value})"
    return expression, params


def _needs_instructions(*templates: str) -> bool:
    return any(p.replace("%%", "%") in t for t in templates for p, _v in TEXTS_SQL[:3])


def _tell(rows: list[Row], *, buyer: Message | None, seller: Message | None,
          extra: dict[int, dict] | None = None) -> None:
    """Notify the buyer and/or every active member of the store of each dispute. ``extra``
    gives per-dispute values (rma, carrier, warehouse) for the Python path; PostgreSQL reads
    them from the dispute's return instructions."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _tell_sql(rows, buyer=buyer, seller=seller)
        return
    extra = extra or {}
    drafts: list[Draft] = []
    members = _members_by_store(r.store_id for r in rows) if seller else {}
    active_buyers = set(User.objects.filter(pk__in={r.buyer_id for r in rows}, is_active=True)
                        .values_list("pk", flat=True)) if buyer else set()
    for r in rows:
        url = f"/disputes/{r.pk}/"
        if buyer and r.buyer_id in active_buyers:
            drafts.append(Draft(r.buyer_id, *buyer.render(r, extra.get(r.pk, {})), url))
        if seller:
            subject, body = seller.render(r, extra.get(r.pk, {}))
            drafts.extend(Draft(member, subject, body, url) for member in members.get(r.store_id, []))
    notify_many(drafts)


def _tell_sql(rows: list[Row], *, buyer: Message | None, seller: Message | None) -> None:
    """The same notifications, built by one INSERT ... SELECT per audience on PostgreSQL."""
    ids = [r.pk for r in rows]
    created: list[int] = []
    for message, recipients in ((buyer, "JOIN accounts_user u ON u.id = d.buyer_id AND u.is_active"),
                                (seller, "JOIN accounts_user u ON u.store_id = d.store_id AND u.is_active")):
        if message is None:
            continue
        subject_sql, subject_params = _render_sql(message.subject, message.constants)
        body_sql, body_params = _render_sql(message.body, message.constants)
        joins = "JOIN orders_orderline l ON l.id = d.order_line_id " if "%(title)s" in message.subject + message.body \
            else ""
        if _needs_instructions(message.subject, message.body):
            joins += ("LEFT JOIN disputes_returninstructions ri ON ri.dispute_id = d.id "
                      "LEFT JOIN catalog_warehouse w ON w.id = ri.warehouse_id ")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO notifications_notification (recipient_id, subject, body, url, created_at, read_at, "
                f"emailed_at) SELECT u.id, left({subject_sql}, 200), {body_sql}, '/disputes/' || d.id || '/', %s, "
                f"NULL, NULL FROM disputes_dispute d {joins}{recipients} WHERE d.id = ANY(%s) RETURNING id",
                [*subject_params, *body_params, timezone.now(), ids],
            )
            created.extend(row[0] for row in cursor.fetchall())
    emails_queue_on_commit(created)


def _tell_staff(count: int, why: str) -> None:
    """One summary per active staff member, not one notification per dispute."""
    staff = User.objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True)
    subject = ngettext("%(count)d dispute escalated by the deadline sweep",
                       "%(count)d disputes escalated by the deadline sweep", count) % {"count": count}
    notify_many([Draft(pk, subject, why, "/admin/disputes/dispute/?state__exact=escalated") for pk in staff])


def _decide_refunds(rows: list[Row], *, now: datetime, reason: str) -> None:
    bulk_insert(Refund, [
        {"dispute_id": r.pk, "order_line_id": r.order_line_id, "amount": r.amount, "currency": r.currency,
         "idempotency_key": f"dispute-{r.pk}-refund", "status": Refund.Status.PENDING, "decided_by_id": None,
         "reason": reason, "gateway": settings.PAYMENT_GATEWAY, "gateway_reference": "", "attempts": 0,
         "last_error": "", "created_at": now, "paid_at": None}
        for r in rows
    ], ignore_conflicts=True)  # a refund already decided for the dispute stays as it is
    transaction.on_commit(_queue_refund_payments)


def _queue_refund_payments() -> None:
    from .services.refunds import logger
    from .tasks import pay_due_refunds

    try:
        pay_due_refunds.delay()
    except Exception:
        logger.exception("Could not queue refund payments; the periodic job pays them.")


def _refund_message(why: str) -> Message:
    return Message(_("Dispute #%(id)s: refund decided"),
                   why.replace("%", "%%") + " " + _("%(amount)s %(currency)s will be refunded."))


def _closed_message(why: str) -> Message:
    return Message(_("Dispute #%(id)s closed"), why.replace("%", "%%"))


# --- the outcomes ------------------------------------------------------------------------------


def _expire_seller_answer(rows: list[Row], now: datetime, report: SweepReport) -> None:
    local = [r for r in rows if r.kind == Dispute.Kind.RETURN and r.route == Dispute.Route.LOCAL]
    other = [r for r in rows if not (r.kind == Dispute.Kind.RETURN and r.route == Dispute.Route.LOCAL)]
    days = settings.SELLER_RESPONSE_DAYS
    why_local = _("The seller did not send return instructions within %(days)d days; default instructions "
                  "for a return warehouse in your country were issued.") % {"days": days}

    warehouses = _default_warehouses(local)
    with_warehouse = [r for r in local if (r.store_id, r.country) in warehouses]
    no_warehouse = [r for r in local if (r.store_id, r.country) not in warehouses]
    ship_by = now + timedelta(days=settings.BUYER_SHIP_DAYS)
    moved = _move(with_warehouse, transition="expire_seller_instructions", now=now, deadline_at=ship_by)
    if moved:
        templates = _templates_by_store_and_warehouse(moved)
        default_text = _("Pack the item as you received it, write the RMA code on the parcel and drop it off.")
        codes, extra = {}, {}
        instructions = []
        for r in moved:
            warehouse = warehouses[(r.store_id, r.country)]
            template = templates.get((r.store_id, warehouse.pk))
            codes[r.pk] = new_rma_code(now)
            carrier = template.carrier if template else settings.DEFAULT_RETURN_CARRIER
            extra[r.pk] = {"rma": codes[r.pk], "carrier": carrier,
                           "warehouse": f"{warehouse.name}, {warehouse.address}, {warehouse.city}"}
            instructions.append({
                "dispute_id": r.pk, "warehouse_id": warehouse.pk,
                "method": template.method if template else ReturnMethod.DROP_OFF,
                "carrier": carrier,
                "text": template.text if template else default_text,
                "rma_code": codes[r.pk], "ship_by": ship_by, "issued_by_id": None, "created_at": now,
            })
        # A reopened dispute may carry instructions from before: the new ones replace them.
        ReturnInstructions.objects.filter(dispute_id__in=[r.pk for r in moved]).delete()
        bulk_insert(ReturnInstructions, instructions)
        _events(moved, to_state=S.AWAITING_BUYER_SHIPMENT, now=now, outcome=INSTRUCTIONS_ISSUED, why=why_local)
        _tell(moved,
              buyer=Message(_("Return instructions for dispute #%(id)s"),
                            why_local.replace("%", "%%") + " " + _(
                                "Send the goods to %(warehouse)s with %(carrier)s by %(date)s. Your RMA code is "
                                "%(rma)s."),
                            {"date": local_datetime(ship_by)}),
              seller=Message(_("Dispute #%(id)s: deadline missed"), why_local.replace("%", "%%")),
              extra=extra)
        report.counts[INSTRUCTIONS_ISSUED] += len(moved)

    policy_escalates = settings.SELLER_TIMEOUT_POLICY == "escalate"
    why_escalated = _("The seller did not answer within %(days)d days; marketplace staff will decide.") % {
        "days": days}
    # Said apart, so the buyer knows why no default instructions came.
    why_no_warehouse = _("The seller did not send return instructions within %(days)d days, and no return "
                         "warehouse in your country takes returns any more; marketplace staff will decide.") % {
        "days": days}
    staff_deadline = now + timedelta(days=settings.STAFF_DECISION_DAYS)
    for group, why in ((no_warehouse, why_no_warehouse), (other if policy_escalates else [], why_escalated)):
        moved = _move(group, transition="expire_seller_escalate", now=now, deadline_at=staff_deadline)
        if moved:
            _events(moved, to_state=S.ESCALATED, now=now, outcome=SELLER_TIMEOUT_ESCALATED, why=why)
            _tell(moved, buyer=Message(_("Dispute #%(id)s escalated"), why.replace("%", "%%")),
                  seller=Message(_("Dispute #%(id)s: deadline missed"), why.replace("%", "%%")))
            report.counts[SELLER_TIMEOUT_ESCALATED] += len(moved)
            _tell_staff(len(moved), why)

    if not policy_escalates:
        why = _("The seller did not answer within %(days)d days, so the buyer is refunded the amount asked.") % {
            "days": days}
        moved = _move(other, transition="expire_seller_refund", now=now, deadline_at=None)
        if moved:
            _decide_refunds(moved, now=now, reason=why)
            _events(moved, to_state=S.REFUND_PENDING, now=now, outcome=SELLER_TIMEOUT_REFUNDED, why=why)
            _tell(moved, buyer=_refund_message(why), seller=_refund_message(why))
            report.counts[SELLER_TIMEOUT_REFUNDED] += len(moved)


def _default_warehouses(rows: list[Row]) -> dict[tuple[int, str], Warehouse]:
    """For each (store, country): the store's own active return warehouse there, else the marketplace's."""
    if not rows:
        return {}
    stores = {r.store_id for r in rows}
    countries = {r.country for r in rows}
    candidates = Warehouse.objects.accepting_returns().filter(country__in=countries).filter(
        Q(store__isnull=True) | Q(store_id__in=stores)).order_by("pk")
    platform: dict[str, Warehouse] = {}
    own: dict[tuple[int, str], Warehouse] = {}
    for warehouse in candidates:
        if warehouse.store_id is None:
            platform.setdefault(warehouse.country, warehouse)
        else:
            own.setdefault((warehouse.store_id, warehouse.country), warehouse)
    chosen = {}
    for r in rows:
        warehouse = own.get((r.store_id, r.country)) or platform.get(r.country)
        if warehouse is not None:
            chosen[(r.store_id, r.country)] = warehouse
    return chosen


def _templates_by_store_and_warehouse(rows: list[Row]) -> dict[tuple[int, int], InstructionTemplate]:
    templates = {}
    for template in InstructionTemplate.objects.filter(store_id__in={r.store_id for r in rows},
                                                       warehouse__isnull=False).order_by("name"):
        templates.setdefault((template.store_id, template.warehouse_id), template)
    return templates


def _close(rows: list[Row], now: datetime, report: SweepReport, *, transition: str, resolution: str,
           outcome: str, why: str) -> None:
    moved = _move(rows, transition=transition, now=now, deadline_at=None, closed_at=now, resolution=resolution)
    if moved:
        _events(moved, to_state=S.CLOSED, now=now, outcome=outcome, why=why)
        _tell(moved, buyer=_closed_message(why), seller=_closed_message(why))
        report.counts[outcome] += len(moved)


def _expire_shipment(rows: list[Row], now: datetime, report: SweepReport) -> None:
    _close(rows, now, report, transition="expire_shipment", resolution=Dispute.Resolution.BUYER_TIMEOUT,
           outcome=BUYER_DID_NOT_SHIP,
           why=_("The goods were not shipped within %(days)d days of the return instructions; the dispute is "
                 "closed without a refund.") % {"days": settings.BUYER_SHIP_DAYS})


def _expire_buyer_answer(rows: list[Row], now: datetime, report: SweepReport) -> None:
    _close(rows, now, report, transition="expire_buyer_answer", resolution=Dispute.Resolution.REJECTED,
           outcome=ANSWER_TIMEOUT_CLOSED,
           why=_("The buyer neither accepted nor escalated within %(days)d days; the dispute is closed as "
                 "rejected.") % {"days": settings.ESCALATION_DAYS})


def _expire_receipt(rows: list[Row], now: datetime, report: SweepReport) -> None:
    why = _("The seller did not confirm receipt of the return within %(days)d days, so the buyer is refunded.") % {
        "days": settings.SELLER_RECEIPT_DAYS}
    moved = _move(rows, transition="expire_receipt", now=now, deadline_at=None)
    if moved:
        _decide_refunds(moved, now=now, reason=why)
        _events(moved, to_state=S.REFUND_PENDING, now=now, outcome=RECEIPT_TIMEOUT_REFUNDED, why=why)
        _tell(moved, buyer=_refund_message(why), seller=_refund_message(why))
        report.counts[RECEIPT_TIMEOUT_REFUNDED] += len(moved)


def _not_flagged_for_this_deadline() -> Q:
    # A flag set before the current deadline belongs to an earlier escalation (the buyer
    # withdrew, reopened and escalated again): the new staff deadline gets its own flag.
    return Q(overdue_flagged_at__isnull=True) | Q(overdue_flagged_at__lt=F("deadline_at"))


def _flag_staff_overdue(rows: list[Row], now: datetime, report: SweepReport) -> None:
    ids = [r.pk for r in rows]
    Dispute.objects.filter(_not_flagged_for_this_deadline(), pk__in=ids, state=S.ESCALATED,
                           deadline_at__lte=now).update(overdue_flagged_at=now, updated_at=now)
    flagged = set(Dispute.objects.filter(pk__in=ids, overdue_flagged_at=now).values_list("pk", flat=True))
    moved = [r for r in rows if r.pk in flagged]
    if moved:
        why = _("Marketplace staff did not decide within %(days)d days; the dispute is flagged overdue.") % {
            "days": settings.STAFF_DECISION_DAYS}
        _events(moved, to_state=S.ESCALATED, now=now, outcome=STAFF_OVERDUE_FLAGGED, why=why,
                kind=DisputeEvent.Kind.STAFF_OVERDUE)
        report.counts[STAFF_OVERDUE_FLAGGED] += len(moved)


# (which rows, what to do with them): the sweep's table, in the order it runs.
HANDLERS: list[tuple[Callable[[datetime], QuerySet], Callable]] = [
    (lambda now: _due(now, S.AWAITING_SELLER), _expire_seller_answer),
    (lambda now: _due(now, S.AWAITING_BUYER_SHIPMENT), _expire_shipment),
    (lambda now: _due(now, S.RETURN_IN_TRANSIT), _expire_receipt),
    (lambda now: _due(now, S.REJECTED, S.COUNTER_OFFERED), _expire_buyer_answer),
    (lambda now: _due(now, S.ESCALATED).filter(_not_flagged_for_this_deadline()), _flag_staff_overdue),
]


# --- reminders ---------------------------------------------------------------------------------

WHO_ACTS = {
    S.AWAITING_SELLER: "seller", S.RETURN_IN_TRANSIT: "seller",
    S.AWAITING_BUYER_SHIPMENT: "buyer", S.REJECTED: "buyer", S.COUNTER_OFFERED: "buyer",
}


def _reminders_due(now: datetime) -> QuerySet[Dispute]:
    return Dispute.objects.filter(
        state__in=list(WHO_ACTS), deadline_at__gt=now,
        deadline_at__lte=now + timedelta(hours=settings.REMINDER_HOURS),
    ).exclude(reminded_deadline_at=F("deadline_at"))


def _send_reminders(rows: list[Row], now: datetime, report: SweepReport) -> None:
    ids = [r.pk for r in rows]
    deadlines = {r.pk: r.deadline_at for r in rows}
    # Claim: only rows whose deadline is still the one we remind about, and not yet reminded.
    Dispute.objects.filter(pk__in=ids, deadline_at__gt=now).exclude(
        reminded_deadline_at=F("deadline_at")).update(reminded_deadline_at=F("deadline_at"))
    claimed = {pk for pk, reminded in Dispute.objects.filter(pk__in=ids).values_list("pk", "reminded_deadline_at")
               if reminded is not None and reminded == deadlines[pk]}
    moved = [r for r in rows if r.pk in claimed]

    subject = _("Reminder: dispute #%(id)s is due %(date)s")
    body = _("The next step on “%(title)s” is due by %(date)s. After that the system acts on its own.")
    by_date: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in moved:
        by_date[(WHO_ACTS[r.state], local_datetime(r.deadline_at))].append(r)
    for (who, date), group in by_date.items():
        message = Message(subject, body, {"date": date})
        _tell(group, buyer=message if who == "buyer" else None, seller=message if who == "seller" else None)
    report.counts[REMINDERS_SENT] += len(moved)


def enforce_deadlines(*, now: datetime | None = None, dry_run: bool = False, batch_size: int | None = None,
                      max_batches: int | None = None) -> SweepReport:
    """Apply every outcome that is due at ``now`` and send the reminders that are due.

    ``dry_run`` only counts what is due (by state) and changes nothing. ``max_batches``
    bounds one run (the periodic task uses it so a backlog is worked off over several runs).
    """
    now = now or timezone.now()
    size = batch_size or settings.DEADLINE_SWEEP_BATCH
    report = SweepReport(dry_run=dry_run)
    steps = [*HANDLERS, (_reminders_due, _send_reminders)]
    if dry_run:
        for (due, handler) in steps:
            report.counts[handler.__name__.lstrip("_")] = due(now).count()
        return report
    batches = 0
    for due, handler in steps:
        while max_batches is None or batches < max_batches:
            with transaction.atomic():
                rows = _lock_batch(due(now), size)
                if not rows:
                    break
                handler(rows, now, report)
            batches += 1
            if len(rows) < size:
                break
    return report
