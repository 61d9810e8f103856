from django.db.models import QuerySet

from accounts.models import User

from .models import Notification


def notifications_for(user: User) -> QuerySet[Notification]:
    """``user``'s own notifications, newest first (nobody else's, ever)."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    """How many of ``user``'s notifications are unread; 0 without a query for anonymous visitors."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
