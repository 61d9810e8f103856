"""The JSON API's endpoints (DESIGN §8): thin views over the selectors, scoped to the key's store."""
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from disputes.models import Dispute

from .errors import error_body
from .selectors import dispute_for_store, disputes_for_store, store_templates, warehouses_for
from .serializers import (
    DisputeDetailSerializer,
    DisputeFilters,
    DisputeSummarySerializer,
    InstructionTemplateSerializer,
    WarehouseSerializer,
)

ERROR = inline_serializer("Error", {
    "code": serializers.CharField(),
    "message": serializers.CharField(),
    "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
})


# Past the key's limit (API_RATE_LIMIT), any request.
THROTTLED = {429: OpenApiResponse(ERROR, "Too many requests with this key: wait for `Retry-After` seconds.")}


class DisputeList(GenericAPIView):
    serializer_class = DisputeSummarySerializer

    @extend_schema(
        operation_id="disputes_list",
        summary="The store's disputes",
        description="Cursor-paginated, oldest change first (ordered by updated_at, then id). "
                    "Filters combine; a bad value is a 400 naming the parameter.",
        parameters=[DisputeFilters],
        responses={200: DisputeSummarySerializer(many=True), 400: ERROR, 401: ERROR, **THROTTLED},
    )
    def get(self, request):
        filters = DisputeFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        disputes = disputes_for_store(request.user, filters=filters.validated_data)
        page = self.paginate_queryset(disputes)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class DisputeDetail(GenericAPIView):
    serializer_class = DisputeDetailSerializer
    queryset = Dispute.objects.none()  # for the schema; reads go through dispute_for_store

    @extend_schema(
        operation_id="disputes_retrieve",
        summary="One of the store's disputes, with its timeline, return leg, inspection and refunds",
        responses={200: DisputeDetailSerializer, 401: ERROR,
                   404: OpenApiResponse(ERROR, "Not one of the store's disputes."), **THROTTLED},
    )
    def get(self, request, pk: int):
        try:
            dispute = dispute_for_store(request.user, pk)
        except Dispute.DoesNotExist:
            raise Http404 from None
        return Response(self.get_serializer(dispute).data)


class Warehouses(GenericAPIView):
    serializer_class = WarehouseSerializer
    pagination_class = None

    @extend_schema(summary="Where the store may send returns",
                   description="The store's own warehouses (active or not), then the marketplace's active return "
                               "points. Instructions take an active one that accepts returns in the buyer's country.",
                   responses={200: WarehouseSerializer(many=True), 401: ERROR, **THROTTLED})
    def get(self, request):
        return Response(self.get_serializer(warehouses_for(request.user), many=True).data)


class InstructionTemplates(GenericAPIView):
    serializer_class = InstructionTemplateSerializer
    pagination_class = None

    @extend_schema(summary="The store's instruction templates",
                   responses={200: InstructionTemplateSerializer(many=True), 401: ERROR, **THROTTLED})
    def get(self, request):
        return Response(self.get_serializer(store_templates(request.user), many=True).data)


@csrf_exempt  # it changes nothing; without this a POST would get the CSRF page instead
def not_found(request, path: str = "") -> JsonResponse:
    """Any other address under /api/ (an id that is not a number, a path that does not exist):
    the API's 404 in its error shape, not the site's page."""
    return JsonResponse(error_body("not_found", _("Nothing here for this API key.")), status=404)
