"""The store's API keys, in the seller pages: its members name and create keys, see them
listed and revoke them. The full key is in the answer to the form that created it and
nowhere else: not in a redirect's session or message, not in a cache, not in error reports."""
from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from accounts.decorators import seller_required
from returns_portal.errors import DomainError

from . import selectors
from .forms import ApiKeyForm
from .keys import issue_key, revoke_key
from .models import ApiKey

KEYS_PAGE_SIZE = 50


@sensitive_variables("plaintext")
def _keys_page(request: HttpRequest, *, store, keys, template: str, context: dict | None = None) -> HttpResponse:
    """A list of keys with the form that makes one (a store's keys, or a member of staff's
    tokens when ``store`` is None)."""
    form = ApiKeyForm(request.POST or None, store=store, user=request.user)
    status, created, plaintext = 200, None, None
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                created, plaintext = issue_key(store=store, user=request.user, name=form.cleaned_data["name"])
            except DomainError as error:  # the name was taken by a request that committed meanwhile
                form.add_error("name", error.message)
            else:
                # Answered here, not redirected: a redirect would have to keep the key somewhere.
                status = 201
                form = ApiKeyForm(store=store, user=request.user)
    page = Paginator(keys, KEYS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, template, {
        "form": form, "page": page, "created": created, "plaintext": plaintext, **(context or {}),
    }, status=status)


@never_cache
@seller_required
def seller_api_keys(request: HttpRequest) -> HttpResponse:
    return _keys_page(request, store=request.user.store, keys=selectors.store_api_keys(request.user.store_id),
                      template="api/seller_api_keys.html")


@permission_required("disputes.view_dispute", raise_exception=True)
def staff_api_tokens(request: HttpRequest) -> HttpResponse:
    """A member of staff's own tokens: the API as them, with their permissions (read every
    dispute; decide escalations if they may). In the admin's look; the admin's own wrapper
    (``admin_view``, in the URLs) lets only active staff in."""
    return _keys_page(request, store=None, keys=selectors.staff_tokens(request.user),
                      template="admin/api_tokens.html",
                      context={"title": _("My API tokens"), **admin.site.each_context(request)})


@require_POST
def staff_api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, store__isnull=True, acts_as=request.user)
    if revoke_key(key=key, user=request.user):
        messages.success(request, _("API token “%(name)s” revoked.") % {"name": key.name})
    return redirect("staff_api_tokens")


@require_POST
@seller_required
def seller_api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, store_id=request.user.store_id)
    if revoke_key(key=key, user=request.user):
        messages.success(request, _("API key “%(name)s” revoked: requests made with it are refused from now on.")
                         % {"name": key.name})
    else:
        messages.info(request, _("API key “%(name)s” was already revoked.") % {"name": key.name})
    return redirect("api:seller_api_keys")
