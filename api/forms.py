from django import forms
from django.utils.translation import gettext_lazy as _

from .keys import name_taken, name_taken_message
from .models import NAME_MAX_LENGTH


class ApiKeyForm(forms.Form):
    """The name a store gives a new key, or staff a staff token (``store`` None, ``user`` its
    owner). The store is never a field: it is the member's."""

    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH,
                           help_text=_("What the key is for, e.g. the system that uses it."))

    def __init__(self, *args, store, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.store, self.user = store, user

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name_taken(self.store, name, self.user):
            raise forms.ValidationError(name_taken_message(name), code="unique")
        return name
