from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("seller/api-keys/", views.seller_api_keys, name="seller_api_keys"),
    path("seller/api-keys/<int:pk>/revoke/", views.seller_api_key_revoke, name="seller_api_key_revoke"),
]
