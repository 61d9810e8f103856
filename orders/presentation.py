"""What My orders and the order page show on each order line, worked out in Python once per
page: the table's headings once, each order's protection sentence once, each line's dispute
button and note from the prefetched disputes. The template only prints the rows; a template
include and a dozen lookups per line made this the slowest page (issue 13)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from django.utils.translation import gettext as _

from disputes.models import Dispute
from disputes.templatetags.dispute_lines import line_dispute
from returns_portal.bulk_urls import url_by_pk
from returns_portal.formatting import local_date
from returns_portal.labels import choice_label
from returns_portal.money import money_formatter

from .models import Order, OrderLine

@dataclass(frozen=True)
class LineRow:
    line: OrderLine
    product_url: str
    unit_price: str
    line_total: str
    # "open", "reopenable", "ended" (the line's dispute and what it allows), or "" (no dispute)
    dispute_status: str = ""
    dispute: Dispute | None = None
    dispute_url: str = ""
    dispute_label: str = ""
    state_label: str = ""  # the dispute's state, in words
    open_url: str = ""  # a dispute may be opened on the line here
    note: str = ""  # the muted sentence beside the button


@dataclass(frozen=True)
class LineHeadings:
    item: str
    price: str
    quantity: str
    paid: str
    dispute: str
    open_dispute: str


def line_headings() -> LineHeadings:
    return LineHeadings(item=_("Item"), price=_("Price"), quantity=_("Qty"), paid=_("Paid"), dispute=_("Dispute"),
                        open_dispute=_("Open dispute"))


def _protection_note(order: Order, ends: str) -> str:
    if order.status != Order.Status.DELIVERED:
        return _("Protection starts when you confirm receipt")
    if order.protection_open:
        return _("Buyer protection until %(date)s") % {"date": ends}
    return _("Buyer protection ended on %(date)s.") % {"date": ends}


def attach_line_rows(orders: Iterable[Order]) -> list[Order]:
    """Set ``order.line_rows``, and ``order.status_label``, on each order (lines and their
    disputes prefetched, as ``selectors.orders_for_buyer`` does). No queries. The choices'
    labels come from ``choice_label`` (``get_FOO_display`` hashes every lazy label per call)
    and the money format is looked up once for the page."""
    money = money_formatter()
    product_url, dispute_url, open_url = (url_by_pk("catalog:product_detail"), url_by_pk("disputes:dispute_detail"),
                                          url_by_pk("disputes:dispute_open"))
    orders = list(orders)
    for order in orders:
        ends = local_date(order.protection_ends_at) if order.protection_ends_at else ""
        may_open = order.status == Order.Status.DELIVERED and order.protection_open
        note = _protection_note(order, ends)
        order.status_label = choice_label(Order.Status, order.status)
        rows = []
        for line in order.lines.all():
            shown = {"line": line, "product_url": product_url(line.product_id),
                     "unit_price": money(line.unit_price, order.currency),
                     "line_total": money(line.line_total, order.currency)}
            current = line_dispute(line)
            if current is None:
                rows.append(LineRow(**shown, note=note,
                                    open_url=open_url(line.pk) if may_open and line.refundable_amount > Decimal(0)
                                    else ""))
                continue
            dispute = current.dispute
            state = choice_label(Dispute.State, dispute.state)
            if current.status == "open":
                label, why = _("Dispute #%(id)s") % {"id": dispute.pk}, ""
            elif current.status == "reopenable":
                label = _("Reopen dispute #%(id)s") % {"id": dispute.pk}
                why = _("You withdrew it; you can reopen it once, until %(date)s.") % {"date": ends}
            else:
                label = _("Dispute #%(id)s: %(state)s") % {"id": dispute.pk, "state": state}
                why = current.note
            rows.append(LineRow(**shown, dispute_status=current.status, dispute=dispute,
                                dispute_url=dispute_url(dispute.pk), dispute_label=label, state_label=state,
                                note=why))
        order.line_rows = rows
    return orders
