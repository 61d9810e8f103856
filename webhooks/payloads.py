"""What a delivery's body says about the dispute: the API's summary of it (the same fields a
store reads from ``GET /api/v1/disputes/``), as it was when the event happened."""
from __future__ import annotations

from datetime import datetime

from api.serializers import DisputeSummarySerializer, UtcDateTime

_UTC = UtcDateTime()


def utc(moment: datetime | None) -> str | None:
    return _UTC.to_representation(moment) if moment is not None else None


class DisputeSnapshotSerializer(DisputeSummarySerializer):
    """The summary without ``allowed_actions``: they depend on the moment the store asks
    (and cost queries per dispute); ask the API for them."""

    allowed_actions = None
