"""A choice's label in the reader's language, looked up in a dict made once per language.

``instance.get_FOO_display()`` builds a dict of every choice (hashing each lazy label, which
translates it) on every call: on a list of 50 rows with a country column that is most of the
page's time. ``choice_label(Order.Country, "RU")`` gives the same text.
"""
from functools import lru_cache

from django.db.models import Choices
from django.utils import translation


@lru_cache(maxsize=256)
def _labels(choices: type[Choices], language: str | None) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def choice_label(choices: type[Choices], value) -> str:
    """The label of ``value`` among ``choices`` in the active language; the value itself when
    it is not one of them (as ``get_FOO_display`` does)."""
    return _labels(choices, translation.get_language()).get(value, value)
