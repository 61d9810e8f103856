from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import endpoints, views

app_name = "api"

urlpatterns = [
    path("seller/api-keys/", views.seller_api_keys, name="seller_api_keys"),
    path("seller/api-keys/<int:pk>/revoke/", views.seller_api_key_revoke, name="seller_api_key_revoke"),
    path("api/v1/disputes/", endpoints.DisputeList.as_view(), name="dispute_list"),
    path("api/v1/disputes/<int:pk>/", endpoints.DisputeDetail.as_view(), name="dispute_detail"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
