"""URLs of many objects of one kind for the price of one ``reverse``: for the rows of a list page."""
from typing import Callable

from django.urls import reverse

_SENTINEL = 9876543210


def url_by_pk(viewname: str, *leading) -> Callable[[int], str]:
    """``reverse(viewname, args=[*leading, pk])`` for many pks: reversed once with a sentinel,
    whose place the pk then takes (``reverse`` walks the URL patterns on every call).
    ``leading``: the arguments before the pk, the same for every row (a file's dispute)."""
    head, tail = reverse(viewname, args=[*leading, _SENTINEL]).split(str(_SENTINEL))
    return lambda pk: f"{head}{pk}{tail}"
