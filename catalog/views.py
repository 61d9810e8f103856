from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.decorators import seller_required
from orders.forms import BuyNowForm
from returns_portal.bulk_urls import url_by_pk
from returns_portal.countries import country_name

from . import selectors
from .forms import CatalogFilterForm, CountryForm, WarehouseForm
from .models import Product, Warehouse
from .pagination import CappedPaginator


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
    paginator = CappedPaginator(products, settings.CATALOG_PAGE_SIZE, max_pages=settings.CATALOG_MAX_PAGES)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    product_url = url_by_pk("catalog:product_detail")
    for product in page.object_list:
        product.url = product_url(product.pk)
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
            # What a category link keeps of the filters, worked out once rather than per link.
            "kept_filters": ("&local_return=on" if filters.get("local_return") else "")
            + ("&mall=on" if filters.get("mall") else ""),
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


# --- the store's warehouses, in the seller pages ------------------------------------------------
# A store keeps its own warehouses: adds, edits, deactivates and reactivates them, never deletes
# them (issued return instructions point at them). Another store's warehouse, or the
# marketplace's, is a 404 here; the marketplace's return points are only listed.


ADDRESS_FIELDS = {"name", "address", "city", "country"}  # what issued instructions keep (``warehouse_params``)


def _own_warehouse(request: HttpRequest, pk: int) -> Warehouse:
    return get_object_or_404(Warehouse, pk=pk, store_id=request.user.store_id)


@seller_required
def seller_warehouses(request: HttpRequest) -> HttpResponse:
    form = WarehouseForm(request.POST or None, store_id=request.user.store_id)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            warehouse = form.save()
            messages.success(request, _("Warehouse “%(name)s” added.") % {"name": warehouse.name})
            return redirect("catalog:seller_warehouses")
        status = 422
    return render(request, "catalog/seller_warehouses.html", {
        "form": form,
        "warehouses": selectors.store_warehouses(request.user.store_id),
        "marketplace_points": selectors.marketplace_return_points(),
    }, status=status)


@seller_required
def seller_warehouse_edit(request: HttpRequest, pk: int) -> HttpResponse:
    warehouse = _own_warehouse(request, pk)
    stored_name = warehouse.name  # for the heading: a refused form has written what was typed onto the instance
    form = WarehouseForm(request.POST or None, instance=warehouse, store_id=request.user.store_id)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            form.save()
            if ADDRESS_FIELDS.intersection(form.changed_data):
                messages.success(request, _("Warehouse “%(name)s” saved. Return instructions already sent keep the "
                                            "address the buyer was given.") % {"name": warehouse.name})
            else:
                messages.success(request, _("Warehouse “%(name)s” saved.") % {"name": warehouse.name})
            return redirect("catalog:seller_warehouses")
        status = 422
    return render(request, "catalog/seller_warehouse_edit.html",
                  {"form": form, "warehouse": warehouse, "stored_name": stored_name}, status=status)


@require_POST
@seller_required
def seller_warehouse_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    warehouse = _own_warehouse(request, pk)
    Warehouse.objects.filter(pk=warehouse.pk).update(is_active=False)
    expected = selectors.returns_on_their_way_to(warehouse)
    if expected:
        messages.success(request, ngettext(
            "Warehouse “%(name)s” deactivated: it is no longer offered for new returns. %(count)d return already "
            "on its way there keeps this address: receive it there.",
            "Warehouse “%(name)s” deactivated: it is no longer offered for new returns. %(count)d returns already "
            "on their way there keep this address: receive them there.", expected)
            % {"name": warehouse.name, "count": expected})
    else:
        messages.success(request, _("Warehouse “%(name)s” deactivated: it is no longer offered for new returns.")
                         % {"name": warehouse.name})
    return redirect("catalog:seller_warehouses")


@require_POST
@seller_required
def seller_warehouse_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    warehouse = _own_warehouse(request, pk)
    Warehouse.objects.filter(pk=warehouse.pk).update(is_active=True)
    messages.success(request, _("Warehouse “%(name)s” is active again.") % {"name": warehouse.name})
    return redirect("catalog:seller_warehouses")
