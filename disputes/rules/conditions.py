"""The return conditions (DESIGN §2): what returned goods are checked against.

This module is the catalogue: each condition's stable code, its plain-language text
shown to both sides, and which categories it applies to by default. The buyer sees
the conditions for their item before shipping it.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ALL_KINDS = frozenset({"apparel", "jewelry", "cosmetics", "electronics", "other"})


@dataclass(frozen=True)
class ReturnCondition:
    code: str
    text: Promise  # the condition, as both sides read it before the goods are shipped
    failure: Promise  # the same condition, failed: what the inspector found
    kinds: frozenset[str] = ALL_KINDS
    only_sealed_categories: bool = False  # applies only to "not returnable once opened" categories

    def applies_to(self, *, category_kind: str, not_returnable_once_opened: bool) -> bool:
        if self.only_sealed_categories and not not_returnable_once_opened:
            return False
        return category_kind in self.kinds


RETURN_CONDITIONS: tuple[ReturnCondition, ...] = (
    ReturnCondition(
        "sealed_packaging_opened",
        _("Goods that cannot be sold again once the original brand packaging is opened (hygiene, cosmetics, "
          "underwear…) must come back with that packaging unopened."),
        _("The original brand packaging was opened, so the goods cannot be sold again."),
        only_sealed_categories=True,
    ),
    ReturnCondition(
        "brand_packaging", _("The undamaged brand packaging in which the goods were received is kept."),
        _("The brand packaging is missing or damaged."),
    ),
    ReturnCondition(
        "completeness", _("Accessories, invoices and documents, labels and tags are all present."),
        _("Something is missing: accessories, invoices or documents, labels or tags."),
    ),
    ReturnCondition("signs_of_use", _("No signs of use or damage."), _("Signs of use or damage found.")),
    ReturnCondition(
        "washed_worn_labels", _("Not washed, not worn, labels not torn off."),
        _("Washed or worn, or labels torn off."), kinds=frozenset({"apparel"}),
    ),
    ReturnCondition(
        "jewelry_condition",
        _("Jewelry, watches, accessories and eyeglasses: not used, altered, scratched, replaced or damaged."),
        _("Used, altered, scratched, replaced or damaged."),
        kinds=frozenset({"jewelry"}),
    ),
    ReturnCondition(
        "item_identity",
        _("It is the item that was sold, in the quantity claimed: not empty, not swapped, not short."),
        _("Not the item that was sold, or not in the quantity claimed."),
    ),
)


CONDITIONS_BY_CODE: dict[str, ReturnCondition] = {c.code: c for c in RETURN_CONDITIONS}


def conditions_for(*, category_kind: str, not_returnable_once_opened: bool) -> list[ReturnCondition]:
    return [
        condition
        for condition in RETURN_CONDITIONS
        if condition.applies_to(category_kind=category_kind, not_returnable_once_opened=not_returnable_once_opened)
    ]
