from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination


class DisputeCursorPagination(CursorPagination):
    """Oldest change first, by (updated_at, id): a client that keeps the last page's ``next``
    (or the latest ``updated_at`` it saw, as ``updated_since``) sees every change once, and
    rows that change while it pages move to the end instead of being skipped."""

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = _("This cursor is not valid: use the “next” or “previous” link of a page.")

    def decode_cursor(self, request):
        # A cursor is the client's to send back, so it may be forged: a position that is not a
        # time would reach the database's filter (a 500); refuse it as a bad parameter.
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None and parse_datetime(cursor.position) is None:
                raise ValueError(cursor.position)
        except (exceptions.NotFound, ValueError):
            raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from None
        return cursor


class MessageCursorPagination(DisputeCursorPagination):
    """A dispute's messages, oldest first, by (created_at, id)."""

    ordering = ("created_at", "id")
