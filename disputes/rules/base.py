"""The rule-chain engine.

A rule is a small object with a stable ``code`` and one ``check(facts)`` returning a
``RuleResult``: pass, fail or manual review, with a plain-language message. A chain
runs every rule and keeps every result, so the person refused sees all the reasons,
not just the first. Which rules run is configuration (a list of dotted paths).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from django.utils.module_loading import import_string


class Outcome(StrEnum):
    # bandit: an outcome code, not a password.
    PASS = "pass"  # nosec B105
    FAIL = "fail"
    REVIEW = "review"


@dataclass(frozen=True)
class RuleResult:
    code: str
    outcome: Outcome
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.PASS


class Rule:
    code: ClassVar[str]

    def check(self, facts: Any) -> RuleResult:
        raise NotImplementedError

    def passed(self) -> RuleResult:
        return RuleResult(self.code, Outcome.PASS)

    def failed(self, message: str) -> RuleResult:
        return RuleResult(self.code, Outcome.FAIL, str(message))

    def needs_review(self, message: str) -> RuleResult:
        return RuleResult(self.code, Outcome.REVIEW, str(message))


@dataclass(frozen=True)
class ChainResult:
    results: tuple[RuleResult, ...]

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.outcome == Outcome.FAIL)

    @property
    def reviews(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.outcome == Outcome.REVIEW)

    @property
    def passed(self) -> bool:
        """True only when every rule passed."""
        return all(r.passed for r in self.results)

    @property
    def failed_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.failures)

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(r.message for r in self.results if not r.passed)


class RuleChain:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)

    @classmethod
    def from_paths(cls, paths: Sequence[str]) -> RuleChain:
        return cls(import_string(path)() for path in paths)

    def run(self, facts: Any) -> ChainResult:
        return ChainResult(tuple(rule.check(facts) for rule in self.rules))
