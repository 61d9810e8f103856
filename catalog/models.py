from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from returns_portal.countries import Country, country_name


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


class Store(models.Model):
    """A seller: one store, one or more user accounts (``User.store``)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    country = models.CharField(_("ships from"), max_length=2, choices=Country.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A node of the category tree, carrying the return policy of its goods."""

    class Kind(models.TextChoices):
        APPAREL = "apparel", _("Apparel and textiles")
        JEWELRY = "jewelry", _("Jewelry, watches, accessories and eyewear")
        COSMETICS = "cosmetics", _("Cosmetics and hygiene")
        ELECTRONICS = "electronics", _("Electronics")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    not_returnable_once_opened = models.BooleanField(
        _("not returnable once the brand packaging is opened"),
        default=False,
        help_text=_("Hygiene goods, cosmetics, underwear and the like."),
    )
    local_return_allowed = models.BooleanField(_("local return allowed"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(models.QuerySet):
    def active(self) -> "ProductQuerySet":
        return self.filter(is_active=True, store__is_active=True)

    def with_local_return_in(self, country: str) -> "ProductQuerySet":
        """Annotate ``local_return_available``: local return of the product is available to a
        buyer in ``country`` -- its seller opts in, its category allows it, and an active
        warehouse there takes returns of its store's goods (the store's own or the
        marketplace's). The one definition behind the catalog's filter and badge; the rule
        chain (``disputes.rules.local_return``) says the same from facts, and a test keeps
        the two in agreement."""
        takes_returns_here = Warehouse.objects.accepting_returns().filter(country=country)
        # ``serves_store`` as two EXISTS, not one with "store IS NULL OR store = outer": PostgreSQL
        # then checks the marketplace's once (an InitPlan) and hashes the stores' (a hashed
        # SubPlan) instead of scanning the warehouses again for every product.
        return_point = models.Exists(takes_returns_here.filter(store__isnull=True)) | models.Exists(
            takes_returns_here.filter(store=models.OuterRef("store_id"))
        )
        return self.annotate(
            local_return_available=models.ExpressionWrapper(
                Q(local_return=True, category__local_return_allowed=True) & return_point,
                output_field=models.BooleanField(),
            )
        )

    def stocked_in(self, country: str) -> "ProductQuerySet":
        """Goods held in stock in an active warehouse of ``country`` (the MALL)."""
        stocked = Stock.objects.filter(
            product=models.OuterRef("pk"),
            quantity__gt=0,
            warehouse__country=country,
            warehouse__stocks_goods=True,
            warehouse__is_active=True,
        )
        return self.filter(models.Exists(stocked))


class Product(models.Model):
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    image = models.ImageField(_("image"), upload_to="products/", blank=True)
    local_return = models.BooleanField(
        _("seller offers local return"),
        default=False,
        help_text=_("The seller accepts returns of this product at a return warehouse in the buyer's country."),
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=["local_return", "is_active"]),
            # The catalog's order, over the goods on sale: its first page, and the capped count,
            # read the newest rows from here instead of sorting the whole table.
            models.Index(fields=["-created_at", "-id"], condition=Q(is_active=True), name="product_catalog_order"),
        ]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", args=[self.pk])


def serves_store(store) -> Q:
    """A warehouse takes returns of ``store``'s goods (a store or its id) when the store or the
    marketplace runs it."""
    return Q(store__isnull=True) | Q(store=store)


class ReturnCoverage(NamedTuple):
    for_store: bool  # a return point of the store's goods: its own warehouse or the marketplace's
    anybody: bool  # any return warehouse at all, of the marketplace or of any store


class WarehouseQuerySet(models.QuerySet):
    def accepting_returns(self) -> "WarehouseQuerySet":
        return self.filter(is_active=True, accepts_returns=True)

    def return_points_for(self, store: Store) -> "WarehouseQuerySet":
        """Warehouses that take returns of ``store``'s goods: the store's own first, then the
        platform's (NULLs ordered explicitly: SQLite and PostgreSQL disagree by default)."""
        return self._return_points(serves_store(store))

    def _return_points(self, serving: Q) -> "WarehouseQuerySet":
        return self.accepting_returns().filter(serving).order_by(models.F("store").asc(nulls_last=True), "pk")

    def first_return_points(self, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], "Warehouse"]:
        """For each (store id, country): where a local return of that store's goods in that
        country goes — the first of ``return_points_for(store)`` there. One query for all."""
        stores = {store_id for store_id, _country in pairs}
        candidates = self._return_points(Q(store__isnull=True) | Q(store_id__in=stores)).filter(
            country__in={country for _store, country in pairs})
        chosen: dict[tuple[int, str], Warehouse] = {}
        for warehouse in candidates:
            serves = [warehouse.store_id] if warehouse.store_id else stores
            for store_id in serves:
                if (store_id, warehouse.country) in pairs:
                    chosen.setdefault((store_id, warehouse.country), warehouse)
        return chosen

    def return_coverage(self, *, store_id: int, country: str) -> ReturnCoverage:
        """Who takes returns in ``country``: a return point of the store's goods (see
        ``return_points_for``), and anybody at all (the marketplace or any store). One query."""
        counts = self.accepting_returns().filter(country=country).aggregate(
            for_store=models.Count("pk", filter=serves_store(store_id)),
            anybody=models.Count("pk"),
        )
        return ReturnCoverage(for_store=counts["for_store"] > 0, anybody=counts["anybody"] > 0)


class Warehouse(models.Model):
    """A warehouse run by the platform (no store) or by a store."""

    name = models.CharField(_("name"), max_length=200)
    store = models.ForeignKey(
        Store,
        verbose_name=_("operated by store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="warehouses",
        help_text=_("Leave empty for a warehouse operated by the marketplace."),
    )
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    city = models.CharField(_("city"), max_length=120)
    address = models.TextField(_("address"))
    accepts_returns = models.BooleanField(_("accepts returns"), default=False)
    stocks_goods = models.BooleanField(_("stocks goods"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = WarehouseQuerySet.as_manager()

    class Meta:
        ordering = ["country", "city", "name"]
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        indexes = [models.Index(fields=["country", "accepts_returns", "is_active"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.city}, {country_name(self.country)})"

    @property
    def operator_name(self) -> str:
        return self.store.name if self.store_id else str(_("Marketplace"))


class Stock(models.Model):
    """How many units of a product a warehouse holds."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="stock")
    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="stock"
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=0)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [models.UniqueConstraint(fields=["product", "warehouse"], name="stock_unique_product_warehouse")]

    def __str__(self) -> str:
        return f"{self.product} @ {self.warehouse}: {self.quantity}"
