"""``Idempotency-Key`` on every POST of the API (DESIGN §8).

A store's system that did not hear the answer sends the request again with the same key. The
first request claims the key in the transaction that acts, and keeps the answer with it; a
retry with the same body gets that answer again (``Idempotent-Replayed: true``) without
acting; the same key with another body, or at another address, is a 409.

Racing requests with one key: the claim is an INSERT into a unique index, so the others wait
for the first one's transaction to end. If it committed, they answer from its record; if it
failed (an error, a crash), nothing of it stays, and the next one acts. Answers that are not
refusals of the request itself (5xx) are never kept, so a retry acts again.

Keys are kept ``IDEMPOTENCY_KEY_HOURS`` (24 h); after that the same key acts again, and a
periodic task forgets them (``api.tasks.forget_idempotency_keys``).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from .errors import error_body, exception_handler
from .models import IdempotentRequest

HEADER = "Idempotency-Key"
# Printable ASCII without spaces, as the header's drafts and the big APIs take it (UUIDs fit).
KEY_FORMAT = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)


def key_lifetime() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def fingerprint(request) -> str:
    """The request as far as acting on it goes: method, path, the parsed body (so JSON that
    differs only in spacing or key order is the same request) and each file's name and content."""
    digest = hashlib.sha256(f"{request.method}\0{request.path}\0".encode())
    data = request.data
    if hasattr(data, "lists"):  # a form body: every value of every field
        data = sorted((name, value) for name, values in data.lists() for value in values
                      if name not in request.FILES)
    digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    for name, files in sorted(request.FILES.lists()):
        for upload in files:
            digest.update(f"\0{name}\0{upload.name}\0{upload.size}\0".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _answer(request, view, act: Callable[[], Response]) -> Response:
    """What ``act`` answers, with a refusal (4xx) turned into its response here, inside the
    transaction, so that it is kept too. Anything else propagates and rolls the claim back."""
    try:
        return act()
    except Exception as exc:  # noqa: BLE001 - only what the API's handler answers is kept
        response = exception_handler(exc, {"request": request, "view": view})
        if response is None:
            raise
        return response


def idempotent(request, view, act: Callable[[], Response]) -> Response:
    """Run ``act`` once per ``Idempotency-Key`` of the request's API key (see the module)."""
    key = request.headers.get(HEADER)
    if key is None:
        return act()
    if not KEY_FORMAT.fullmatch(key):
        raise exceptions.ValidationError({HEADER: [_("Send at most 255 printable characters without spaces, "
                                                     "such as a UUID.")]})
    digest = fingerprint(request)
    for _attempt in range(3):
        with transaction.atomic():
            try:
                with transaction.atomic():  # waits here while another request holds the key
                    record = IdempotentRequest.objects.create(api_key=request.auth, key=key, fingerprint=digest,
                                                              status_code=0)
            except IntegrityError:
                record = None
            if record is not None:
                response = _answer(request, view, act)
                if response.status_code >= 500:  # not kept: the retry acts again
                    transaction.set_rollback(True)
                    return response
                record.status_code, record.response = response.status_code, response.data
                record.save(update_fields=["status_code", "response"])
                return response
        earlier = IdempotentRequest.objects.filter(api_key=request.auth, key=key).first()
        if earlier is None:
            continue  # forgotten meanwhile: claim it again
        if earlier.created_at <= timezone.now() - key_lifetime():
            IdempotentRequest.objects.filter(pk=earlier.pk, created_at=earlier.created_at).delete()
            continue
        if earlier.fingerprint != digest:
            return Response(error_body(
                "idempotency_key_reused",
                _("This Idempotency-Key was used for another request; use a new key for a new request.")),
                status=status.HTTP_409_CONFLICT)
        return Response(earlier.response, status=earlier.status_code, headers={"Idempotent-Replayed": "true"})
    raise exceptions.Throttled(wait=1)  # the key keeps changing hands: let the client retry


def forget_expired(now=None) -> int:
    """Delete the keys older than their lifetime; returns how many."""
    now = now or timezone.now()
    deleted, _rows = IdempotentRequest.objects.filter(created_at__lte=now - key_lifetime()).delete()
    return deleted
