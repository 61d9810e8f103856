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

from . import webhook_endpoints  # noqa: E402

urlpatterns += [
    path("api/v1/webhooks/endpoints/", webhook_endpoints.WebhookEndpointList.as_view(), name="webhook_endpoint_list"),
    path("api/v1/webhooks/endpoints/<int:pk>/", webhook_endpoints.WebhookEndpointDetail.as_view(),
         name="webhook_endpoint_detail"),
    path("api/v1/webhooks/endpoints/<int:pk>/deliveries/", webhook_endpoints.WebhookDeliveryList.as_view(),
         name="webhook_delivery_list"),
]
