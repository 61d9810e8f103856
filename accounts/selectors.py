"""Reads of accounts, scoped to the person asking."""
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import StoreInvitation, User


def address_holders(email: str) -> QuerySet[User]:
    """The accounts that hold ``email``: whose verified address it is, or whose account address it
    is (a sign-up not yet confirmed, an account from before verification). An address someone merely
    asked to change to and never confirmed holds nothing: anyone can type another's address there."""
    from allauth.account.models import EmailAddress

    verified = EmailAddress.objects.filter(email__iexact=email, verified=True).values("user_id")
    return User.objects.filter(Q(pk__in=verified) | Q(email__iexact=email))


def address_taken(email: str) -> bool:
    """Whether an account here holds ``email`` (an address belongs to one account)."""
    return address_holders(email).exists()


def store_members(store_id: int) -> QuerySet[User]:
    """The people of a store who sign in (active, not the account its API keys act as)."""
    return User.objects.filter(store_id=store_id, is_active=True, is_api_account=False).order_by("username")


def store_pending_invitations(store_id: int) -> QuerySet[StoreInvitation]:
    """A store's invitations that may still be accepted, newest first, with who sent them."""
    return (StoreInvitation.objects.filter(store_id=store_id, accepted_at=None, revoked_at=None,
                                           expires_at__gt=timezone.now())
            .select_related("invited_by").order_by("-created_at", "-pk"))
