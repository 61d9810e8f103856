"""Writes to accounts."""
from django.conf import settings
from django.utils.translation import gettext as _

from returns_portal.errors import DomainError, ErrorCode

from .models import User


def user_email_mark_verified(*, user: User) -> None:
    """Record ``user``'s e-mail address as their verified, primary one, for accounts the portal
    itself vouches for: the demo's, those staff create in the admin, an accepted store
    invitation (the link reached that address). Self-registered buyers verify by the link
    allauth sends. Nothing happens for an account without an address, nor when another account
    already holds the address (an address belongs to one account)."""
    from allauth.account.models import EmailAddress

    if not user.email or EmailAddress.objects.filter(email__iexact=user.email).exclude(user=user).exists():
        return
    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    address, created = EmailAddress.objects.get_or_create(
        user=user, email__iexact=user.email, defaults={"email": user.email, "verified": True, "primary": True})
    if not created and not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])


def user_emails_mark_verified_new(*, users) -> None:
    """Record the addresses of ``users``, accounts just created in bulk (the benchmarks' seeds),
    as their verified, primary ones, in one batched insert: they log in through the form as the
    demo's do. For accounts that may already have address rows, use ``user_email_mark_verified``."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.bulk_create(
        (EmailAddress(user_id=user.pk, email=user.email, verified=True, primary=True) for user in users if user.email),
        batch_size=2000)


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language ``user`` reads pages, notifications and e-mails in. Refused
    (``INVALID_CHOICE``) for a language the portal does not speak."""
    if language not in dict(settings.LANGUAGES):
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Please choose a language from the list."))
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
