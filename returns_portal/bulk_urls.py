"""URLs of many objects of one kind for the price of one ``reverse``: for the rows of a list page."""
from typing import Callable

from django.urls import reverse

_SENTINEL = 9876543210


def url_by_pk(viewname: str) -> Callable[[int], str]:
    """``reverse(viewname, args=[pk])`` for many pks: reversed once with a sentinel, whose
    place the pk then takes (``reverse`` walks the URL patterns on every call)."""
    head, tail = reverse(viewname, args=[_SENTINEL]).split(str(_SENTINEL))
    return lambda pk: f"{head}{pk}{tail}"
