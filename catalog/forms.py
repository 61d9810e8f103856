from django import forms
from django.utils.translation import gettext_lazy as _

from returns_portal.countries import Country


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    category = forms.SlugField(label=_("Category"), required=False)
    local_return = forms.BooleanField(label=_("Local return"), required=False)
    mall = forms.BooleanField(required=False)


class CountryForm(forms.Form):
    country = forms.ChoiceField(label=_("Deliver to"), choices=Country.choices)
