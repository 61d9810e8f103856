from django.db.models import F, QuerySet

from .models import ApiKey


def store_api_keys(store_id: int) -> QuerySet[ApiKey]:
    """The store's keys for its members' list: active first, newest first."""
    return (ApiKey.objects.filter(store_id=store_id)
            .select_related("created_by", "revoked_by")
            .order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"))
