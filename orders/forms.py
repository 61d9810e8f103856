from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class BuyNowForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=settings.MAX_ORDER_QUANTITY, initial=1)


class ShipOrderForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64, required=False)
