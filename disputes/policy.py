"""The rules in force, as staff read them on ``/admin/rules/``: every deadline of the lifecycle
table with its setting and outcome, the other settings that decide what happens, and where
local return exists today. Read from the lifecycle table, the settings and the warehouses;
nothing here restates them."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import Warehouse
from returns_portal.countries import Country, country_name

from .lifecycle import EXPIRING, STEPS, deadline_days
from .models import Dispute
from .presentation import OUTCOME_TEXTS
from .services.expiry import OUTCOMES


def days_text(days: int) -> str:
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


@dataclass(frozen=True)
class Deadline:
    state: str  # the step, in words
    setting: str  # the environment variable that sets it
    days: int
    when_passed: list[str]  # what the sweep does then, in words

    @property
    def duration(self) -> str:
        return days_text(self.days)


def deadlines() -> list[Deadline]:
    """Every step of the lifecycle with a deadline, in its order; what happens when it passes
    comes from the step's outcome (steps whose deadline has none say so)."""
    rows = []
    expiring = {step.state for step in EXPIRING}
    for step in STEPS.values():
        if not step.deadline:
            continue
        days = deadline_days(step.state)
        results = OUTCOMES[step.expiry].results() if step.state in expiring else ()
        when = [str(OUTCOME_TEXTS[code]) % {"days": days} for code in results]
        rows.append(Deadline(str(Dispute.State(step.state).label), step.deadline, days,
                             when or [_("Nothing happens automatically.")]))
    return rows


@dataclass(frozen=True)
class Setting:
    rule: str
    value: str
    setting: str


def other_settings() -> list[Setting]:
    """The settings beyond the step deadlines that decide what happens to a dispute or a refund."""
    protection = settings.BUYER_PROTECTION_DAYS
    reminder = settings.REMINDER_HOURS
    sweep, grace = settings.DEADLINE_SWEEP_SECONDS, settings.SWEEP_GRACE_MINUTES
    policy = (_("marketplace staff decide") if settings.SELLER_TIMEOUT_POLICY == "escalate"
              else _("the buyer is refunded the amount asked"))
    return [
        Setting(_("Buyer protection: a dispute may be opened until this long after delivery was confirmed."),
                days_text(protection), "BUYER_PROTECTION_DAYS"),
        Setting(_("The buyer or the seller is reminded this long before their deadline."),
                ngettext("%(n)d hour", "%(n)d hours", reminder) % {"n": reminder}, "REMINDER_HOURS"),
        Setting(_("When the seller misses the first deadline of a dispute that is not a local return:"),
                policy, "SELLER_TIMEOUT_POLICY"),
        Setting(_("A refund staff decide above this amount (in the order's currency) is paid once a second "
                  "staff member allowed to pay refunds approves it."),
                number_format(settings.STAFF_REFUND_APPROVAL_LIMIT, use_l10n=True, force_grouping=True),
                "STAFF_REFUND_APPROVAL_LIMIT"),
        Setting(_("The deadline sweep applies the outcome of every passed deadline this often."),
                ngettext("every %(n)d second", "every %(n)d seconds", sweep) % {"n": sweep},
                "DEADLINE_SWEEP_SECONDS"),
        Setting(_("A deadline the sweep has not processed this long after it passed raises the alarm on the "
                  "admin's front page."),
                ngettext("%(n)d minute", "%(n)d minutes", grace) % {"n": grace}, "SWEEP_GRACE_MINUTES"),
    ]


@dataclass(frozen=True)
class CountryWarehouses:
    country: str
    warehouses: list[Warehouse]

    @property
    def name(self) -> str:
        return country_name(self.country)


@dataclass(frozen=True)
class LocalReturn:
    countries: list[CountryWarehouses]  # where some warehouse takes returns today
    without: list[str]  # the other countries, by name

    @property
    def warehouse_count(self) -> int:
        return sum(len(c.warehouses) for c in self.countries)


def local_return_today() -> LocalReturn:
    """The countries where a return warehouse takes returns today, each with its warehouses and
    who runs them (the marketplace's take every store's goods, a store's only its own). One query."""
    warehouses = Warehouse.objects.accepting_returns().select_related("store").order_by("country", "city", "name", "pk")
    countries = [CountryWarehouses(code, list(group)) for code, group in groupby(warehouses, key=lambda w: w.country)]
    covered = {c.country for c in countries}
    return LocalReturn(sorted(countries, key=lambda c: c.name),
                       sorted(country_name(code) for code in Country.values if code not in covered))
