"""Reads of accounts, scoped to the person asking."""
from django.db.models import QuerySet
from django.utils import timezone

from .models import StoreInvitation, User


def store_members(store_id: int) -> QuerySet[User]:
    """The people of a store who sign in (active, not the account its API keys act as)."""
    return User.objects.filter(store_id=store_id, is_active=True, is_api_account=False).order_by("username")


def store_pending_invitations(store_id: int) -> QuerySet[StoreInvitation]:
    """A store's invitations that may still be accepted, newest first, with who sent them."""
    return (StoreInvitation.objects.filter(store_id=store_id, accepted_at=None, revoked_at=None,
                                           expires_at__gt=timezone.now())
            .select_related("invited_by").order_by("-created_at", "-pk"))
