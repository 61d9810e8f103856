from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import actions, endpoints, views

app_name = "api"

urlpatterns = [
    path("seller/api-keys/", views.seller_api_keys, name="seller_api_keys"),
    path("seller/api-keys/<int:pk>/revoke/", views.seller_api_key_revoke, name="seller_api_key_revoke"),
    path("api/v1/disputes/", endpoints.DisputeList.as_view(), name="dispute_list"),
    path("api/v1/disputes/<int:pk>/", endpoints.DisputeDetail.as_view(), name="dispute_detail"),
    path("api/v1/disputes/<int:pk>/instructions/", actions.SendInstructions.as_view(), name="send_instructions"),
    path("api/v1/disputes/<int:pk>/accept/", actions.Accept.as_view(), name="accept"),
    path("api/v1/disputes/<int:pk>/counter-offer/", actions.CounterOffer.as_view(), name="counter_offer"),
    path("api/v1/disputes/<int:pk>/reject/", actions.Reject.as_view(), name="reject"),
    path("api/v1/disputes/<int:pk>/inspection/", actions.Inspect.as_view(), name="inspect"),
    path("api/v1/disputes/<int:pk>/decision/", actions.Decide.as_view(), name="decide"),
    path("api/v1/disputes/<int:pk>/messages/", actions.Messages.as_view(), name="messages"),
    path("api/v1/disputes/<int:pk>/files/<int:file_pk>/", actions.File.as_view(), name="file"),
    path("api/v1/warehouses/", endpoints.Warehouses.as_view(), name="warehouses"),
    path("api/v1/instruction-templates/", endpoints.InstructionTemplates.as_view(), name="instruction_templates"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves the page's start-up script at ?script, not inline (the Content-Security-Policy).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

from . import webhook_endpoints  # noqa: E402

urlpatterns += [
    path("api/v1/webhooks/endpoints/", webhook_endpoints.WebhookEndpointList.as_view(), name="webhook_endpoint_list"),
    path("api/v1/webhooks/endpoints/<int:pk>/", webhook_endpoints.WebhookEndpointDetail.as_view(),
         name="webhook_endpoint_detail"),
    path("api/v1/webhooks/endpoints/<int:pk>/deliveries/", webhook_endpoints.WebhookDeliveryList.as_view(),
         name="webhook_delivery_list"),
]
