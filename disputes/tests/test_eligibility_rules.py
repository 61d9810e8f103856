"""Request-time eligibility rules, as pure functions of ``DisputeFacts``: no database here.

pytest-django refuses database access to tests without the ``django_db`` mark, so a
query sneaking into a rule makes these tests fail.
"""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils.module_loading import import_string

from disputes.rules.base import Outcome, Rule, RuleResult
from disputes.rules.eligibility import (
    EarlierDispute,
    CompensationInRange,
    DisputeFacts,
    EvidenceProvided,
    LineBelongsToBuyer,
    LineDelivered,
    LocalReturnAllowedForCategory,
    LocalReturnOfferedBySeller,
    LocalReturnWarehouseInCountry,
    OneDisputePerLine,
    ProtectionWindowOpen,
    check_eligibility,
    eligibility_chain,
)

DELIVERED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
PROTECTION_ENDS_AT = DELIVERED_AT + timedelta(days=15)  # 16 March 2025, 09:30 UTC = 12:30 in Moscow

NOT_YOURS = "This order is not yours."
NOT_DELIVERED = "Confirm that you received the order first; a dispute can be opened after delivery."
ALREADY_OPEN = "There is already an open dispute on this item."
NOT_POSITIVE = "The compensation must be more than zero."
TOO_MUCH = "The compensation cannot be more than 2,490.00\u00a0₽, what you paid for this item minus refunds."
NEEDS_EVIDENCE = "Attach at least one photo or video showing the problem."
SELLER_NO_LOCAL = "The seller does not offer local return for this product."
CATEGORY_NO_LOCAL = "Goods in the category “Skin care” cannot be returned locally."
UKRAINE = "Local return is not available in Ukraine: there is no return warehouse in your country."
SELLER_HAS_NONE_IN_RUSSIA = (
    "This seller has no return warehouse in Russia, so local return is not available for this product."
)

ALL_CODES = [
    "line_belongs_to_buyer",
    "line_delivered",
    "protection_window_open",
    "one_dispute_per_line",
    "compensation_in_range",
    "evidence_required",
    "seller_offers_local_return",
    "category_allows_local_return",
    "return_warehouse_in_country",
]


def facts(**overrides) -> DisputeFacts:
    """The demo's story: a Russian buyer, their delivered line (2,490.00 RUB), one day into
    protection, asking for a local return of all of it; everything in order."""
    defaults = {
        "buyer_id": 7,
        "line_buyer_id": 7,
        "order_delivered": True,
        "delivered_at": DELIVERED_AT,
        "now": DELIVERED_AT + timedelta(days=1),
        "protection_days": 15,
        "earlier_dispute": None,
        "kind": "return",
        "route": "local",
        "amount": Decimal("2490.00"),
        "refundable_amount": Decimal("2490.00"),
        "currency": "RUB",
        "evidence_count": 0,
        "buyer_country": "RU",
        "seller_offers_local_return": True,
        "category_name": "Skin care",
        "category_allows_local_return": True,
        "return_point_in_country": True,
        "any_return_warehouse_in_country": True,
    }
    return DisputeFacts(**{**defaults, **overrides})


def passed(code: str) -> RuleResult:
    return RuleResult(code, Outcome.PASS, "")


def failed(code: str, message: str) -> RuleResult:
    return RuleResult(code, Outcome.FAIL, message)


# --- the line is the buyer's and was delivered ------------------------------------------


def test_line_belongs_to_buyer_passes_for_the_buyer_of_the_order():
    assert LineBelongsToBuyer().check(facts(buyer_id=7, line_buyer_id=7)) == passed("line_belongs_to_buyer")


def test_line_belongs_to_buyer_fails_for_someone_elses_line():
    result = LineBelongsToBuyer().check(facts(buyer_id=8, line_buyer_id=7))

    assert result == failed("line_belongs_to_buyer", NOT_YOURS)


def test_line_delivered_passes_once_delivery_is_confirmed():
    assert LineDelivered().check(facts(order_delivered=True)) == passed("line_delivered")


def test_line_delivered_fails_before_delivery_is_confirmed():
    result = LineDelivered().check(facts(order_delivered=False, delivered_at=None))

    assert result == failed("line_delivered", NOT_DELIVERED)


# --- buyer protection: 15 days after delivery was confirmed ----------------------------


def test_protection_window_is_open_one_second_before_it_ends():
    result = ProtectionWindowOpen().check(facts(now=PROTECTION_ENDS_AT - timedelta(seconds=1)))

    assert result == passed("protection_window_open")


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=1)])
def test_protection_window_is_closed_from_delivery_plus_15_days(settings, after):
    settings.TIME_ZONE = "Europe/Moscow"

    result = ProtectionWindowOpen().check(facts(now=PROTECTION_ENDS_AT + after))

    # The end is told in the buyer-facing (local) time: 09:30 UTC is 12:30 in Moscow.
    assert result == failed(
        "protection_window_open", "Buyer protection for this order ended on 16 Mar 2025, 12:30."
    )


def test_protection_window_follows_the_configured_number_of_days():
    result = ProtectionWindowOpen().check(facts(protection_days=30, now=PROTECTION_ENDS_AT + timedelta(days=1)))

    assert result == passed("protection_window_open")


def test_protection_window_leaves_an_undelivered_line_to_line_delivered():
    result = ProtectionWindowOpen().check(facts(order_delivered=False, delivered_at=None))

    assert result == passed("protection_window_open")


# --- one dispute per line: open, withdrawn (reopen it), or ended (final) -----------------

OPEN_DISPUTE = EarlierDispute(number=41, is_open=True, resolution="", closed_at=None, reopened=False)
CLOSED_AT = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


def test_one_dispute_per_line_passes_when_the_line_has_none():
    assert OneDisputePerLine().check(facts(earlier_dispute=None)) == passed("one_dispute_per_line")


def test_one_dispute_per_line_fails_when_the_line_has_an_open_one():
    result = OneDisputePerLine().check(facts(earlier_dispute=OPEN_DISPUTE))

    assert result == failed("one_dispute_per_line", ALREADY_OPEN)


def test_a_withdrawn_dispute_is_reopened_not_opened_anew():
    withdrawn = EarlierDispute(number=41, is_open=False, resolution="withdrawn", closed_at=CLOSED_AT, reopened=False)

    result = OneDisputePerLine().check(facts(earlier_dispute=withdrawn))

    assert result == failed("one_dispute_per_line", "You withdrew dispute #41 on this item on 5 Mar 2025, 12:00. "
                                                    "Reopen that dispute instead: an item has one dispute.")


def test_a_dispute_withdrawn_after_its_one_reopening_ends_the_line():
    withdrawn = EarlierDispute(number=41, is_open=False, resolution="withdrawn", closed_at=CLOSED_AT, reopened=True)

    result = OneDisputePerLine().check(facts(earlier_dispute=withdrawn))

    assert result == failed("one_dispute_per_line", "You withdrew dispute #41 on this item on 5 Mar 2025, 12:00, "
                                                    "after reopening it once. No new dispute can be opened on this "
                                                    "item.")


@pytest.mark.parametrize("resolution", ["refunded", "rejected", "buyer_timeout"])
def test_every_other_ending_is_final_for_the_line(resolution):
    ended = EarlierDispute(number=41, is_open=False, resolution=resolution, closed_at=CLOSED_AT, reopened=False)

    result = OneDisputePerLine().check(facts(earlier_dispute=ended))

    assert result == failed("one_dispute_per_line", "The dispute on this item (#41) ended on 5 Mar 2025, 12:00. "
                                                    "That is final: no new dispute can be opened on this item.")


# --- compensation: positive, the currency's minor units, at most paid minus refunded ----


def test_compensation_not_entered_yet_passes():
    assert CompensationInRange().check(facts(amount=None)) == passed("compensation_in_range")


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", "-5", "-0.01", "NaN", "sNaN", "Infinity", "-Infinity"],
)
def test_compensation_must_be_a_positive_number(amount):
    result = CompensationInRange().check(facts(amount=Decimal(amount)))

    assert result == failed("compensation_in_range", NOT_POSITIVE)


@pytest.mark.parametrize("amount", ["12.345", "12.3450", "0.001"])
def test_compensation_cannot_have_more_decimals_than_the_currency(amount):
    result = CompensationInRange().check(facts(amount=Decimal(amount), currency="RUB"))

    assert result == failed("compensation_in_range", "Amounts in RUB can have at most 2 decimal places.")


def test_compensation_in_a_currency_without_minor_units_cannot_have_cents():
    result = CompensationInRange().check(
        facts(amount=Decimal("1000.50"), refundable_amount=Decimal("5000.00"), currency="JPY")
    )

    assert result == failed("compensation_in_range", "Amounts in JPY have no decimal places.")


@pytest.mark.parametrize("amount", ["1000", "1000.00", "1E+3"])
def test_compensation_in_a_currency_without_minor_units_is_judged_by_value_not_notation(amount):
    # The DB column has two decimals, so a whole yen amount read back is written "1000.00".
    result = CompensationInRange().check(
        facts(amount=Decimal(amount), refundable_amount=Decimal("5000.00"), currency="JPY")
    )

    assert result == passed("compensation_in_range")


@pytest.mark.parametrize("amount", ["2490.01", "2491", "99999999999999999", "1E+999"])
def test_compensation_cannot_exceed_what_was_paid(amount):
    result = CompensationInRange().check(facts(amount=Decimal(amount), refundable_amount=Decimal("2490.00")))

    assert result == failed("compensation_in_range", TOO_MUCH)


def test_compensation_limit_is_paid_minus_already_refunded():
    # Paid 2,490.00, 490.00 already refunded: 2,000.00 may still be claimed.
    result = CompensationInRange().check(facts(amount=Decimal("2000.01"), refundable_amount=Decimal("2000.00")))

    assert result == failed(
        "compensation_in_range",
        "The compensation cannot be more than 2,000.00\u00a0₽, what you paid for this item minus refunds.",
    )


@pytest.mark.parametrize("amount", ["2490.00", "2490", "0.01", "100.5", "12.340", "2.4900E+3"])
def test_compensation_up_to_exactly_the_refundable_amount_passes(amount):
    result = CompensationInRange().check(facts(amount=Decimal(amount), refundable_amount=Decimal("2490.00")))

    assert result == passed("compensation_in_range")


# --- proof: none for a local return, a photo or video otherwise ------------------------


def test_local_return_needs_no_evidence():
    result = EvidenceProvided().check(facts(kind="return", route="local", evidence_count=0))

    assert result == passed("evidence_required")


@pytest.mark.parametrize(("kind", "route"), [("return", "international"), ("refund_only", "")])
def test_other_disputes_without_evidence_fail(kind, route):
    result = EvidenceProvided().check(facts(kind=kind, route=route, evidence_count=0))

    assert result == failed("evidence_required", NEEDS_EVIDENCE)


@pytest.mark.parametrize(("kind", "route"), [("return", "international"), ("refund_only", "")])
def test_other_disputes_with_one_photo_pass(kind, route):
    result = EvidenceProvided().check(facts(kind=kind, route=route, evidence_count=1))

    assert result == passed("evidence_required")


# --- local-return rules: skipped unless the buyer chose a local return -----------------

LOCAL_RETURN_BROKEN = {
    "seller_offers_local_return": False,
    "category_allows_local_return": False,
    "buyer_country": "UA",
    "return_point_in_country": False,
    "any_return_warehouse_in_country": False,
}


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (LocalReturnOfferedBySeller, "seller_offers_local_return"),
        (LocalReturnAllowedForCategory, "category_allows_local_return"),
        (LocalReturnWarehouseInCountry, "return_warehouse_in_country"),
    ],
)
@pytest.mark.parametrize(("kind", "route"), [("return", "international"), ("refund_only", "")])
def test_local_return_rules_pass_when_no_local_return_is_asked(rule, code, kind, route):
    result = rule().check(facts(kind=kind, route=route, evidence_count=1, **LOCAL_RETURN_BROKEN))

    assert result == passed(code)


@pytest.mark.parametrize(
    ("rule", "overrides", "expected"),
    [
        (LocalReturnOfferedBySeller, {"seller_offers_local_return": False},
         failed("seller_offers_local_return", SELLER_NO_LOCAL)),
        (LocalReturnAllowedForCategory, {"category_allows_local_return": False},
         failed("category_allows_local_return", CATEGORY_NO_LOCAL)),
        (LocalReturnWarehouseInCountry,
         {"buyer_country": "UA", "return_point_in_country": False, "any_return_warehouse_in_country": False},
         failed("return_warehouse_in_country", UKRAINE)),
        (LocalReturnWarehouseInCountry,
         {"buyer_country": "RU", "return_point_in_country": False, "any_return_warehouse_in_country": True},
         failed("return_warehouse_in_country", SELLER_HAS_NONE_IN_RUSSIA)),
    ],
)
def test_local_return_rules_delegate_for_a_local_return(rule, overrides, expected):
    assert rule().check(facts(kind="return", route="local", **overrides)) == expected


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (LocalReturnOfferedBySeller, "seller_offers_local_return"),
        (LocalReturnAllowedForCategory, "category_allows_local_return"),
        (LocalReturnWarehouseInCountry, "return_warehouse_in_country"),
    ],
)
def test_local_return_rules_pass_for_the_demo_buyer_in_russia(rule, code):
    assert rule().check(facts(kind="return", route="local")) == passed(code)


# --- the configured chain --------------------------------------------------------------


def test_the_chain_is_the_list_in_settings_in_order(settings):
    chain = eligibility_chain()

    assert [type(rule) for rule in chain.rules] == [import_string(p) for p in settings.DISPUTE_ELIGIBILITY_RULES]
    assert [rule.code for rule in chain.rules] == ALL_CODES


def test_the_chain_passes_the_demo_local_return():
    result = check_eligibility(facts())

    assert result.passed is True
    assert [(r.code, r.outcome) for r in result.results] == [(code, Outcome.PASS) for code in ALL_CODES]
    assert result.messages == ()


def test_the_chain_reports_every_failure_at_once():
    given = facts(
        order_delivered=False,
        delivered_at=None,
        earlier_dispute=OPEN_DISPUTE,
        amount=Decimal("2490.01"),
        buyer_country="UA",
        return_point_in_country=False,
        any_return_warehouse_in_country=False,
    )

    result = check_eligibility(given)

    assert result.passed is False
    assert result.failed_codes == (
        "line_delivered",
        "one_dispute_per_line",
        "compensation_in_range",
        "return_warehouse_in_country",
    )
    assert result.messages == (NOT_DELIVERED, ALREADY_OPEN, TOO_MUCH, UKRAINE)
    assert result.reviews == ()


def test_the_chain_reports_an_international_return_without_proof_and_not_local_rules():
    given = facts(route="international", evidence_count=0, buyer_id=8, **LOCAL_RETURN_BROKEN)

    result = check_eligibility(given)

    assert result.failed_codes == ("line_belongs_to_buyer", "evidence_required")
    assert result.messages == (NOT_YOURS, NEEDS_EVIDENCE)


class ExpensiveGoodsNeedAPerson(Rule):
    """A rule a project might add: a review outcome keeps the chain from passing, yet is no failure."""

    code = "expensive_goods"

    def check(self, facts: DisputeFacts) -> RuleResult:
        return self.needs_review("A person will look at this.")


def test_adding_a_rule_is_a_line_in_settings(settings):
    settings.DISPUTE_ELIGIBILITY_RULES = [
        *settings.DISPUTE_ELIGIBILITY_RULES,
        "disputes.tests.test_eligibility_rules.ExpensiveGoodsNeedAPerson",
    ]

    result = check_eligibility(facts())

    assert result.passed is False
    assert result.failed_codes == ()
    assert [(r.code, r.message) for r in result.reviews] == [("expensive_goods", "A person will look at this.")]
