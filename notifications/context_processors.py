from .selectors import unread_count


def unread_notifications(request) -> dict[str, int]:
    """The bell's number: one COUNT query for a signed-in user, none for anonymous visitors
    and none on the admin's pages, which have no bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications_count": 0}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.app_name == "admin":
        return {}
    return {"unread_notifications_count": unread_count(user)}
