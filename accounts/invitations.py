"""Store invitations: the only way into a store. A member invites an e-mail address; the
e-mail's link (``/accounts/invitation/<token>/``) lets whoever reads it create their account,
a member of that store, once, before it expires.

The token is ``secrets.token_urlsafe(32)`` (256 random bits); only its SHA-256 is stored, so
neither the database nor the pages can give the link again: a lost e-mail means revoking and
inviting anew. An address that already belongs to an account is refused (one address, one
account): moving an existing account into a store is support's work, not a link's.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from returns_portal.errors import DomainError, ErrorCode
from returns_portal.formatting import local_datetime
from returns_portal.mail import send_email, site_link

from .models import StoreInvitation, User
from .selectors import address_taken
from .services import clean_display_name, user_email_mark_verified

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)  # token_urlsafe(32): 43 URL-safe characters
EMAIL_MAX_LENGTH = StoreInvitation._meta.get_field("email").max_length
USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length
# Why an invitation can no longer be accepted, besides its own state: its address has meanwhile
# become an account's (another store's invitation to it was accepted, or its owner signed up).
ADDRESS_TAKEN = "address_taken"


class InvitationClosed(DomainError):
    """The invitation cannot be accepted: ``reason`` is its state (accepted, revoked, expired)
    or ``ADDRESS_TAKEN``."""

    def __init__(self, reason: str) -> None:
        super().__init__(ErrorCode.INVITATION_CLOSED, closed_message(reason))
        self.reason = reason


def closed_message(reason: str) -> str:
    return {
        StoreInvitation.State.ACCEPTED: _("This invitation has already been used to create an account. "
                                          "If it was yours, log in with it."),
        StoreInvitation.State.REVOKED: _("The store has withdrawn this invitation. Ask the store for a new "
                                         "one if you should be a member."),
        StoreInvitation.State.EXPIRED: _("This invitation has expired. Ask the store to invite you again."),
        ADDRESS_TAKEN: _("The address this invitation was sent to now belongs to an account. Log in with it, "
                         "or ask the marketplace's support to add that account to the store."),
    }[reason]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_by_token(token: str) -> StoreInvitation | None:
    """The invitation a link's token opens, whatever its state; None for an unknown token."""
    if not TOKEN_FORMAT.fullmatch(token or ""):
        return None
    return StoreInvitation.objects.select_related("store", "invited_by").filter(token_hash=token_hash(token)).first()


def invitation_closed_reason(invitation: StoreInvitation, now=None) -> str | None:
    """Why ``invitation`` cannot be accepted now, or None when it can."""
    state = invitation.state_at(now or timezone.now())
    if state != StoreInvitation.State.PENDING:
        return state
    if address_taken(invitation.email):
        return ADDRESS_TAKEN
    return None


def _clean_email(email: str) -> str:
    # Lower case as a whole, as allauth keeps every address: it finds them by the lower-cased text.
    email = (email or "").strip().lower()
    try:
        if len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise DomainError(ErrorCode.INVALID_EMAIL, _("Enter a valid e-mail address.")) from None
    return email


@sensitive_variables("token")
def store_invitation_create(*, invited_by: User, email: str, language: str | None = None) -> StoreInvitation:
    """``invited_by`` (a member of a store) invites ``email`` to their store. The e-mail with
    the link goes out once the invitation is committed, in ``language`` (default: the one
    active, the inviter's), valid for ``STORE_INVITATION_DAYS``.

    Refused, with nothing written and nothing sent: someone outside a store, or a store's API
    account (``NOT_ALLOWED``); an address that is not one (``INVALID_EMAIL``); an address of
    one of the store's members (``ALREADY_MEMBER``); of any other account (``ADDRESS_TAKEN``);
    one the store's pending invitation already went to (``ALREADY_INVITED``).
    """
    from catalog.models import Store

    if not invited_by.store_id or invited_by.is_api_account or not invited_by.is_active:
        raise DomainError(ErrorCode.NOT_ALLOWED, _("Only a store's members invite people to it."))
    email = _clean_email(email)
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    with transaction.atomic():
        # One store's invitations one at a time: two members inviting the same address at
        # once make one invitation, not two.
        store = Store.objects.select_for_update().get(pk=invited_by.store_id)
        if User.objects.filter(store=store, email__iexact=email).exists():
            raise DomainError(ErrorCode.ALREADY_MEMBER,
                              _("%(email)s is already a member of your store.") % {"email": email})
        if address_taken(email):
            raise DomainError(ErrorCode.ADDRESS_TAKEN, _(
                "%(email)s already belongs to an account on the portal, and an address belongs to one account. "
                "To have that account join your store, ask the marketplace's support.") % {"email": email})
        now = timezone.now()
        pending = StoreInvitation.objects.filter(store=store, email__iexact=email, accepted_at=None, revoked_at=None,
                                                 expires_at__gt=now).first()
        if pending is not None:
            raise DomainError(ErrorCode.ALREADY_INVITED, _(
                "%(email)s has already been invited, until %(until)s. Revoke that invitation first to send a "
                "new one.") % {"email": email, "until": local_datetime(pending.expires_at)})
        token = secrets.token_urlsafe(TOKEN_BYTES)
        invitation = StoreInvitation.objects.create(
            store=store, email=email, invited_by=invited_by, token_hash=token_hash(token), created_at=now,
            expires_at=now + timedelta(days=settings.STORE_INVITATION_DAYS))
        # Sent from this process, not a queued task: the link's secret is in no broker, cache or
        # table. A failure to send is logged; the page lists the invitation, which the store may
        # revoke and send again.
        transaction.on_commit(partial(_send_invitation_email, invitation, token, language), robust=True)
    return invitation


@sensitive_variables("token")
def invitation_email_context(invitation: StoreInvitation, token: str) -> dict:
    inviter = invitation.invited_by
    return {
        "store_name": invitation.store.name,
        "inviter_name": (inviter.get_full_name() or inviter.username) if inviter else invitation.store.name,
        "email": invitation.email,
        "expires_at": local_datetime(invitation.expires_at),
        "button_url": site_link(reverse("accounts:invitation_accept", args=[token])),
        "button_label": _("Accept the invitation"),
    }


@sensitive_variables("token")
def _send_invitation_email(invitation: StoreInvitation, token: str, language: str) -> None:
    with translation.override(language):
        context = invitation_email_context(invitation, token)
        subject = _("%(inviter)s invites you to join %(store)s on the returns portal") % {
            "inviter": context["inviter_name"], "store": context["store_name"]}
        send_email(to=[invitation.email], subject=subject, template="accounts/email/store_invitation",
                   context=context, language=language)


def store_invitation_revoke(*, invitation: StoreInvitation, revoked_by: User) -> bool:
    """Withdraw ``invitation`` (its link stops working); True if this call revoked it, False if
    it already was. Refused (``INVITATION_CLOSED``) once accepted: the account exists."""
    with transaction.atomic():
        locked = StoreInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise DomainError(ErrorCode.INVITATION_CLOSED, _(
                "The invitation to %(email)s has already been accepted.") % {"email": locked.email})
        if locked.revoked_at is not None:
            return False
        locked.revoked_at, locked.revoked_by = timezone.now(), revoked_by
        locked.save(update_fields=["revoked_at", "revoked_by"])
    invitation.revoked_at, invitation.revoked_by = locked.revoked_at, revoked_by
    return True


@sensitive_variables("token", "password")
def store_invitation_accept(*, token: str, username: str, display_name: str, password: str,
                            language: str = "") -> User:
    """Create the account the invitation behind ``token`` offers: a member of its store, with
    the invitation's address recorded verified (the link reached it), and mark the invitation
    accepted. The invitation's row is locked and its state checked again under the lock, so two
    acceptances at once make one account.

    Refused, with nothing written: an unknown token (``INVITATION_CLOSED``; the page answers
    404 before asking); an invitation accepted, revoked or expired, or
    whose address now belongs to an account (``InvitationClosed``); a username taken
    (``NAME_TAKEN``) or not a username (``INVALID_NAME``); a password Django's validators
    refuse (``INVALID_PASSWORD``).
    """
    from allauth.account.adapter import get_adapter

    display_name = clean_display_name(display_name)
    username = (username or "").strip().lower()  # as allauth keeps them (ACCOUNT_PRESERVE_USERNAME_CASING)
    if not username or len(username) > USERNAME_MAX_LENGTH:
        raise DomainError(ErrorCode.INVALID_NAME, _("Choose a username of at most %(count)d characters.")
                          % {"count": USERNAME_MAX_LENGTH})
    try:
        username = get_adapter().clean_username(username)
    except ValidationError as error:
        code = ErrorCode.NAME_TAKEN if User.objects.filter(username__iexact=username).exists() else \
            ErrorCode.INVALID_NAME
        raise DomainError(code, " ".join(error.messages)) from None
    with transaction.atomic():
        found = (StoreInvitation.objects.filter(token_hash=token_hash(token)).values_list("pk", "email").first()
                 if TOKEN_FORMAT.fullmatch(token or "") else None)
        if found is None:
            raise DomainError(ErrorCode.INVITATION_CLOSED, _("This invitation link is not valid."))
        # Every invitation to this address is locked, in one order: two stores' invitations to one
        # address accepted at once make one account, the other finds the address taken.
        locked = {row.pk: row for row in StoreInvitation.objects.select_for_update()
                  .filter(email=found[1]).order_by("pk")}
        invitation = locked[found[0]]
        now = timezone.now()
        reason = invitation_closed_reason(invitation, now)
        if reason is not None:
            raise InvitationClosed(reason)
        user = User(username=username, email=invitation.email, display_name=display_name,
                    store_id=invitation.store_id, country="",
                    language=language if language in dict(settings.LANGUAGES) else "")
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise DomainError(ErrorCode.INVALID_PASSWORD, " ".join(error.messages)) from None
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # the name was taken by a sign-up that committed meanwhile
            raise DomainError(ErrorCode.NAME_TAKEN, _("A user with that username already exists.")) from None
        try:
            with transaction.atomic():
                user_email_mark_verified(user=user)
        except IntegrityError:  # a sign-up confirmed this address meanwhile
            raise InvitationClosed(ADDRESS_TAKEN) from None
        invitation.accepted_at, invitation.accepted_by = now, user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user
