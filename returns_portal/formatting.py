"""How dates read on pages, in messages and in e-mails: one short form, in the reader's language.

English: "9 Dec 2026, 15:30". Russian writes abbreviated months in the genitive, as the
common (CLDR) form does: "9 дек. 2026, 15:30", "9 мая 2026" — not Django's "9 Дек 2026".
Times are in the site's time zone.
"""
from datetime import datetime
from functools import lru_cache

from django.utils import formats, timezone, translation

# Abbreviated months in the form a date uses them ("9 дек.", "1 мая"), where Django's "M"
# does not give it.
MONTHS_SHORT = {
    "ru": ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."),
}


@lru_cache(maxsize=16)
def _months(language: str | None) -> tuple[str, ...]:
    """The abbreviated months of ``language`` (asked once per language: a list of dates
    would otherwise look up the format of each)."""
    months = MONTHS_SHORT.get((language or "").split("-")[0])
    if months:
        return months
    return tuple(formats.date_format(datetime(2000, month, 1), "M") for month in range(1, 13))


class LocalDates:
    """The forms below for the active language and time zone, both looked up once: a list
    formatting dozens of dates makes one and asks it for each."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.months = _months(translation.get_language())

    def _day_month(self, moment: datetime) -> str:
        return f"{moment.day} {self.months[moment.month - 1]}"

    def day_month(self, moment: datetime, *, with_time: bool = False) -> str:
        moment = timezone.localtime(moment, self.zone)
        text = self._day_month(moment)
        return f"{text}, {moment:%H:%M}" if with_time else text

    def local_date(self, moment: datetime) -> str:
        moment = timezone.localtime(moment, self.zone)
        return f"{self._day_month(moment)} {moment.year}"

    def local_datetime(self, moment: datetime) -> str:
        moment = timezone.localtime(moment, self.zone)
        return f"{self._day_month(moment)} {moment.year}, {moment:%H:%M}"


def day_month(moment: datetime, *, with_time: bool = False) -> str:
    """``9 Dec`` (``9 Dec, 15:30``): for lists, where the year is the current one."""
    return LocalDates().day_month(moment, with_time=with_time)


def local_date(moment: datetime) -> str:
    """``9 Dec 2026`` in the site's time zone and the active language."""
    return LocalDates().local_date(moment)


def local_datetime(moment: datetime) -> str:
    """``9 Dec 2026, 15:30`` in the site's time zone and the active language."""
    return LocalDates().local_datetime(moment)
