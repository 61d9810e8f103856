from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from catalog.models import Warehouse
from orders.models import OrderLine
from returns_portal.money import MoneyField

from .models import Dispute, InstructionTemplate
from .models.returns import ReturnMethod
from .uploads import MultipleFileField, MultipleFileInput


class DisputeOpenForm(forms.Form):
    kind = forms.ChoiceField(label=_("What do you want?"), choices=Dispute.Kind.choices, widget=forms.RadioSelect)
    route = forms.ChoiceField(
        label=_("How do you return the goods?"),
        choices=[(Dispute.Route.LOCAL, Dispute.Route.LOCAL.label),
                 (Dispute.Route.INTERNATIONAL, Dispute.Route.INTERNATIONAL.label)],
        widget=forms.RadioSelect,
        required=False,
    )
    amount = MoneyField(
        label=_("Compensation"),
        error_messages={
            "not_positive": _("The compensation must be more than zero."),
            "max_value": _("The compensation cannot be more than %(max)s, what you paid for this item minus refunds."),
        },
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=Dispute.Reason.choices)
    description = forms.CharField(
        label=_("Describe the problem"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000, required=False
    )
    evidence = MultipleFileField(
        label=_("Photos or video"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*,video/*"}),
        help_text=_("Needed for every dispute except a local return."),
    )

    def __init__(self, *args, line: OrderLine, local_return_available: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.local_return_available = local_return_available
        # The order's currency decides how many decimals are valid (JPY has none).
        amount = self.fields["amount"]
        amount.currency = line.order.currency
        amount.initial = amount.max_value = line.refundable_amount
        if not self.is_bound:
            self.initial.setdefault("kind", Dispute.Kind.RETURN)
            self.initial.setdefault(
                "route", Dispute.Route.LOCAL if local_return_available else Dispute.Route.INTERNATIONAL
            )

    def clean(self):
        cleaned = super().clean()
        kind, route = cleaned.get("kind"), cleaned.get("route")
        if kind == Dispute.Kind.RETURN:
            if not route:
                self.add_error("route", _("Choose how you return the goods."))
            elif route == Dispute.Route.LOCAL and not self.local_return_available:
                self.add_error("route", _("Local return is not available for this item; see why above."))
        elif kind == Dispute.Kind.REFUND_ONLY:
            cleaned["route"] = Dispute.Route.NONE
        needs_evidence = not (kind == Dispute.Kind.RETURN and cleaned.get("route") == Dispute.Route.LOCAL)
        if kind and needs_evidence and not cleaned.get("evidence") and "evidence" not in self.errors:
            self.add_error("evidence", _("Attach at least one photo or video showing the problem."))
        if cleaned.get("reason") == Dispute.Reason.OTHER and not cleaned.get("description", "").strip():
            self.add_error("description", _("Tell us what is wrong when you choose “Other”."))
        return cleaned


class DisputeMessageForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
                           required=False)
    files = MultipleFileField(label=_("Photos or video"), required=False,
                              widget=MultipleFileInput(attrs={"accept": "image/*,video/*"}))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("body", "").strip() and not cleaned.get("files") and not self.errors:
            raise forms.ValidationError(_("Write a message or attach a file."))
        return cleaned


class DisputeListFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("open", _("Open")), ("closed", _("Closed")), ("all", _("All"))], required=False
    )


# A warehouse that is not offered: inactive, not taking returns, in another country or another
# store's (the service refuses it again under the dispute's lock).
WAREHOUSE_NOT_OFFERED = _("This warehouse cannot take this return: it is inactive, takes no returns or is not "
                          "one of the return warehouses for this buyer. Choose one from the list.")


class InstructionsForm(forms.Form):
    no_templates_hint = ""
    template = forms.ModelChoiceField(
        label=_("Start from a template"), queryset=InstructionTemplate.objects.none(), required=False,
        help_text=_("Fills in the fields you leave empty."),
    )
    warehouse = forms.ModelChoiceField(
        label=_("Return warehouse"), queryset=Warehouse.objects.none(), required=False,
        error_messages={"invalid_choice": WAREHOUSE_NOT_OFFERED},
    )
    method = forms.ChoiceField(label=_("How"), choices=ReturnMethod.choices, widget=forms.RadioSelect, required=False)
    carrier = forms.CharField(label=_("Carrier"), max_length=100, required=False)
    text = forms.CharField(label=_("Instructions for the buyer"), widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=4000, required=False)

    def __init__(self, *args, dispute: Dispute, warehouses, defaults=None, **kwargs):
        """``defaults``: the instructions the system would issue (``default_instructions_many``):
        the form starts from them, so both read alike."""
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses
        templates = InstructionTemplate.objects.filter(store_id=dispute.store_id)
        if templates.exists():
            self.fields["template"].queryset = templates
        else:  # nothing to start from: say where templates are made instead
            del self.fields["template"]
            self.no_templates_hint = _("You have no instruction templates yet; make them once on the Instruction "
                                      "templates page of your seller desk and start from them here.")
        if not self.is_bound:
            self.initial.setdefault("warehouse", defaults.warehouse if defaults else warehouses.first())
            self.initial.setdefault("method", defaults.method if defaults else ReturnMethod.DROP_OFF)
            self.initial.setdefault("carrier", defaults.carrier if defaults else settings.DEFAULT_RETURN_CARRIER)

    def clean(self):
        cleaned = super().clean()
        template = cleaned.get("template") if "template" in self.fields else None
        if template is not None:
            # The template fills what the seller left empty; it never overrides what was typed.
            if not cleaned.get("warehouse") and template.warehouse_id and "warehouse" not in self.errors:
                if self.fields["warehouse"].queryset.filter(pk=template.warehouse_id).exists():
                    cleaned["warehouse"] = template.warehouse
                else:  # the store deactivated it since, or it takes no returns from this buyer
                    self.add_error("warehouse", _("The template's warehouse, %(warehouse)s, cannot take this "
                                                  "return: choose one from the list.")
                                   % {"warehouse": template.warehouse.name})
            cleaned["method"] = cleaned.get("method") or template.method
            cleaned["carrier"] = cleaned.get("carrier") or template.carrier
            cleaned["text"] = cleaned.get("text") or template.text
        for name, message in (("warehouse", _("Choose the return warehouse.")),
                              ("method", _("Choose how the goods are returned.")),
                              ("carrier", _("Name the carrier the buyer should use."))):
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, message)
        return cleaned


class CounterOfferForm(forms.Form):
    amount = MoneyField(label=_("Your offer"))
    message = forms.CharField(label=_("Message to the buyer"), widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=2000, required=False)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Why you reject the dispute"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=4000)
    evidence = MultipleFileField(label=_("Photos or video"), required=False,
                                 widget=MultipleFileInput(attrs={"accept": "image/*,video/*"}))


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=100)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=60)


class EscalateForm(forms.Form):
    reason = forms.CharField(label=_("Why you disagree"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class InspectionForm(forms.Form):
    """One meets / fails / unsure question per return condition that applies, with a note."""

    general_notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
                                    required=False)
    photos = MultipleFileField(label=_("Photos of the returned goods"), required=False,
                               widget=MultipleFileInput(attrs={"accept": "image/*,video/*"}))

    ANSWER_CHOICES = [("meets", _("Meets")), ("fails", _("Fails")), ("unsure", _("Unsure — staff decide"))]

    def __init__(self, *args, conditions, **kwargs):
        super().__init__(*args, **kwargs)
        self.conditions = list(conditions)
        for condition in self.conditions:
            self.fields[f"answer_{condition.code}"] = forms.ChoiceField(
                label=condition.text, choices=self.ANSWER_CHOICES, widget=forms.RadioSelect,
                error_messages={"required": _("Answer this condition.")},
            )
            self.fields[f"note_{condition.code}"] = forms.CharField(
                label=_("Note"), max_length=1000, required=False
            )

    def rows(self):
        for condition in self.conditions:
            yield condition, self[f"answer_{condition.code}"], self[f"note_{condition.code}"]

    @property
    def answers(self) -> dict[str, str]:
        return {c.code: self.cleaned_data[f"answer_{c.code}"] for c in self.conditions}

    @property
    def notes(self) -> dict[str, str]:
        return {c.code: self.cleaned_data.get(f"note_{c.code}", "") for c in self.conditions}


class InstructionTemplateForm(forms.ModelForm):
    class Meta:
        model = InstructionTemplate
        fields = ["name", "warehouse", "method", "carrier", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, store, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store
        # Where the store's goods may be returned: its own active return warehouses and the
        # marketplace's (the instructions form narrows them to the buyer's country).
        self.fields["warehouse"].queryset = Warehouse.objects.return_points_for(store)
        self.fields["warehouse"].error_messages["invalid_choice"] = _(
            "This warehouse cannot take returns: it is inactive, takes no returns or is not yours. Choose one from "
            "the list.")

    def clean_name(self) -> str:
        # The (store, name) constraint is not checked by model validation, because the store
        # is not a form field; without this a duplicate reaches the database as a 500.
        name = self.cleaned_data["name"]
        duplicates = InstructionTemplate.objects.filter(store=self.store, name=name).exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise forms.ValidationError(_("You already have a template named “%(name)s”."), code="unique",
                                        params={"name": name})
        return name
