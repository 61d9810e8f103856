"""The store's webhook endpoints, in the seller pages: add one (its signing secret shown on
the page that answers the form, and again only when rotated), disable, enable, delete, read
each endpoint's delivery log and send one delivery again. Another store's endpoint or
delivery is a 404."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import seller_required
from returns_portal.errors import DomainError

from . import selectors, services
from .forms import EndpointForm
from .models import WebhookDelivery, WebhookEndpoint

DELIVERIES_PAGE_SIZE = 50


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    try:
        return selectors.endpoint_for_store(request.user.store_id, pk)
    except WebhookEndpoint.DoesNotExist:
        raise Http404 from None


@never_cache
@seller_required
@sensitive_variables("secret")
def endpoint_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    status, created, secret = 200, None, None
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                created, secret = services.endpoint_create(
                    store=request.user.store, user=request.user, url=form.cleaned_data["url"],
                    description=form.cleaned_data["description"])
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                # Answered here, not redirected: a redirect would have to keep the secret somewhere.
                status, form = 201, EndpointForm()
    return render(request, "webhooks/endpoint_list.html", {
        "form": form, "endpoints": list(selectors.endpoints_for_store(request.user.store_id)),
        "created": created, "secret": secret,
    }, status=status)


def _detail(request: HttpRequest, endpoint: WebhookEndpoint, *, secret: str | None = None) -> HttpResponse:
    page = Paginator(selectors.deliveries_for_endpoint(endpoint), DELIVERIES_PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "webhooks/endpoint_detail.html", {"endpoint": endpoint, "page": page, "secret": secret})


@never_cache
@require_GET
@seller_required
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _endpoint(request, pk))


@never_cache
@require_POST
@seller_required
@sensitive_variables("secret")
def endpoint_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    secret = services.endpoint_rotate_secret(endpoint=endpoint, user=request.user)
    return _detail(request, endpoint, secret=secret)


@require_POST
@seller_required
def endpoint_disable(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    if services.endpoint_disable(endpoint=endpoint, user=request.user):
        messages.success(request, _("Endpoint %(url)s disabled: no events are sent to it until you enable it.")
                         % {"url": endpoint.url})
    else:
        messages.info(request, _("Endpoint %(url)s was already disabled.") % {"url": endpoint.url})
    return redirect("webhooks:endpoint_detail", pk=endpoint.pk)


@require_POST
@seller_required
def endpoint_enable(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    if services.endpoint_enable(endpoint=endpoint, user=request.user):
        messages.success(request, _("Endpoint %(url)s enabled: the events it still owes are sent within minutes.")
                         % {"url": endpoint.url})
    else:
        messages.info(request, _("Endpoint %(url)s was already enabled.") % {"url": endpoint.url})
    return redirect("webhooks:endpoint_detail", pk=endpoint.pk)


@require_POST
@seller_required
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.endpoint_delete(endpoint=endpoint, user=request.user)
    messages.success(request, _("Endpoint %(url)s deleted, with its delivery log.") % {"url": endpoint.url})
    return redirect("webhooks:endpoint_list")


@require_POST
@seller_required
def delivery_redeliver(request: HttpRequest, pk) -> HttpResponse:
    try:
        delivery = selectors.delivery_for_store(request.user.store_id, pk)
    except WebhookDelivery.DoesNotExist:
        raise Http404 from None
    try:
        _again, created = services.delivery_redeliver(delivery=delivery, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if created:
            messages.success(request, _("The event is being sent again; its attempt appears in the log below."))
        else:
            messages.info(request, _("This event is already being sent again; its attempt appears in the log below."))
    return redirect("webhooks:endpoint_detail", pk=delivery.endpoint_id)
