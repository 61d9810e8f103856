"""A paginator that never counts more rows than it can show."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Numbers at most ``max_pages`` pages. The count reads at most one row past them (a
    LIMITed subquery, the same SQL on every database), so it costs the same at a thousand
    goods and at a million; ``more`` says whether anything lies past the last page, which
    the page then asks the reader to narrow down. A page number past the last is the last page."""

    def __init__(self, object_list: QuerySet, per_page: int, *, max_pages: int) -> None:
        super().__init__(object_list, per_page)
        self.cap = max_pages * per_page

    @cached_property
    def _counted(self) -> int:
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def more(self) -> bool:
        """More goods match than the pages number."""
        return self._counted > self.cap
