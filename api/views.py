"""The store's API keys, in the seller pages: its members name and create keys, see them
listed and revoke them. The full key is in the answer to the form that created it and
nowhere else: not in a redirect's session or message, not in a cache, not in error reports."""
from django.contrib import messages
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


@never_cache
@seller_required
@sensitive_variables("plaintext")
def seller_api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None, store=request.user.store)
    status, created, plaintext = 200, None, None
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                created, plaintext = issue_key(store=request.user.store, user=request.user,
                                               name=form.cleaned_data["name"])
            except DomainError as error:  # the name was taken by a request that committed meanwhile
                form.add_error("name", error.message)
            else:
                # Answered here, not redirected: a redirect would have to keep the key somewhere.
                status = 201
                form = ApiKeyForm(store=request.user.store)
    page = Paginator(selectors.store_api_keys(request.user.store_id), KEYS_PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "api/seller_api_keys.html", {
        "form": form, "page": page, "created": created, "plaintext": plaintext,
    }, status=status)


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
