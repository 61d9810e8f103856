"""A store's API keys: issued, checked on every API request, revoked.

The full key is ``rp_<prefix>_<secret>``: the prefix (8 characters, public) finds the row,
the secret (``secrets.token_urlsafe(32)``, 256 random bits) proves the holder. Only the
SHA-256 of the secret is stored: with that much entropy a fast hash is enough (a slow
password hash protects guessable secrets, and would cost every request its time).
"""
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from returns_portal.errors import DomainError, ErrorCode

from .models import NAME_MAX_LENGTH, ApiKey

PREFIX_LENGTH = 8
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
SECRET_BYTES = 32
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet. ASCII only: no Unicode
# digit or letter slips through, and a NUL never reaches the database (PostgreSQL refuses it).
KEY_FORMAT = re.compile(rf"rp_([a-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{43}})", re.ASCII)
KEY_MAX_LENGTH = 3 + PREFIX_LENGTH + 1 + 43
# The time of last use is for people ("used 5 minutes ago"): once a minute is precise enough,
# and saves a write on nearly every request.
LAST_USED_PRECISION = timedelta(minutes=1)


API_ACCOUNT_USERNAME = "api#{store}"  # "#" is no part of a name anyone can sign up with


def store_api_account(store):
    """The account ``store``'s keys act as: a member of the store that nobody signs in with
    (no usable password) and that is never notified (``is_api_account``). Made the first time
    the store has a key; the timeline reads its acts as the store's ("by <store>, the seller")."""
    from accounts.models import User  # noqa: PLC0415 (accounts imports nothing of ours)

    try:
        account, _created = User.objects.get_or_create(
            username=API_ACCOUNT_USERNAME.format(store=store.pk),
            defaults={"store": store, "is_api_account": True, "password": make_password(None)},
        )
    except IntegrityError:  # made by a concurrent request, which committed first
        account = User.objects.get(username=API_ACCOUNT_USERNAME.format(store=store.pk))
    return account


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _owned_by(store, user) -> dict:
    """A store's keys, or (no store) the staff token's owner's."""
    return {"store": store} if store is not None else {"store__isnull": True, "acts_as": user}


def name_taken(store, name: str, user=None) -> bool:
    return ApiKey.objects.filter(**_owned_by(store, user), name=name, revoked_at__isnull=True).exists()


def name_taken_message(name: str) -> str:
    return _("You already have an active API key named “%(name)s”.") % {"name": name}


@sensitive_variables("secret", "plaintext")
def issue_key(*, store, user, name: str) -> tuple[ApiKey, str]:
    """A new key for ``store``, named ``name`` by ``user``; returns it with the full key,
    which nobody can see again. With ``store`` None, a staff token: ``user`` (marketplace
    staff) makes it for themselves and it acts with their permissions.

    Refused (``DomainError``): an empty name or one longer than 100 characters; a name one
    of the store's active keys already has (a revoked key's name is free again).
    """
    name = (name or "").strip()
    if not name:
        raise DomainError(ErrorCode.INVALID_NAME, _("Give the key a name."))
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(ErrorCode.INVALID_NAME,
                          _("A key's name has at most %(count)d characters.") % {"count": NAME_MAX_LENGTH})
    if store is None and not user.is_staff:
        raise DomainError(ErrorCode.NOT_ALLOWED, _("Only marketplace staff have staff tokens."))
    if name_taken(store, name, user):
        raise DomainError(ErrorCode.NAME_TAKEN, name_taken_message(name))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    account = store_api_account(store) if store is not None else user
    for attempt in range(5):
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(store=store, acts_as=account, name=name, prefix=prefix,
                                            hashed=_hash(secret), created_by=user)
            break
        except IntegrityError:
            # The name was taken by a request that committed after the check, or (one chance in
            # 36^8 per key) the prefix is in use: try another prefix, then tell which.
            if name_taken(store, name, user):
                raise DomainError(ErrorCode.NAME_TAKEN, name_taken_message(name)) from None
            if attempt == 4:
                raise
    plaintext = f"rp_{prefix}_{secret}"
    return key, plaintext


def revoke_key(*, key: ApiKey, user) -> bool:
    """Revoke ``key`` for good; True if this call revoked it. Revoking a revoked key changes
    nothing (not who revoked it, nor when): ``key`` is refreshed with what is stored."""
    revoked = bool(ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=user))
    key.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return revoked


def mark_used(key: ApiKey) -> bool:
    """Record that ``key`` was just used, unless that was recorded less than a minute ago.

    A conditional UPDATE: of two requests that both read an old time, only the first writes
    (the second's WHERE no longer matches), and no row lock is held past the statement."""
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
    if not ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now):
        return False
    key.last_used_at = now
    return True


@sensitive_variables("raw", "secret")
def authenticate_key(raw) -> ApiKey | None:
    """The active key ``raw`` is (with its store and the account it acts as loaded), or None:
    not a string, not shaped like a key, unknown prefix, wrong secret, revoked, its store or
    account is inactive, or a staff token's owner is no longer staff. Never raises
    on what a client sent; reads one row, and writes only when the last use is a minute old."""
    if not isinstance(raw, str) or len(raw) > KEY_MAX_LENGTH:
        return None
    match = KEY_FORMAT.fullmatch(raw)
    if match is None:
        return None
    prefix, secret = match.groups()
    key = ApiKey.objects.select_related("store", "acts_as").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.hashed, _hash(secret)):
        return None
    if key.revoked_at is not None or not key.acts_as.is_active:
        return None
    if key.store_id is not None and (not key.store.is_active or key.acts_as.store_id != key.store_id):
        return None
    if key.store_id is None and not key.acts_as.is_staff:  # a staff token of someone no longer staff
        return None
    if key.last_used_at is None or key.last_used_at <= timezone.now() - LAST_USED_PRECISION:
        mark_used(key)
    return key
