from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from orders.models import OrderLine

from .models import Dispute
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
    amount = forms.DecimalField(
        label=_("Compensation"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={"min_value": _("The compensation must be more than zero.")},
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
        places = settings.CURRENCY_DECIMALS.get(line.order.currency, 2)
        if places != self.fields["amount"].decimal_places:
            # The currency's minor units decide how many decimals are valid (JPY has none).
            self.fields["amount"] = forms.DecimalField(
                label=self.fields["amount"].label,
                max_digits=12,
                decimal_places=places,
                min_value=Decimal(1).scaleb(-places),
                error_messages=self.fields["amount"].error_messages,
            )
        quantum = Decimal(1).scaleb(-places)
        self.fields["amount"].initial = line.refundable_amount.quantize(quantum)
        self.fields["amount"].widget.attrs.update({"step": str(quantum), "max": line.refundable_amount.quantize(quantum)})
        if not self.is_bound:
            self.initial.setdefault("kind", Dispute.Kind.RETURN)
            self.initial.setdefault(
                "route", Dispute.Route.LOCAL if local_return_available else Dispute.Route.INTERNATIONAL
            )

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount > self.line.refundable_amount:
            raise forms.ValidationError(
                _("The compensation cannot be more than %(max)s, what you paid for this item minus refunds."),
                code="max_value",
                params={"max": self.line.refundable_amount},
            )
        return amount

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
