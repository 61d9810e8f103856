"""Request-time eligibility: may this buyer open this dispute on this order line?

Checked when the form is shown (to explain a disabled option) and again inside the
opening transaction. Every rule is pure: it reads ``DisputeFacts`` only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from returns_portal import money
from returns_portal.formatting import local_datetime

from .base import ChainResult, Rule, RuleChain, RuleResult
from .local_return import CategoryAllowsLocalReturn, ReturnWarehouseInCountry, SellerOffersLocalReturn

KIND_RETURN = "return"
ROUTE_LOCAL = "local"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class EarlierDispute:
    """A dispute already opened on the line: open, withdrawn, or ended."""

    number: int
    is_open: bool
    resolution: str
    closed_at: datetime | None
    reopened: bool


@dataclass(frozen=True)
class DisputeFacts:
    buyer_id: int
    line_buyer_id: int
    order_delivered: bool
    delivered_at: datetime | None
    now: datetime
    protection_days: int
    earlier_dispute: EarlierDispute | None
    kind: str
    route: str
    amount: Decimal | None  # None while the buyer has not entered one yet
    refundable_amount: Decimal  # paid for the line minus what was already refunded
    currency: str  # the order's; decides the valid decimal places and how amounts read
    evidence_count: int
    # Local return (same fields as LocalReturnFacts, so the catalog's rules apply as they are).
    buyer_country: str
    seller_offers_local_return: bool
    category_name: str
    category_allows_local_return: bool
    return_point_in_country: bool
    any_return_warehouse_in_country: bool

    @property
    def is_local_return(self) -> bool:
        return self.kind == KIND_RETURN and self.route == ROUTE_LOCAL

    @property
    def protection_ends_at(self) -> datetime | None:
        return None if self.delivered_at is None else self.delivered_at + timedelta(days=self.protection_days)


class LineBelongsToBuyer(Rule):
    code = "line_belongs_to_buyer"

    def check(self, facts: DisputeFacts) -> RuleResult:
        if facts.buyer_id == facts.line_buyer_id:
            return self.passed()
        return self.failed(_("This order is not yours."))


class LineDelivered(Rule):
    code = "line_delivered"

    def check(self, facts: DisputeFacts) -> RuleResult:
        if facts.order_delivered:
            return self.passed()
        return self.failed(_("Confirm that you received the order first; a dispute can be opened after delivery."))


class ProtectionWindowOpen(Rule):
    code = "protection_window_open"

    def check(self, facts: DisputeFacts) -> RuleResult:
        ends = facts.protection_ends_at
        if ends is None or facts.now < ends:
            return self.passed()  # not delivered is LineDelivered's refusal, not this one's
        return self.failed(
            _("Buyer protection for this order ended on %(date)s.")
            # In the buyer-facing time zone, as every other date the buyer sees (not UTC).
            % {"date": local_datetime(ends)}
        )


class OneDisputePerLine(Rule):
    """An order line gets one dispute (DESIGN §3): a withdrawn one is reopened, never
    opened anew, and every other ending is final."""

    code = "one_dispute_per_line"

    def check(self, facts: DisputeFacts) -> RuleResult:
        earlier = facts.earlier_dispute
        if earlier is None:
            return self.passed()
        if earlier.is_open:
            return self.failed(_("There is already an open dispute on this item."))
        date = local_datetime(earlier.closed_at) if earlier.closed_at else "—"
        values = {"number": earlier.number, "date": date}
        if earlier.resolution == WITHDRAWN and not earlier.reopened:
            return self.failed(_("You withdrew dispute #%(number)s on this item on %(date)s. Reopen that dispute "
                                 "instead: an item has one dispute.") % values)
        if earlier.resolution == WITHDRAWN:
            return self.failed(_("You withdrew dispute #%(number)s on this item on %(date)s, after reopening it "
                                 "once. No new dispute can be opened on this item.") % values)
        return self.failed(_("The dispute on this item (#%(number)s) ended on %(date)s. That is final: no new "
                             "dispute can be opened on this item.") % values)


class CompensationInRange(Rule):
    code = "compensation_in_range"

    def check(self, facts: DisputeFacts) -> RuleResult:
        amount = facts.amount
        if amount is None:
            return self.passed()  # nothing entered yet: the form asks for it
        if not amount.is_finite() or amount <= 0:
            return self.failed(_("The compensation must be more than zero."))
        # Significant places only: a whole yen amount read back from a two-decimal column is 1000.00.
        if money.significant_places(amount) > money.decimal_places(facts.currency):
            return self.failed(money.too_many_places_message(facts.currency))
        if amount > facts.refundable_amount:
            return self.failed(
                _("The compensation cannot be more than %(max)s, what you paid for this item minus refunds.")
                % {"max": money.format_money(facts.refundable_amount, facts.currency)}
            )
        return self.passed()


class EvidenceProvided(Rule):
    """A local return needs no proof; every other kind needs a photo or a video."""

    code = "evidence_required"

    def check(self, facts: DisputeFacts) -> RuleResult:
        if facts.is_local_return or facts.evidence_count > 0:
            return self.passed()
        return self.failed(_("Attach at least one photo or video showing the problem."))


class _OnlyForLocalReturn(Rule):
    """Runs a local-return rule only when the buyer chose the local-return route."""

    inner: type[Rule]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.code = cls.inner.code

    def check(self, facts: DisputeFacts) -> RuleResult:
        if not facts.is_local_return:
            return self.passed()
        return self.inner().check(facts)


class LocalReturnOfferedBySeller(_OnlyForLocalReturn):
    inner = SellerOffersLocalReturn


class LocalReturnAllowedForCategory(_OnlyForLocalReturn):
    inner = CategoryAllowsLocalReturn


class LocalReturnWarehouseInCountry(_OnlyForLocalReturn):
    inner = ReturnWarehouseInCountry


def eligibility_chain() -> RuleChain:
    return RuleChain.from_paths(settings.DISPUTE_ELIGIBILITY_RULES)


def check_eligibility(facts: DisputeFacts) -> ChainResult:
    return eligibility_chain().run(facts)
