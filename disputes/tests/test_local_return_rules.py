"""The local-return rule chain, as pure functions of plain data: no database here.

pytest-django refuses database access to tests without the ``django_db`` mark, so
any query sneaking into a rule makes these tests fail.
"""
import pytest

from disputes.rules.base import ChainResult, Outcome, Rule, RuleChain, RuleResult
from disputes.rules.local_return import (
    CategoryAllowsLocalReturn,
    LocalReturnFacts,
    ReturnWarehouseInCountry,
    SellerOffersLocalReturn,
    check_local_return,
    local_return_chain,
)

UKRAINE_MESSAGE = "Local return is not available in Ukraine: there is no return warehouse in your country."
RUSSIA_SELLER_MESSAGE = (
    "This seller has no return warehouse in Russia, so local return is not available for this product."
)
SELLER_MESSAGE = "The seller does not offer local return for this product."
COSMETICS_MESSAGE = "Goods in the category “Cosmetics” cannot be returned locally."


# Who takes returns in the buyer's country.
RETURN_POINT_HERE = {"return_point_in_country": True, "any_return_warehouse_in_country": True}
ONLY_OTHER_SELLERS_HERE = {"return_point_in_country": False, "any_return_warehouse_in_country": True}
NO_RETURN_WAREHOUSE_HERE = {"return_point_in_country": False, "any_return_warehouse_in_country": False}


def facts(**overrides) -> LocalReturnFacts:
    """A Russian buyer of an opted-in product in a returnable category, with a return warehouse in Russia."""
    defaults = {
        "buyer_country": "RU",
        "seller_offers_local_return": True,
        "category_name": "Cosmetics",
        "category_allows_local_return": True,
        **RETURN_POINT_HERE,
    }
    return LocalReturnFacts(**{**defaults, **overrides})


class ManualCheckRule(Rule):
    """A rule a project might add: expensive goods go to a person before a local return."""

    code = "manual_check"

    def check(self, facts: LocalReturnFacts) -> RuleResult:
        return self.needs_review("A marketplace agent will confirm this return.")


class AlwaysPassRule(Rule):
    code = "always_pass"

    def check(self, facts: LocalReturnFacts) -> RuleResult:
        return self.passed()


# --- each rule alone --------------------------------------------------------------


def test_seller_offers_local_return_passes_when_the_seller_opted_in():
    result = SellerOffersLocalReturn().check(facts(seller_offers_local_return=True))

    assert result == RuleResult("seller_offers_local_return", Outcome.PASS, "")
    assert result.passed is True


def test_seller_offers_local_return_fails_when_the_seller_did_not_opt_in():
    result = SellerOffersLocalReturn().check(facts(seller_offers_local_return=False))

    assert result == RuleResult("seller_offers_local_return", Outcome.FAIL, SELLER_MESSAGE)
    assert result.passed is False


def test_category_allows_local_return_passes_for_a_returnable_category():
    result = CategoryAllowsLocalReturn().check(facts(category_allows_local_return=True))

    assert result == RuleResult("category_allows_local_return", Outcome.PASS, "")


def test_category_allows_local_return_fails_naming_the_category():
    result = CategoryAllowsLocalReturn().check(facts(category_allows_local_return=False))

    assert result == RuleResult("category_allows_local_return", Outcome.FAIL, COSMETICS_MESSAGE)


def test_return_warehouse_in_country_passes_with_a_return_point_in_the_buyers_country():
    result = ReturnWarehouseInCountry().check(facts(buyer_country="RU", **RETURN_POINT_HERE))

    assert result == RuleResult("return_warehouse_in_country", Outcome.PASS, "")


def test_ukrainian_buyer_is_told_there_is_no_return_warehouse_in_their_country():
    result = ReturnWarehouseInCountry().check(facts(buyer_country="UA", **NO_RETURN_WAREHOUSE_HERE))

    assert result == RuleResult("return_warehouse_in_country", Outcome.FAIL, UKRAINE_MESSAGE)


@pytest.mark.parametrize(
    ("country", "name"),
    [("BY", "Belarus"), ("MD", "Moldova"), ("KZ", "Kazakhstan")],
)
def test_other_former_cis_buyers_are_refused_by_country_name(country, name):
    result = ReturnWarehouseInCountry().check(facts(buyer_country=country, **NO_RETURN_WAREHOUSE_HERE))

    assert result.outcome == Outcome.FAIL
    assert result.message == f"Local return is not available in {name}: there is no return warehouse in your country."


def test_when_only_other_sellers_take_returns_there_the_buyer_is_told_this_seller_has_none():
    result = ReturnWarehouseInCountry().check(facts(buyer_country="RU", **ONLY_OTHER_SELLERS_HERE))

    assert result == RuleResult("return_warehouse_in_country", Outcome.FAIL, RUSSIA_SELLER_MESSAGE)


def test_unknown_buyer_country_fails_with_its_own_message():
    result = ReturnWarehouseInCountry().check(facts(buyer_country=""))

    assert result == RuleResult(
        "return_warehouse_in_country",
        Outcome.FAIL,
        "We do not know your country, so we cannot tell whether local return is possible.",
    )


# --- the chain ------------------------------------------------------------------


def test_chain_passes_when_every_rule_passes():
    result = check_local_return(facts())

    assert result.passed is True
    assert result.failures == ()
    assert result.failed_codes == ()
    assert result.messages == ()
    assert result.reviews == ()
    assert [r.code for r in result.results] == [
        "seller_offers_local_return",
        "category_allows_local_return",
        "return_warehouse_in_country",
    ]
    assert all(r.outcome == Outcome.PASS for r in result.results)


def test_chain_collects_every_failure_not_just_the_first():
    given = facts(
        buyer_country="UA",
        seller_offers_local_return=False,
        category_allows_local_return=False,
        **NO_RETURN_WAREHOUSE_HERE,
    )

    result = check_local_return(given)

    assert result.passed is False
    assert result.failed_codes == (
        "seller_offers_local_return",
        "category_allows_local_return",
        "return_warehouse_in_country",
    )
    assert result.messages == (
        SELLER_MESSAGE,
        COSMETICS_MESSAGE,
        UKRAINE_MESSAGE,
    )
    assert result.failures == result.results
    assert result.reviews == ()


def test_chain_keeps_passes_in_results_but_not_in_failures():
    result = check_local_return(facts(buyer_country="UA", **NO_RETURN_WAREHOUSE_HERE))

    assert [(r.code, r.outcome) for r in result.results] == [
        ("seller_offers_local_return", Outcome.PASS),
        ("category_allows_local_return", Outcome.PASS),
        ("return_warehouse_in_country", Outcome.FAIL),
    ]
    assert result.failed_codes == ("return_warehouse_in_country",)
    assert result.messages == (UKRAINE_MESSAGE,)


def test_chain_result_properties_with_mixed_outcomes():
    result = ChainResult(
        (
            RuleResult("a", Outcome.PASS),
            RuleResult("b", Outcome.FAIL, "b failed"),
            RuleResult("c", Outcome.REVIEW, "c needs a person"),
            RuleResult("d", Outcome.FAIL, "d failed"),
        )
    )

    assert result.passed is False
    assert result.failures == (RuleResult("b", Outcome.FAIL, "b failed"), RuleResult("d", Outcome.FAIL, "d failed"))
    assert result.failed_codes == ("b", "d")
    assert result.reviews == (RuleResult("c", Outcome.REVIEW, "c needs a person"),)
    # Every result that is not a pass explains itself, in chain order.
    assert result.messages == ("b failed", "c needs a person", "d failed")


def test_a_review_alone_is_not_a_pass_and_not_a_failure():
    result = ChainResult((RuleResult("a", Outcome.PASS), RuleResult("c", Outcome.REVIEW, "check by hand")))

    assert result.passed is False
    assert result.failures == ()
    assert result.failed_codes == ()
    assert result.reviews == (RuleResult("c", Outcome.REVIEW, "check by hand"),)
    assert result.messages == ("check by hand",)


# --- configuration ----------------------------------------------------------------


def test_from_paths_builds_the_configured_local_return_chain_in_order(settings):
    assert settings.LOCAL_RETURN_RULES == [
        "disputes.rules.local_return.SellerOffersLocalReturn",
        "disputes.rules.local_return.CategoryAllowsLocalReturn",
        "disputes.rules.local_return.ReturnWarehouseInCountry",
    ]

    chain = RuleChain.from_paths(settings.LOCAL_RETURN_RULES)

    assert [type(rule) for rule in chain.rules] == [
        SellerOffersLocalReturn,
        CategoryAllowsLocalReturn,
        ReturnWarehouseInCountry,
    ]
    assert [type(rule) for rule in local_return_chain().rules] == [type(rule) for rule in chain.rules]


def test_from_paths_with_an_unknown_path_raises_import_error():
    with pytest.raises(ImportError):
        RuleChain.from_paths(["disputes.rules.local_return.NoSuchRule"])


def test_adding_a_rule_is_adding_a_path_to_the_setting(settings):
    settings.LOCAL_RETURN_RULES = [
        *settings.LOCAL_RETURN_RULES,
        "disputes.tests.test_local_return_rules.ManualCheckRule",
    ]

    result = check_local_return(facts())

    assert [r.code for r in result.results] == [
        "seller_offers_local_return",
        "category_allows_local_return",
        "return_warehouse_in_country",
        "manual_check",
    ]
    assert result.passed is False
    assert result.failures == ()
    assert result.reviews == (
        RuleResult("manual_check", Outcome.REVIEW, "A marketplace agent will confirm this return."),
    )
    assert result.messages == ("A marketplace agent will confirm this return.",)


def test_custom_review_rule_is_reported_beside_failures():
    chain = RuleChain([SellerOffersLocalReturn(), ManualCheckRule(), AlwaysPassRule()])

    result = chain.run(facts(seller_offers_local_return=False))

    assert [(r.code, r.outcome) for r in result.results] == [
        ("seller_offers_local_return", Outcome.FAIL),
        ("manual_check", Outcome.REVIEW),
        ("always_pass", Outcome.PASS),
    ]
    assert result.failed_codes == ("seller_offers_local_return",)
    assert [r.code for r in result.reviews] == ["manual_check"]
    assert result.messages == (SELLER_MESSAGE, "A marketplace agent will confirm this return.")


def test_a_chain_can_be_run_more_than_once_with_the_same_rules():
    chain = RuleChain.from_paths(["disputes.rules.local_return.SellerOffersLocalReturn"])

    first = chain.run(facts(seller_offers_local_return=False))
    second = chain.run(facts(seller_offers_local_return=True))

    assert first.failed_codes == ("seller_offers_local_return",)
    assert second.passed is True


def test_rule_results_are_immutable():
    result = SellerOffersLocalReturn().check(facts())

    with pytest.raises(AttributeError):
        result.outcome = Outcome.FAIL  # type: ignore[misc]
