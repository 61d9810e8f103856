from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/confirm-delivery/", views.confirm_delivery, name="confirm_delivery"),
    path("orders/buy/<int:product_pk>/", views.buy_now, name="buy_now"),
    path("seller/orders/", views.seller_order_list, name="seller_order_list"),
    path("seller/orders/<int:pk>/ship/", views.seller_order_ship, name="seller_order_ship"),
]
