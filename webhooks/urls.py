from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("seller/webhooks/", views.endpoint_list, name="endpoint_list"),
    path("seller/webhooks/<int:pk>/", views.endpoint_detail, name="endpoint_detail"),
    path("seller/webhooks/<int:pk>/rotate-secret/", views.endpoint_rotate_secret, name="endpoint_rotate_secret"),
    path("seller/webhooks/<int:pk>/disable/", views.endpoint_disable, name="endpoint_disable"),
    path("seller/webhooks/<int:pk>/enable/", views.endpoint_enable, name="endpoint_enable"),
    path("seller/webhooks/<int:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("seller/webhooks/deliveries/<uuid:pk>/redeliver/", views.delivery_redeliver, name="delivery_redeliver"),
]
