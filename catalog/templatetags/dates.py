"""``{{ moment|short_date }}``, ``|short_datetime``, ``|day_month``, ``|day_month_time``: the one
short date form of ``returns_portal.formatting``, in the reader's language."""
from django import template

from returns_portal import formatting

register = template.Library()


def _or_empty(function):
    def filter_(moment):
        return function(moment) if moment else ""
    return filter_


register.filter("short_date", _or_empty(formatting.local_date))
register.filter("short_datetime", _or_empty(formatting.local_datetime))
register.filter("day_month", _or_empty(formatting.day_month))
register.filter("day_month_time", _or_empty(lambda moment: formatting.day_month(moment, with_time=True)))
