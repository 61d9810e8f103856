"""What the JSON API says about a dispute. Codes for machines (``state``, ``kind``), with the
text people read beside them in the request's language (``state_text``); amounts are
strings with the currency's minor units ("1500.00"), never floats."""
from __future__ import annotations

from datetime import UTC

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from disputes.lifecycle import STEPS, Party, allowed_actions
from disputes.models import Dispute, DisputeEvent, Inspection, Refund, ReturnInstructions
from disputes.presentation import author_name, author_party
from returns_portal.money import round_money


class MoneyField(serializers.Field):
    """A stored amount as a string with the currency's minor units (2 for RUB, 0 for JPY)."""

    def __init__(self, *, currency_source: str = "currency", **kwargs):
        self.currency_source = currency_source
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance):
        return instance

    def to_representation(self, instance) -> str:
        amount = getattr(instance, self.field_name)
        return str(round_money(amount, getattr(instance, self.currency_source)))


extend_schema_field({"type": "string", "format": "decimal", "example": "1500.00"})(MoneyField)

class UtcDateTime(serializers.DateTimeField):
    """Times in UTC ("2025-03-10T12:00:00Z"), whatever the portal's time zone; a time sent
    without an offset is read as UTC."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class LabelField(serializers.CharField):
    """The text people read for a stored code (``state`` → ``state_text``), in the request's
    language: what ``get_<field>_display()`` says, from the model field's choices looked up
    once (that method rebuilds and hashes every label of the field on each call)."""

    def __init__(self, model, *, source: str, **kwargs):
        self.labels = dict(model._meta.get_field(source.rsplit(".", 1)[-1]).flatchoices)
        super().__init__(source=source, **kwargs)

    def to_representation(self, value) -> str:
        return str(self.labels.get(value, value))


WHO = [Party.BUYER, Party.SELLER, Party.STAFF]


class DisputeFilters(serializers.Serializer):
    """The list's query parameters. Datetimes are ISO 8601 (without an offset: UTC); ``deadline_before`` is strictly before, ``deadline_after`` strictly after."""

    state = serializers.ChoiceField(choices=Dispute.State.choices, required=False)
    who = serializers.ChoiceField(choices=[(p.value, p.value) for p in WHO], required=False,
                                  help_text=_("Who must act now, by the lifecycle table."))
    route = serializers.ChoiceField(choices=[c for c in Dispute.Route.choices if c[0]], required=False)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False,
                                     help_text=_("The buyer's delivery country (ISO 3166 alpha-2)."),
                                     error_messages={"invalid": _("Give a two-letter country code, such as RU.")})
    updated_since = UtcDateTime(required=False)
    deadline_before = UtcDateTime(required=False)
    deadline_after = UtcDateTime(required=False)

    def validate_country(self, value: str) -> str:
        return value.upper()


class DisputeSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    state_text = LabelField(Dispute, source="state")
    who_must_act = serializers.SerializerMethodField()
    deadline_at = UtcDateTime(allow_null=True)
    kind = serializers.CharField()
    route = serializers.SerializerMethodField()
    amount = MoneyField()
    currency = serializers.CharField()
    order_number = serializers.CharField(source="order_line.order.number")
    line_title = serializers.CharField(source="order_line.title")
    buyer_country = serializers.CharField(source="order_line.order.delivery_country")
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    allowed_actions = serializers.SerializerMethodField()

    def get_who_must_act(self, dispute: Dispute) -> str | None:
        who = STEPS[dispute.state].who
        return str(who) if who is not None else None

    def get_route(self, dispute: Dispute) -> str | None:
        return dispute.route or None

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                          "example": {"send_instructions": ["send_instructions"]}})
    def get_allowed_actions(self, dispute: Dispute) -> dict[str, list[str]]:
        # The store's actions, by the lifecycle table (action verb → the moves it may lead to).
        return allowed_actions(dispute, self.context["request"].user)


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.CharField(source="event.kind")
    kind_text = LabelField(DisputeEvent, source="event.kind")
    from_state = serializers.CharField(source="event.from_state")
    to_state = serializers.CharField(source="event.to_state")
    note = serializers.CharField()
    by = serializers.CharField()
    created_at = UtcDateTime(source="event.created_at")


class InstructionsSerializer(serializers.Serializer):
    address = serializers.DictField(help_text=_("The address the buyer was sent, as it was sent."))
    method = serializers.CharField()
    method_text = LabelField(ReturnInstructions, source="method")
    carrier = serializers.CharField()
    text = serializers.CharField()
    rma_code = serializers.CharField()
    ship_by = UtcDateTime()
    created_at = UtcDateTime()


class ShipmentSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_at = UtcDateTime()


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    outcome = serializers.CharField()
    text = serializers.CharField()


class InspectionSerializer(serializers.Serializer):
    received_at = UtcDateTime()
    outcome = serializers.CharField()
    outcome_text = LabelField(Inspection, source="outcome")
    findings = FindingSerializer(many=True, source="finding_list")


class RefundSerializer(serializers.Serializer):
    amount = MoneyField()
    currency = serializers.CharField()
    status = serializers.CharField()
    status_text = LabelField(Refund, source="status")
    created_at = UtcDateTime()
    paid_at = UtcDateTime(allow_null=True)


class ConditionSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class DisputeDetailSerializer(DisputeSummarySerializer):
    conditions = ConditionSerializer(many=True, source="condition_list",
                                     help_text=_("The return conditions the goods are inspected against: the "
                                                 "inspection answers each by its code."))
    timeline = TimelineEntrySerializer(many=True, source="timeline_entries")
    instructions = InstructionsSerializer(allow_null=True)
    shipment = ShipmentSerializer(allow_null=True)
    inspection = InspectionSerializer(allow_null=True)
    refunds = RefundSerializer(many=True, source="refund_list")


class FileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text=_("Where to download it, with the same key."))

    def get_url(self, attachment) -> str:
        return reverse("api:file", args=[attachment.dispute_id, attachment.pk])


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.SerializerMethodField(help_text=_("Which side wrote it: buyer, seller or staff."))
    author_text = serializers.SerializerMethodField(help_text=_("Who wrote it, in words."))
    body = serializers.CharField()
    created_at = UtcDateTime()
    files = FileSerializer(many=True, source="attachments.all")

    def get_author(self, message) -> str:
        return author_party(message.author, self.context["dispute"])

    def get_author_text(self, message) -> str:
        return author_name(message.author, self.context["dispute"], self.context["request"].user)


class WarehouseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    operator = serializers.SerializerMethodField(help_text=_("store: the store's own; marketplace: a return "
                                                             "point of the marketplace."))
    country = serializers.CharField()
    city = serializers.CharField()
    address = serializers.CharField()
    accepts_returns = serializers.BooleanField()
    is_active = serializers.BooleanField()

    def get_operator(self, warehouse) -> str:
        return "marketplace" if warehouse.store_id is None else "store"


class InstructionTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    warehouse = serializers.IntegerField(source="warehouse_id", allow_null=True)
    method = serializers.CharField()
    carrier = serializers.CharField()
    text = serializers.CharField()
