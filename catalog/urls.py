from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("country/", views.country_set, name="country_set"),
    path("seller/warehouses/", views.seller_warehouses, name="seller_warehouses"),
    path("seller/warehouses/<int:pk>/", views.seller_warehouse_edit, name="seller_warehouse_edit"),
    path("seller/warehouses/<int:pk>/deactivate/", views.seller_warehouse_deactivate,
         name="seller_warehouse_deactivate"),
    path("seller/warehouses/<int:pk>/reactivate/", views.seller_warehouse_reactivate,
         name="seller_warehouse_reactivate"),
]
