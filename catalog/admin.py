from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Category, Product, Stock, Store, Warehouse


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "is_active", "created_at")
    list_filter = ("country", "is_active")
    search_fields = ("name",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "kind", "not_returnable_once_opened", "local_return_allowed")
    list_filter = ("kind", "not_returnable_once_opened", "local_return_allowed")
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)


class StockInline(admin.TabularInline):
    model = Stock
    extra = 0
    autocomplete_fields = ("warehouse",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("title", "store", "category", "price", "currency", "local_return", "is_active")
    list_filter = ("local_return", "is_active", "category__kind", "category", "store")
    list_select_related = ("store", "category")
    search_fields = ("title", "description", "store__name")
    autocomplete_fields = ("store", "category")
    inlines = [StockInline]


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "city", "operator", "accepts_returns", "stocks_goods", "is_active")
    list_filter = ("country", "accepts_returns", "stocks_goods", "is_active")
    list_select_related = ("store",)  # the operator column reads the store: one query for the page
    search_fields = ("name", "city", "address", "store__name")
    autocomplete_fields = ("store",)

    @admin.display(description=_("operated by"), ordering="store__name")
    def operator(self, warehouse: Warehouse) -> str:
        return warehouse.operator_name  # the store's name, or "Marketplace"


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ("product", "warehouse", "quantity")
    list_filter = ("warehouse__country", "warehouse")
    list_select_related = ("product", "warehouse")
    search_fields = ("product__title", "warehouse__name")
    autocomplete_fields = ("product", "warehouse")
