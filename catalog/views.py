from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders.forms import BuyNowForm
from returns_portal.countries import country_name

from . import selectors
from .forms import CatalogFilterForm, CountryForm
from .models import Product


def product_list(request: HttpRequest) -> HttpResponse:
    form = CatalogFilterForm(request.GET)
    form.is_valid()
    # An invalid field drops only itself: a ticked "Local return" or MALL must still hold.
    filters = form.cleaned_data
    if "category" in form.errors:  # not even a slug, so no such category
        raise Http404(_("No such category."))
    country = selectors.viewer_country(request)
    tree = selectors.category_tree()

    current_category = None
    category_ids = None
    if filters.get("category"):
        current_category = next((n.category for n in tree if n.category.slug == filters["category"]), None)
        if current_category is None:
            raise Http404(_("No such category."))
        category_ids = selectors.category_with_descendant_ids(tree, current_category)

    products = selectors.products_for_catalog(
        country=country,
        search=filters.get("q", ""),
        category_ids=category_ids,
        local_return_only=filters.get("local_return", False),
        stocked_in_country=country if filters.get("mall") else None,
    )
    page = Paginator(products, settings.CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/product_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "tree": tree,
            "current_category": current_category,
            "mall": bool(filters.get("mall")),
        },
    )


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        product = selectors.product_for_catalog(pk)
    except Product.DoesNotExist:
        raise Http404(_("No such product."))
    country = selectors.viewer_country(request)
    availability = selectors.local_return_availability(product, country)
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "availability": availability,
            "local_stock": selectors.stock_in_country(product, country),
            "buy_form": BuyNowForm(),
            "country_name": country_name(country),
        },
    )


@require_POST
def country_set(request: HttpRequest) -> HttpResponse:
    form = CountryForm(request.POST)
    if form.is_valid():
        request.session[selectors.SESSION_COUNTRY_KEY] = form.cleaned_data["country"]
    else:
        messages.error(request, _("Please choose a country from the list."))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "catalog:product_list"
    return redirect(next_url)
