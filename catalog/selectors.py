"""Reads of the catalog. The catalog is public; what differs per viewer is their country."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from disputes.rules.base import ChainResult
from disputes.rules.local_return import LocalReturnFacts, check_local_return

from .models import Category, Product, ProductQuerySet, Stock, Warehouse

SESSION_COUNTRY_KEY = "viewer_country"


def viewer_country(request: HttpRequest) -> str:
    """The country the viewer is shopping from: a buyer's country of residence, else
    the country an anonymous visitor picked, else the marketplace's default."""
    user = request.user
    if user.is_authenticated and user.country:
        return user.country
    return request.session.get(SESSION_COUNTRY_KEY) or settings.DEFAULT_COUNTRY


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    depth: int


def category_tree() -> list[CategoryNode]:
    """All categories, depth-first, in one query."""
    categories = list(Category.objects.all())
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    nodes: list[CategoryNode] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            nodes.append(CategoryNode(category, depth))
            walk(category.pk, depth + 1)

    walk(None, 0)
    return nodes


def category_with_descendant_ids(tree: list[CategoryNode], category: Category) -> set[int]:
    ids = {category.pk}
    for node in tree:  # depth-first order puts descendants after their parent
        if node.category.parent_id in ids:
            ids.add(node.category.pk)
    return ids


def products_for_catalog(
    *,
    country: str,
    search: str = "",
    category_ids: set[int] | None = None,
    local_return_only: bool = False,
    stocked_in_country: str | None = None,
) -> ProductQuerySet:
    """Goods on sale for a viewer in ``country``, each annotated ``local_return_available``
    (the badge); ``local_return_only`` keeps just those (the filter)."""
    products = Product.objects.active().select_related("store", "category").with_local_return_in(country)
    if search:
        products = products.filter(Q(title__icontains=search) | Q(description__icontains=search))
    if category_ids is not None:
        products = products.filter(category_id__in=category_ids)
    if local_return_only:
        products = products.filter(local_return_available=True)
    if stocked_in_country:
        products = products.stocked_in(stocked_in_country)
    return products


def product_for_catalog(pk: int) -> Product:
    return Product.objects.active().select_related("store", "category").get(pk=pk)


def local_return_facts(product: Product, country: str) -> LocalReturnFacts:
    """What the local-return rules judge for a buyer in ``country``. One query (the warehouses)."""
    coverage = Warehouse.objects.return_coverage(store_id=product.store_id, country=country)
    return LocalReturnFacts(
        buyer_country=country,
        seller_offers_local_return=product.local_return,
        category_name=product.category.name,
        category_allows_local_return=product.category.local_return_allowed,
        return_point_in_country=coverage.for_store,
        any_return_warehouse_in_country=coverage.anybody,
    )


def local_return_availability(product: Product, country: str) -> ChainResult:
    return check_local_return(local_return_facts(product, country))


def stock_in_country(product: Product, country: str) -> list[Stock]:
    return list(
        Stock.objects.filter(
            product=product,
            quantity__gt=0,
            warehouse__country=country,
            warehouse__stocks_goods=True,
            warehouse__is_active=True,
        ).select_related("warehouse")
    )


# --- a store's warehouses, in the seller pages ----------------------------------------------------


def store_warehouses(store_id: int) -> QuerySet[Warehouse]:
    """The store's own warehouses, active first, each with ``returns_on_their_way``: how many
    returns the buyers were told to send there and that have not arrived. One query."""
    from disputes.selectors import returns_on_their_way

    headed_here = (returns_on_their_way().filter(warehouse=OuterRef("pk")).order_by()
                   .values("warehouse").annotate(count=Count("pk")).values("count"))
    return (Warehouse.objects.filter(store_id=store_id)
            .annotate(returns_on_their_way=Coalesce(Subquery(headed_here), 0))
            .order_by("-is_active", "country", "city", "name", "pk"))


def marketplace_return_points() -> QuerySet[Warehouse]:
    """The marketplace's active warehouses that take returns: they take any store's local
    returns in their country, beside the store's own (``Warehouse.objects.return_points_for``)."""
    return Warehouse.objects.accepting_returns().filter(store__isnull=True).order_by("country", "city", "name", "pk")


def returns_on_their_way_to(warehouse: Warehouse) -> int:
    from disputes.selectors import returns_on_their_way

    return returns_on_their_way().filter(warehouse=warehouse).count()
