from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import buyer_required, seller_required
from catalog.models import Product
from returns_portal.errors import DomainError

from . import selectors, services
from .forms import BuyNowForm, ShipOrderForm
from .models import Order
from .presentation import attach_line_rows, line_headings


@buyer_required
def order_list(request: HttpRequest) -> HttpResponse:
    orders = selectors.orders_for_buyer(request.user)
    page = Paginator(orders, settings.ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = attach_line_rows(page.object_list)
    return render(request, "orders/order_list.html", {"page": page, "headings": line_headings()})


@buyer_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(selectors.orders_for_buyer(request.user), pk=pk)
    attach_line_rows([order])
    return render(
        request,
        "orders/order_detail.html",
        {"order": order, "events": order.events.select_related("actor"), "headings": line_headings()},
    )


@require_POST
@buyer_required
def buy_now(request: HttpRequest, product_pk: int) -> HttpResponse:
    product = Product.objects.active().filter(pk=product_pk).first()
    if product is None:
        raise Http404(_("No such product."))
    form = BuyNowForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("quantity", []):
            messages.error(request, error)
        return redirect(product)
    try:
        order = services.order_place(buyer=request.user, product=product, quantity=form.cleaned_data["quantity"])
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(product)
    messages.success(
        request,
        _("Order %(number)s is placed and paid (payment simulated in this demo).") % {"number": order.number},
    )
    return redirect(order)


@require_POST
@buyer_required
def confirm_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(selectors.orders_for_buyer(request.user), pk=pk)
    try:
        services.order_confirm_delivery(order=order, buyer=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(order)
    messages.success(request, _("Thank you: receipt of order %(number)s is confirmed.") % {"number": order.number})
    return redirect(order)


@seller_required
def seller_order_list(request: HttpRequest) -> HttpResponse:
    orders = selectors.orders_for_seller(request.user)
    status = request.GET.get("status", Order.Status.PAID)
    if status in Order.Status.values:
        orders = orders.filter(status=status)
    else:
        status = ""
    page = Paginator(orders, settings.ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/seller_order_list.html",
        {
            "page": page,
            "status": status,
            "statuses": Order.Status.choices,
            "ship_form": ShipOrderForm(),
        },
    )


@require_POST
@seller_required
def seller_order_ship(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(selectors.orders_for_seller(request.user), pk=pk)
    form = ShipOrderForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The tracking number is too long."))
        return redirect("orders:seller_order_list")
    try:
        services.order_mark_shipped(
            order=order, seller=request.user, tracking_number=form.cleaned_data["tracking_number"]
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Order %(number)s is marked as shipped.") % {"number": order.number})
    return redirect("orders:seller_order_list")
