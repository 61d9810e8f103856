"""Evidence files without a row: written by a transaction that then rolled back (or died).

A file is written before its row commits, so a rollback after ``save_attachments`` leaves the
file behind. The sweep removes a file under ``disputes/`` in the private storage only when no
``DisputeAttachment`` names it and it is older than EVIDENCE_ORPHAN_HOURS: a transaction still
open that long does not exist, so a file whose row is about to commit is never touched, and a
committed row is always seen. Run twice, the second run finds nothing to do.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import DisputeAttachment

EVIDENCE_FOLDER = "disputes"
DEFAULT_ORPHAN_HOURS = 6
BATCH = 500


def evidence_storage():
    """Where evidence files are: the private storage, as the attachment's field resolved it."""
    return DisputeAttachment._meta.get_field("file").storage


def _files_under(storage, folder: str):
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for child in folders:
        yield from _files_under(storage, f"{folder}/{child}")


def _delete_orphans(storage, names: list[str]) -> int:
    kept = set(DisputeAttachment.objects.filter(file__in=names).values_list("file", flat=True))
    orphans = [name for name in names if name not in kept]
    for name in orphans:
        storage.delete(name)  # a file gone meanwhile is fine: the storage ignores it
    return len(orphans)


def evidence_sweep_orphans(*, now: datetime | None = None) -> int:
    """Delete evidence files that no attachment row names, older than EVIDENCE_ORPHAN_HOURS;
    returns how many were deleted."""
    storage = evidence_storage()
    hours = getattr(settings, "EVIDENCE_ORPHAN_HOURS", DEFAULT_ORPHAN_HOURS)
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    deleted, batch = 0, []
    for name in _files_under(storage, EVIDENCE_FOLDER):
        try:
            if storage.get_modified_time(name) > cutoff:
                continue
        except FileNotFoundError:
            continue
        batch.append(name)
        if len(batch) == BATCH:
            deleted += _delete_orphans(storage, batch)
            batch = []
    if batch:
        deleted += _delete_orphans(storage, batch)
    return deleted
