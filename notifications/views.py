from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import selectors, services
from .emails import profile_path
from .kinds import Kind
from .unsubscribe import unsubscribe_read

PAGE_SIZE = 30
_MAX_ID = 2**63 - 1  # BigAutoField; larger numbers cannot be anyone's notification


@require_safe
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = selectors.notifications_for(request.user)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@require_POST
@login_required
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark all of the user's notifications read, or only those named by ``id`` fields.

    Ids that are not numbers, or not the user's, are ignored: only ever the user's own change.
    """
    notification_ids = None
    if "id" in request.POST:
        notification_ids = [_id for raw in request.POST.getlist("id") if (_id := _parse_id(raw)) is not None]
    services.notifications_mark_read(user=request.user, notification_ids=notification_ids)
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect(reverse("notifications:list"))


def _parse_id(raw: str) -> int | None:
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 0 < value <= _MAX_ID else None


@csrf_exempt  # RFC 8058: mail programs POST "List-Unsubscribe=One-Click" with no session or token of ours
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One-click unsubscribe: the signed token, not the session, says whose e-mails of which kind.

    GET asks (a link scanner's visit changes nothing); POST turns that kind off and says so. A
    forged, altered or expired token, or one naming nobody: 400 and nothing changed.
    """
    found = unsubscribe_read(token)
    context = {"profile_url": profile_path()}
    if found is None:
        return render(request, "notifications/unsubscribe.html", {**context, "state": "invalid"}, status=400)
    context["kind_label"] = Kind(found.kind).label
    if request.method == "POST":
        if not services.email_kind_turn_off(user_id=found.user_id, kind=found.kind):
            return render(request, "notifications/unsubscribe.html", {**context, "state": "invalid"}, status=400)
        return render(request, "notifications/unsubscribe.html", {**context, "state": "done"})
    return render(request, "notifications/unsubscribe.html", {**context, "state": "ask"})
