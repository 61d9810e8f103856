from django import forms
from django.utils.translation import gettext_lazy as _

from returns_portal.errors import DomainError

from .models import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH
from .services import check_url


class EndpointForm(forms.Form):
    """Where a store wants its events sent. The store is never a field: it is the member's."""

    url = forms.CharField(label=_("URL"), max_length=URL_MAX_LENGTH,
                          help_text=_("An https address of your system that accepts POST requests."))
    description = forms.CharField(label=_("Description"), max_length=DESCRIPTION_MAX_LENGTH, required=False,
                                  help_text=_("Optional: which system this is."))

    def clean_url(self) -> str:
        try:
            return check_url(self.cleaned_data["url"])
        except DomainError as error:
            raise forms.ValidationError(error.message, code=str(error.code)) from None
