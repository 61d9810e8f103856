"""The API's POSTs on a dispute: the actions the lifecycle allows the caller, the messages, and
(for staff tokens) the decision on an escalation.

A second door to the same rooms: each action is the pages' (``disputes.actions.ACTIONS``):
the lifecycle says whether the caller may take it now, the pages' form checks what was sent,
the service acts under the row lock and writes the timeline. So a refusal has the same words
and code here as on the page, and the timeline the same entries. Every POST takes an
``Idempotency-Key`` (``api.idempotency``).
"""
from __future__ import annotations

from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from disputes import lifecycle, selectors
from disputes.actions import ACTIONS, Action, refusal_error
from disputes.admin import DecisionForm
from disputes.models import Dispute, DisputeAttachment
from disputes.services import dispute_message_post, dispute_staff_decide
from disputes.uploads import evidence_response
from disputes.forms import DisputeMessageForm

from . import inputs
from .endpoints import ERROR, THROTTLED
from .idempotency import HEADER, idempotent
from .pagination import MessageCursorPagination
from .selectors import dispute_for_store, messages_of
from .serializers import DisputeDetailSerializer, MessageSerializer

IDEMPOTENCY = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Any unique string up to 255 printable characters (a UUID): a retry with the same key and body "
                "gets the first answer without acting again; the same key with another body is a 409.")
REFUSALS = {
    400: OpenApiResponse(ERROR, "What was sent is not valid: see `fields`."),
    401: ERROR,
    403: OpenApiResponse(ERROR, "Not the caller's to do (code `not_allowed`)."),
    404: OpenApiResponse(ERROR, "Not one of the caller's disputes."),
    409: OpenApiResponse(ERROR, "Not allowed now (`invalid_transition`), or the Idempotency-Key was used for "
                                "another request (`idempotency_key_reused`)."),
    429: OpenApiResponse(ERROR, "Too many requests with this key: wait for `Retry-After` seconds."),
}


class FormInput:
    """What a page's form reads from a request (``POST``, ``FILES``), built from the API's body."""

    def __init__(self, data: dict, files) -> None:
        self.POST = QueryDict(mutable=True)
        for name, value in data.items():
            if value is not None:
                self.POST[name] = str(value)
        self.FILES = files


def visible_dispute(request, pk: int) -> Dispute:
    return get_object_or_404(selectors.disputes_visible_to(request.user), pk=pk)


def form_errors(form) -> exceptions.ValidationError:
    """A page's form's errors in the API's shape: ``fields`` by the body's names (an inspection's
    ``answer_<code>`` is ``answers.<code>``), the form's own under ``non_field_errors``."""
    fields = {}
    for name, errors in form.errors.items():
        if name == "__all__":
            continue
        if name.startswith(("answer_", "note_")):
            group, code = name.split("_", 1)
            name = f"{group}s.{code}"
        fields[name] = list(errors)
    if form.non_field_errors():
        fields["non_field_errors"] = list(form.non_field_errors())
    return exceptions.ValidationError(fields)


class ActionView(GenericAPIView):
    """One of the pages' actions (``action``), with its body's shape (``serializer_class``)."""

    action_name: str = ""
    parser_classes = [JSONParser]
    serializer_class = None

    def form_data(self, data: dict) -> dict:
        return data

    def post(self, request, pk: int):
        return idempotent(request, self, lambda: self.act(request, pk))

    def act(self, request, pk: int) -> Response:
        dispute = visible_dispute(request, pk)
        spec: Action = ACTIONS[self.action_name]
        if spec.verb not in lifecycle.allowed_actions(dispute, request.user):
            raise refusal_error(dispute, spec.verb, request.user)
        form = None
        if self.serializer_class is not None:
            body = self.get_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            form = spec.form(FormInput(self.form_data(dict(body.validated_data)), request.FILES), dispute)
            if not form.is_valid():
                raise form_errors(form)
        spec.perform(request.user, dispute, form)
        return Response(DisputeDetailSerializer(dispute_for_store(request.user, pk),
                                                context=self.get_serializer_context()).data)


def action_schema(summary: str, description: str = "", **kwargs):
    """An action's schema: it answers with the dispute as it now is, or one of the refusals."""
    return extend_schema(summary=summary, description=description, parameters=[IDEMPOTENCY],
                         responses={200: DisputeDetailSerializer, **REFUSALS}, **kwargs)


@extend_schema_view(post=action_schema(
    "Send return instructions",
    "Where (warehouse), how (method, carrier) and what else the buyer is told; an RMA code is issued and the "
    "buyer has the days to ship. A template fills the fields left out."))
class SendInstructions(ActionView):
    action_name = "instructions"
    serializer_class = inputs.InstructionsInput


@extend_schema_view(post=action_schema("Accept the dispute: refund the amount asked", request=None))
class Accept(ActionView):
    action_name = "accept"


@extend_schema_view(post=action_schema("Offer a partial refund"))
class CounterOffer(ActionView):
    action_name = "counter-offer"
    serializer_class = inputs.CounterOfferInput


@extend_schema_view(post=action_schema("Reject the dispute with a reason",
                                       "Photos or videos as `evidence` in multipart/form-data."))
class Reject(ActionView):
    action_name = "reject"
    serializer_class = inputs.RejectInput
    parser_classes = [JSONParser, MultiPartParser]

    def form_data(self, data: dict) -> dict:
        data.pop("evidence", None)  # the form reads the files themselves
        return data


@extend_schema_view(post=action_schema(
    "Confirm receipt with the inspection",
    "An answer (meets, fails, unsure) for every return condition that applies to the goods (the dispute's "
    "`conditions`); the return-condition rules decide: a refund, a rejection the buyer may escalate, or staff "
    "review. Photos as `photos` in multipart/form-data (then `answers.<code>` fields)."))
class Inspect(ActionView):
    action_name = "inspect"
    serializer_class = inputs.InspectionInput
    parser_classes = [JSONParser, MultiPartParser]

    def form_data(self, data: dict) -> dict:
        answers, notes = data.pop("answers", {}), data.pop("notes", None) or {}
        data.pop("photos", None)
        return {**data, **{f"answer_{code}": answer for code, answer in answers.items()},
                **{f"note_{code}": note for code, note in notes.items()}}


class Decide(GenericAPIView):
    """Staff tokens decide an escalated dispute, as on the admin's decision page."""

    serializer_class = inputs.DecisionInput

    @extend_schema(summary="Decide an escalated dispute (staff tokens)", parameters=[IDEMPOTENCY],
                   responses={200: DisputeDetailSerializer, **REFUSALS})
    def post(self, request, pk: int):
        return idempotent(request, self, lambda: self.act(request, pk))

    def act(self, request, pk: int) -> Response:
        dispute = visible_dispute(request, pk)
        if "decide" not in lifecycle.allowed_actions(dispute, request.user):
            raise refusal_error(dispute, "decide", request.user)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = DecisionForm(FormInput(dict(body.validated_data), None).POST, currency=dispute.currency)
        if not form.is_valid():
            raise form_errors(form)
        dispute_staff_decide(dispute=dispute, staff=request.user, decision=form.cleaned_data["decision"],
                             reason=form.cleaned_data["reason"], amount=form.cleaned_data["amount"])
        return Response(DisputeDetailSerializer(dispute_for_store(request.user, pk),
                                                context=self.get_serializer_context()).data)


class Messages(GenericAPIView):
    """The thread between the buyer and the store (staff write in it too)."""

    serializer_class = MessageSerializer
    pagination_class = MessageCursorPagination
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(summary="The dispute's messages, oldest first", responses={200: MessageSerializer(many=True),
                                                                            400: ERROR, 401: ERROR, 404: ERROR,
                                                                            **THROTTLED})
    def get(self, request, pk: int):
        dispute = visible_dispute(request, pk)
        page = self.paginate_queryset(messages_of(dispute))
        return self.get_paginated_response(self.get_serializer(page, many=True, context={
            **self.get_serializer_context(), "dispute": dispute}).data)

    @extend_schema(summary="Post a message", description="JSON, or multipart/form-data with `files`.",
                   request=inputs.MessageInput, parameters=[IDEMPOTENCY],
                   responses={201: MessageSerializer, **REFUSALS})
    def post(self, request, pk: int):
        return idempotent(request, self, lambda: self.act(request, pk))

    def act(self, request, pk: int) -> Response:
        dispute = visible_dispute(request, pk)
        body = inputs.MessageInput(data=request.data)
        body.is_valid(raise_exception=True)
        form = DisputeMessageForm(FormInput({"body": body.validated_data.get("body", "")}, request.FILES).POST,
                                  request.FILES)
        if not form.is_valid():
            raise form_errors(form)
        message = dispute_message_post(dispute=dispute, author=request.user, body=form.cleaned_data["body"],
                                       files=form.cleaned_data["files"])
        message = messages_of(dispute).get(pk=message.pk)
        return Response(self.get_serializer(message, context={**self.get_serializer_context(), "dispute": dispute})
                        .data, status=status.HTTP_201_CREATED)


class File(GenericAPIView):
    """A file of the dispute (evidence, a message's attachment, an inspection photo)."""

    @extend_schema(summary="Download a file of the dispute",
                   responses={(200, "application/octet-stream"): OpenApiResponse(description="The file."),
                              401: ERROR, 404: ERROR, **THROTTLED})
    def get(self, request, pk: int, file_pk: int):
        try:
            item = selectors.attachment_for(request.user, dispute_pk=pk, attachment_pk=file_pk)
        except (Dispute.DoesNotExist, DisputeAttachment.DoesNotExist):
            raise exceptions.NotFound(_("No such file.")) from None
        return evidence_response(item)
