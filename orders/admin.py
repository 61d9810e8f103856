from django.contrib import admin

from returns_portal.admin_site import ReadOnlyAdmin

from .models import Order, OrderEvent, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("product", "title", "unit_price", "quantity", "line_total")
    readonly_fields = fields
    can_delete = False


class OrderEventInline(admin.TabularInline):
    """The timeline is append-only: shown, never edited."""

    model = OrderEvent
    extra = 0
    fields = ("created_at", "actor", "from_status", "to_status", "details")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "buyer", "store", "status", "total", "currency", "delivery_country", "created_at")
    list_filter = ("status", "delivery_country", "store", "currency")
    list_select_related = ("buyer", "store")
    search_fields = ("number", "buyer__username", "buyer__email", "store__name", "tracking_number")
    date_hierarchy = "created_at"
    readonly_fields = ("number", "buyer", "store", "status", "total", "currency", "payment_reference",
                       "created_at", "paid_at", "shipped_at", "delivered_at", "updated_at")
    inlines = [OrderLineInline, OrderEventInline]

    def has_add_permission(self, request) -> bool:
        return False  # orders come from buyers' purchases, never typed in




@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ("order", "title", "unit_price", "quantity", "line_total")
    list_select_related = ("order",)
    list_filter = ("order__status",)
    search_fields = ("order__number", "title", "product__title")
    readonly_fields = ("order", "product", "title", "unit_price", "quantity", "line_total")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ("order", "from_status", "to_status", "actor", "created_at")
    list_filter = ("to_status",)
    list_select_related = ("order", "actor")
    search_fields = ("order__number", "actor__username")
