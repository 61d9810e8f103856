"""Whether local return is available to a buyer for a product.

Local return exists only where the marketplace or the product's seller has an
active return warehouse in the buyer's country (DESIGN §1.2, §2).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from returns_portal.countries import country_name

from .base import ChainResult, Rule, RuleChain, RuleResult


@dataclass(frozen=True)
class LocalReturnFacts:
    buyer_country: str
    seller_offers_local_return: bool
    category_name: str
    category_allows_local_return: bool
    # In the buyer's country: an active warehouse that takes returns of this seller's goods
    # (the seller's own or the marketplace's), and an active return warehouse of anybody at all.
    return_point_in_country: bool
    any_return_warehouse_in_country: bool


class SellerOffersLocalReturn(Rule):
    code = "seller_offers_local_return"

    def check(self, facts: LocalReturnFacts) -> RuleResult:
        if facts.seller_offers_local_return:
            return self.passed()
        return self.failed(_("The seller does not offer local return for this product."))


class CategoryAllowsLocalReturn(Rule):
    code = "category_allows_local_return"

    def check(self, facts: LocalReturnFacts) -> RuleResult:
        if facts.category_allows_local_return:
            return self.passed()
        return self.failed(
            _("Goods in the category “%(category)s” cannot be returned locally.") % {"category": facts.category_name}
        )


class ReturnWarehouseInCountry(Rule):
    code = "return_warehouse_in_country"

    def check(self, facts: LocalReturnFacts) -> RuleResult:
        if not facts.buyer_country:
            return self.failed(_("We do not know your country, so we cannot tell whether local return is possible."))
        if facts.return_point_in_country:
            return self.passed()
        country = country_name(facts.buyer_country)
        if facts.any_return_warehouse_in_country:
            # Others take returns there, just not of this seller's goods: say so, not "none in your country".
            return self.failed(
                _("This seller has no return warehouse in %(country)s, so local return is not available "
                  "for this product.") % {"country": country}
            )
        return self.failed(
            _("Local return is not available in %(country)s: there is no return warehouse in your country.")
            % {"country": country}
        )


def local_return_chain() -> RuleChain:
    return RuleChain.from_paths(settings.LOCAL_RETURN_RULES)


def check_local_return(facts: LocalReturnFacts) -> ChainResult:
    return local_return_chain().run(facts)
