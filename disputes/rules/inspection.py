"""Return conditions at receipt: the inspection chain (DESIGN §2).

The receiver answers one question per applicable condition — meets / fails / unsure —
with an optional note. Each condition is a small rule returning pass, fail (with the
condition's text and the inspector's note) or manual review. Which conditions apply to
a category is data (``CategoryCondition`` rows, switchable by staff); the facts carry
the resulting set of enabled codes, so the rules stay pure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.utils.translation import gettext as _

from .base import ChainResult, Rule, RuleChain, RuleResult
from .conditions import RETURN_CONDITIONS, ReturnCondition


class Answer(StrEnum):
    MEETS = "meets"
    FAILS = "fails"
    UNSURE = "unsure"


ANSWERS = frozenset(a.value for a in Answer)


@dataclass(frozen=True)
class InspectionFacts:
    enabled_codes: frozenset[str]
    answers: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)


CONDITIONS_BY_CODE: dict[str, ReturnCondition] = {c.code: c for c in RETURN_CONDITIONS}


class ConditionRule(Rule):
    """One return condition. Not enabled for the category → passes (it does not apply)."""

    def check(self, facts: InspectionFacts) -> RuleResult:
        if self.code not in facts.enabled_codes:
            return self.passed()
        condition = CONDITIONS_BY_CODE[self.code]
        answer = facts.answers.get(self.code)
        note = facts.notes.get(self.code, "").strip()
        detail = f"{condition.text}" + (f" — {_('Inspector')}: {note}" if note else "")
        if answer == Answer.MEETS:
            return self.passed()
        if answer == Answer.FAILS:
            return self.failed(detail)
        if answer == Answer.UNSURE:
            return self.needs_review(detail)
        return self.needs_review(_("Not checked: %(condition)s") % {"condition": condition.text})


class SealedPackagingOpened(ConditionRule):
    code = "sealed_packaging_opened"


class BrandPackaging(ConditionRule):
    code = "brand_packaging"


class Completeness(ConditionRule):
    code = "completeness"


class SignsOfUse(ConditionRule):
    code = "signs_of_use"


class WashedWornLabels(ConditionRule):
    code = "washed_worn_labels"


class JewelryCondition(ConditionRule):
    code = "jewelry_condition"


class ItemIdentity(ConditionRule):
    code = "item_identity"


def inspection_chain() -> RuleChain:
    return RuleChain.from_paths(settings.RETURN_CONDITION_RULES)


def check_inspection(facts: InspectionFacts) -> ChainResult:
    return inspection_chain().run(facts)
