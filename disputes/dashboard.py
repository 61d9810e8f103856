"""The staff dashboard's figures (``/admin/dashboard/``).

Pure functions of ``now``: each figure is one aggregate query (the median, at most three),
so the page makes the same number of queries whatever the amount of data. The same code
runs on SQLite and PostgreSQL: no per-database branch, no percentile function.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import Store
from orders.models import Order, OrderLine
from returns_portal import charts
from returns_portal.countries import country_name
from returns_portal.formatting import day_month

from .lifecycle import OPEN_STATES, STEPS, Party, deadline_days
from .models import Dispute, DisputeEvent, Refund
from .queues import overdue

DAYS = 30  # the charts of opened disputes and paid refunds cover this many days, today included
TOP_STORES = 10

S, K, R = Dispute.State, Dispute.Kind, Dispute.Route
# The kinds of dispute the database allows (constraint ``dispute_route_matches_kind``), in the
# order the dashboard lists them.
KINDS = ((K.RETURN, R.LOCAL), (K.RETURN, R.INTERNATIONAL), (K.REFUND_ONLY, R.NONE))
RETURN_ROUTES = (R.LOCAL, R.INTERNATIONAL)


# --- how figures read ---------------------------------------------------------------------------


def percent_text(part: int, whole: int) -> str:
    """``12.5%`` / ``12,5 %``: one decimal, half up; "—" when there is nothing to divide."""
    if not whole:
        return "—"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return _("%(percent)s%%") % {"percent": number_format(value, 1, use_l10n=True)}


def duration_text(duration: timedelta | None) -> str:
    """``4 days 3 hours``; ``35 minutes`` under an hour; "—" for none."""
    if duration is None:
        return "—"
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if not days and not hours:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    parts = [ngettext("%(n)d day", "%(n)d days", days) % {"n": days}] if days else []
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    return " ".join(parts)


def day_label(day: date) -> str:
    """``9 Dec`` / ``9 дек.``, as lists write dates."""
    return day_month(datetime.combine(day, time(12), tzinfo=timezone.get_default_timezone()))


def kind_label(kind: str, route: str) -> str:
    """"Return goods and money: Local return", as the dispute's own ``kind_label`` says it."""
    return Dispute(kind=kind, route=route).kind_label


# --- the last 30 days -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    disputes_opened: int
    refunds_paid: int

    @property
    def label(self) -> str:
        return day_label(self.day)


def window(now: datetime) -> tuple[datetime, datetime]:
    """The last ``DAYS`` days in the site's time zone, today included: from the first one's
    midnight to tomorrow's."""
    zone = timezone.get_default_timezone()
    today = timezone.localdate(now, zone)
    start = datetime.combine(today - timedelta(days=DAYS - 1), time.min, tzinfo=zone)
    return start, datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)


def per_day(now: datetime) -> list[Day]:
    """Disputes opened and refunds paid on each of the last ``DAYS`` days (days with none
    read 0). Two queries."""
    start, end = window(now)
    zone = timezone.get_default_timezone()
    opened = dict(Dispute.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
                  .values_list(TruncDate("created_at", tzinfo=zone)).annotate(Count("pk")))
    paid = dict(Refund.objects.filter(status=Refund.Status.PAID, paid_at__gte=start, paid_at__lt=end).order_by()
                .values_list(TruncDate("paid_at", tzinfo=zone)).annotate(Count("pk")))
    first = timezone.localdate(start, zone)
    days = [first + timedelta(days=n) for n in range(DAYS)]
    return [Day(day, opened.get(day, 0), paid.get(day, 0)) for day in days]


# --- open disputes now ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    label: str
    count: int


@dataclass(frozen=True)
class OpenNow:
    by_state: list[Tally]  # every open state, in the lifecycle's order
    overdue_by_kind: list[Tally]  # every kind of dispute

    @property
    def total(self) -> int:
        return sum(row.count for row in self.by_state)

    @property
    def overdue_total(self) -> int:
        return sum(row.count for row in self.overdue_by_kind)


def open_now(now: datetime) -> OpenNow:
    """Open disputes by state, and those past their deadline by kind. One query."""
    rows = (Dispute.objects.filter(state__in=OPEN_STATES).order_by().values("state", "kind", "route")
            .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue(now))))
    by_state: dict[str, int] = {}
    by_kind: dict[tuple[str, str], int] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["open"]
        kind = (row["kind"], row["route"])
        by_kind[kind] = by_kind.get(kind, 0) + row["overdue"]
    return OpenNow(
        [Tally(str(S(state).label), by_state.get(state, 0)) for state in STEPS if state in OPEN_STATES],
        [Tally(kind_label(kind, route), by_kind.get((kind, route), 0)) for kind, route in KINDS],
    )


# --- time to refund -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Median:
    label: str
    refunds: int
    median: timedelta | None

    @property
    def text(self) -> str:
        return duration_text(self.median)


def time_to_refund(now: datetime) -> list[Median]:
    """The median time from a return's opening to its refund being paid, local vs international,
    over the refunds paid in the last ``DAYS`` days. The middle one or two durations are read
    in order by the database (one count, then one small query per route): the same code on
    every database, and memory does not grow with the data."""
    start, end = window(now)
    paid = Refund.objects.filter(status=Refund.Status.PAID, paid_at__gte=start, paid_at__lt=end,
                                 dispute__kind=K.RETURN)
    counts = paid.aggregate(**{route: Count("pk", filter=Q(dispute__route=route)) for route in RETURN_ROUTES})
    took = ExpressionWrapper(F("paid_at") - F("dispute__created_at"), output_field=DurationField())
    medians = []
    for route in RETURN_ROUTES:
        n = counts[route]
        median = None
        if n:
            middle = list(paid.filter(dispute__route=route).annotate(took=took).order_by("took", "pk")
                          .values_list("took", flat=True)[(n - 1) // 2:n // 2 + 1])
            median = sum(middle, timedelta()) / len(middle)
        medians.append(Median(str(R(route).label), n, median))
    return medians


# --- stores ---------------------------------------------------------------------------------------

AWAITING_SELLER = STEPS[S.AWAITING_SELLER]
# How a dispute leaves "waiting for the seller": the store answers (its moves in the lifecycle
# table), or the deadline passes and the system acts (the system's moves); the buyer's
# withdrawal is neither.
SELLER_ANSWERS = frozenset(move.event for move in AWAITING_SELLER.moves if move.by == Party.SELLER)
DEADLINE_OUTCOMES = frozenset(move.event for move in AWAITING_SELLER.moves if move.by == Party.SYSTEM)


@dataclass(frozen=True)
class StoreRate:
    store_id: int
    name: str
    delivered_lines: int
    disputes: int
    answers_due: int = 0  # times a dispute left "waiting for the seller" by an answer or the deadline
    answered_on_time: int = 0

    @property
    def dispute_rate(self) -> str:
        return percent_text(self.disputes, self.delivered_lines)

    @property
    def on_time_rate(self) -> str:
        return percent_text(self.answered_on_time, self.answers_due)


def _count(queryset, per: str) -> Coalesce:
    """How many rows of ``queryset`` (filtered on the outer store), as a subquery: 0 for none."""
    return Coalesce(Subquery(queryset.order_by().values(per).annotate(n=Count("pk")).values("n")),
                    Value(0), output_field=IntegerField())


def store_rates(now: datetime, limit: int = TOP_STORES) -> list[StoreRate]:
    """The ``limit`` stores with the highest dispute rate (their disputes ÷ their delivered order
    lines, since the start), with their on-time answer rate. Two queries.

    On time: each time one of the store's disputes left "waiting for the seller", either the
    store answered (return instructions, accept, counter-offer, reject) within
    SELLER_RESPONSE_DAYS of the dispute reaching that step (opened, or reopened into it), or
    it did not (it answered later, or the deadline passed and the marketplace acted). A
    withdrawal by the buyer counts neither way."""
    # Each store's two counts are asked once and ranked here: filtering and ordering on them in
    # SQL made PostgreSQL work out each count three times per store.
    counted = Store.objects.annotate(
        delivered_lines=_count(OrderLine.objects.filter(order__store=OuterRef("pk"),
                                                        order__status=Order.Status.DELIVERED), "order__store"),
        dispute_count=_count(Dispute.objects.filter(store=OuterRef("pk")), "store"),
    ).order_by().values_list("pk", "name", "delivered_lines", "dispute_count")
    stores = sorted(((pk, name, lines, disputes) for pk, name, lines, disputes in counted if lines and disputes),
                    key=lambda s: (-s[3] / s[2], -s[3], s[1], s[0]))[:limit]
    if not stores:
        return []
    reached_step = (DisputeEvent.objects.filter(dispute=OuterRef("dispute"), to_state=S.AWAITING_SELLER,
                                                created_at__lte=OuterRef("created_at"))
                    .order_by("-created_at", "-pk").values("created_at")[:1])
    answers = dict(
        (row["dispute__store"], row) for row in
        DisputeEvent.objects.filter(dispute__store__in=[pk for pk, *_rest in stores], from_state=S.AWAITING_SELLER)
        .filter(Q(actor__isnull=False, kind__in=SELLER_ANSWERS) | Q(actor__isnull=True, kind__in=DEADLINE_OUTCOMES))
        .annotate(waited=ExpressionWrapper(F("created_at") - Subquery(reached_step), output_field=DurationField()))
        .order_by().values("dispute__store")
        .annotate(due=Count("pk"), on_time=Count("pk", filter=Q(
            actor__isnull=False, waited__lte=timedelta(days=deadline_days(AWAITING_SELLER.state))))))
    return [StoreRate(pk, name, lines, disputes, answers.get(pk, {}).get("due", 0),
                      answers.get(pk, {}).get("on_time", 0))
            for pk, name, lines, disputes in stores]


# --- countries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountryShare:
    country: str
    returns: int
    local: int

    @property
    def name(self) -> str:
        return country_name(self.country)

    @property
    def share(self) -> str:
        return percent_text(self.local, self.returns)

    @property
    def share_value(self) -> float:
        return self.local * 100 / self.returns if self.returns else 0


def local_share_by_country() -> list[CountryShare]:
    """Per buyer's delivery country: return disputes, and how many were local returns (since the
    start), the most returns first. One query."""
    rows = (Dispute.objects.filter(kind=K.RETURN).order_by()
            .values(country=F("order_line__order__delivery_country"))
            .annotate(returns=Count("pk"), local=Count("pk", filter=Q(route=R.LOCAL))))
    shares = [CountryShare(row["country"], row["returns"], row["local"]) for row in rows]
    return sorted(shares, key=lambda share: (-share.returns, share.name))


# --- the page -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    days: list[Day]
    open_now: OpenNow
    time_to_refund: list[Median]
    stores: list[StoreRate]
    countries: list[CountryShare]

    @property
    def answer_step(self) -> str:
        """The step whose answers count as on time or not, in words."""
        return str(S(AWAITING_SELLER.state).label)

    @property
    def answer_days(self) -> int:
        return deadline_days(AWAITING_SELLER.state)

    @property
    def disputes_opened(self) -> int:
        return sum(day.disputes_opened for day in self.days)

    @property
    def refunds_paid(self) -> int:
        return sum(day.refunds_paid for day in self.days)


def dashboard(now: datetime) -> Dashboard:
    """Every figure of the page, at ``now``: nine queries at most."""
    return Dashboard(now, per_day(now), open_now(now), time_to_refund(now), store_rates(now),
                     local_share_by_country())


def dashboard_charts(figures: Dashboard) -> dict[str, charts.Chart]:
    """The page's charts, drawn from its figures."""
    def tallies(rows: list[Tally]) -> charts.Chart:
        return charts.bars([charts.Point(row.label, row.count, str(row.count)) for row in rows])

    return {
        "opened": charts.columns([charts.Point(d.label, d.disputes_opened, str(d.disputes_opened))
                                  for d in figures.days]),
        "paid": charts.columns([charts.Point(d.label, d.refunds_paid, str(d.refunds_paid))
                                for d in figures.days]),
        "by_state": tallies(figures.open_now.by_state),
        "overdue_by_kind": tallies(figures.open_now.overdue_by_kind),
        "countries": charts.bars([charts.Point(c.name, c.share_value, c.share) for c in figures.countries],
                                 top_value=100),
    }
