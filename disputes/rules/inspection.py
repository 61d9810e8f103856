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

from .base import ChainResult, Outcome, Rule, RuleChain, RuleResult
from .conditions import CONDITIONS_BY_CODE


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


class ConditionRule(Rule):
    """One return condition. Not enabled for the category → passes (it does not apply)."""

    def check(self, facts: InspectionFacts) -> RuleResult:
        if self.code not in facts.enabled_codes:
            return self.passed()
        condition = CONDITIONS_BY_CODE[self.code]
        answer = facts.answers.get(self.code)
        note = facts.notes.get(self.code, "").strip()
        if answer == Answer.MEETS:
            return self.passed()
        if answer == Answer.FAILS:
            return self.failed(finding_text(self.code, Outcome.FAIL, note))
        if answer == Answer.UNSURE:
            return self.needs_review(finding_text(self.code, Outcome.REVIEW, note))
        return self.needs_review(_("Not checked: %(condition)s") % {"condition": condition.text})


def finding_text(code: str, outcome: str, note: str = "") -> str:
    """A finding as people read it, in their language: the failed condition said as a failure
    ("Signs of use or damage found."), or what staff must decide; then the inspector's note."""
    condition = CONDITIONS_BY_CODE[code]
    if outcome == Outcome.FAIL:
        text = str(condition.failure)
    else:
        text = _("To be decided by marketplace staff: %(condition)s") % {"condition": condition.text}
    return f"{text} {_('Inspector’s note: %(note)s') % {'note': note}}" if note else text


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
