"""What the API's POSTs take. These check the body's shape (types, lengths, choices) for the
schema and for clients; the rules (which warehouse fits this return, how many decimals an
amount may have, which conditions apply) are the pages' forms' and the services', which the
endpoints call next with these values."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from disputes.admin import DecisionForm
from disputes.forms import InspectionForm
from disputes.models.returns import ReturnMethod

ANSWERS = [code for code, _label in InspectionForm.ANSWER_CHOICES]


class AmountField(serializers.CharField):
    """An amount as a string ("1500.00"), as the API writes them; a JSON number is taken too."""

    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)


class InstructionsInput(serializers.Serializer):
    template = serializers.IntegerField(required=False, min_value=1,
                                        help_text=_("One of the store's instruction templates: fills the fields "
                                                    "left out."))
    warehouse = serializers.IntegerField(required=False, min_value=1,
                                         help_text=_("A return warehouse for this buyer (GET /api/v1/warehouses/)."))
    method = serializers.ChoiceField(choices=ReturnMethod.choices, required=False)
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    text = serializers.CharField(max_length=4000, required=False, allow_blank=True,
                                 help_text=_("What else the buyer is told."))


class CounterOfferInput(serializers.Serializer):
    amount = AmountField(help_text=_("The refund offered, less than the amount asked."))
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)
    evidence = serializers.ListField(child=serializers.FileField(), required=False,
                                     help_text=_("Photos or videos (multipart/form-data)."))


class InspectionInput(serializers.Serializer):
    answers = serializers.DictField(child=serializers.ChoiceField(choices=ANSWERS),
                                    help_text=_("For each return condition that applies (its code): meets, "
                                                "fails or unsure."))
    notes = serializers.DictField(child=serializers.CharField(max_length=1000, allow_blank=True), required=False,
                                  help_text=_("A note per condition code."))
    general_notes = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    photos = serializers.ListField(child=serializers.FileField(), required=False,
                                   help_text=_("Photos of the returned goods (multipart/form-data)."))


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=DecisionForm.base_fields["decision"].choices)
    amount = AmountField(required=False, help_text=_("For a partial refund."))
    reason = serializers.CharField(max_length=4000, help_text=_("Both sides read it."))


class MessageInput(serializers.Serializer):
    body = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    files = serializers.ListField(child=serializers.FileField(), required=False,
                                  help_text=_("Photos or videos (multipart/form-data)."))
