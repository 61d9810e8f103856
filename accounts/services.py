"""Writes to accounts."""
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from returns_portal.countries import Country
from returns_portal.errors import DomainError, ErrorCode

from .models import User

DISPLAY_NAME_MAX_LENGTH = User._meta.get_field("display_name").max_length


def user_email_mark_verified(*, user: User) -> None:
    """Record ``user``'s e-mail address as their verified, primary one, for accounts the portal
    itself vouches for: the demo's, those staff create in the admin, an accepted store
    invitation (the link reached that address). Self-registered buyers verify by the link
    allauth sends. Nothing happens for an account without an address, nor when another account
    already holds the address (an address belongs to one account)."""
    from allauth.account.models import EmailAddress

    email = user.email.strip().lower()  # as allauth keeps addresses: it looks them up lower-cased
    if not email or EmailAddress.objects.filter(email=email, verified=True).exclude(user=user).exists():
        return
    if user.email != email:
        User.objects.filter(pk=user.pk).update(email=email)
        user.email = email
    # Another account's unconfirmed request for this address gives way to the account it belongs to.
    EmailAddress.objects.filter(email=email, verified=False).exclude(user=user).delete()
    EmailAddress.objects.filter(user=user).exclude(email=email).update(primary=False)
    address, created = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True})
    if not created and not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])


def user_email_set_by_staff(*, user: User) -> None:
    """Staff set ``user``'s address in the admin (a new account, or a move to another address):
    it is their only address from now on, verified; the addresses they had before are no longer
    theirs, so no password reset or log-in goes to them."""
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        EmailAddress.objects.filter(user=user).exclude(email=user.email.strip().lower()).delete()
        user_email_mark_verified(user=user)


def user_emails_mark_verified_new(*, users) -> None:
    """Record the addresses of ``users``, accounts just created in bulk (the benchmarks' seeds),
    as their verified, primary ones, in one batched insert: they log in through the form as the
    demo's do. For accounts that may already have address rows, use ``user_email_mark_verified``."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.bulk_create(
        (EmailAddress(user_id=user.pk, email=user.email.lower(), verified=True, primary=True)
         for user in users if user.email),
        batch_size=2000)


def clean_display_name(display_name: str) -> str:
    """A display name as kept: its words with single spaces. Refused (``INVALID_NAME``) over
    ``DISPLAY_NAME_MAX_LENGTH`` characters."""
    display_name = " ".join((display_name or "").split())
    if len(display_name) > DISPLAY_NAME_MAX_LENGTH:
        raise DomainError(ErrorCode.INVALID_NAME, _("A display name has at most %(count)d characters.")
                          % {"count": DISPLAY_NAME_MAX_LENGTH})
    return display_name


def _check_language(language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Please choose a language from the list."))


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language ``user`` reads pages, notifications and e-mails in (the header's
    switch). Refused (``INVALID_CHOICE``) for a language the portal does not speak."""
    _check_language(language)
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


def user_profile_update(*, user: User, display_name: str, country: str, language: str, email_reminders: bool,
                        email_messages: bool, email_outcomes: bool, email_digest: bool | None = None) -> list[str]:
    """Save what ``user`` chose on their profile; returns the names of the fields that changed.

    ``country`` is where they shop from (the catalog's local-return marks, a new order's
    delivery country); a dispute keeps following its order's delivery country. ``language``
    is the pages', notifications' and e-mails' (as the header's switch). The e-mail choices
    are per kind; e-mails that move money are sent whatever they say. ``email_digest`` (the
    weekly digest) is a store member's choice only; None leaves it as it is.

    Refused, with nothing saved: a display name longer than 150 characters
    (``INVALID_NAME``); a country or language not on the lists, or no country for a buyer
    (``INVALID_CHOICE``); a digest choice from someone outside a store (``NOT_ALLOWED``).
    """
    display_name = clean_display_name(display_name)
    if country not in Country.values and not (country == "" and not user.is_buyer):
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Please choose a country from the list."))
    _check_language(language)
    values = {"display_name": display_name, "country": country, "language": language,
              "email_reminders": bool(email_reminders), "email_messages": bool(email_messages),
              "email_outcomes": bool(email_outcomes)}
    if email_digest is not None:
        if not user.is_seller:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("The weekly digest is for members of a store."))
        values["email_digest"] = bool(email_digest)
    changed = [name for name, value in values.items() if getattr(user, name) != value]
    if changed:
        User.objects.filter(pk=user.pk).update(**{name: values[name] for name in changed})
        for name in changed:
            setattr(user, name, values[name])
    return changed
