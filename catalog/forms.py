from django import forms
from django.utils.translation import gettext_lazy as _

from returns_portal.countries import Country

from .models import Warehouse


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    category = forms.SlugField(label=_("Category"), required=False)
    local_return = forms.BooleanField(label=_("Local return"), required=False)
    mall = forms.BooleanField(required=False)


class CountryForm(forms.Form):
    country = forms.ChoiceField(label=_("Deliver to"), choices=Country.choices)


class WarehouseForm(forms.ModelForm):
    """A store's own warehouse, as its members keep it in the seller pages. The store is
    never a field: it is the member's, set by the view (marketplace warehouses are staff's)."""

    class Meta:
        model = Warehouse
        fields = ["name", "address", "city", "country", "accepts_returns", "stocks_goods"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "address": _("Street, building and postcode, as a buyer writes it on the parcel."),
            "accepts_returns": _("Buyers' returns may be sent here."),
            "stocks_goods": _("Goods are kept here for sale in this country."),
        }

    def __init__(self, *args, store_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.store_id = store_id
        self.fields["country"].choices = [("", _("Choose a country")), *Country.choices]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        duplicates = Warehouse.objects.filter(store_id=self.instance.store_id, name=name).exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise forms.ValidationError(_("You already have a warehouse named “%(name)s”."), code="unique",
                                        params={"name": name})
        return name

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("accepts_returns") and not cleaned.get("stocks_goods"):
            raise forms.ValidationError(_("Tick what the warehouse does: it takes returns, stocks goods, or both."),
                                        code="no_role")
        return cleaned
