"""Countries the marketplace ships to or from, as ISO 3166-1 alpha-2 codes."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Country(models.TextChoices):
    RUSSIA = "RU", _("Russia")
    UKRAINE = "UA", _("Ukraine")
    BELARUS = "BY", _("Belarus")
    MOLDOVA = "MD", _("Moldova")
    KAZAKHSTAN = "KZ", _("Kazakhstan")
    ARMENIA = "AM", _("Armenia")
    AZERBAIJAN = "AZ", _("Azerbaijan")
    KYRGYZSTAN = "KG", _("Kyrgyzstan")
    UZBEKISTAN = "UZ", _("Uzbekistan")
    TAJIKISTAN = "TJ", _("Tajikistan")
    CHINA = "CN", _("China")
    TURKEY = "TR", _("Turkey")
    GERMANY = "DE", _("Germany")
    UNITED_STATES = "US", _("United States")


def country_name(code: str | None) -> str:
    """The translated name of a country code, or the code itself when unknown."""
    if not code:
        return ""
    try:
        return str(Country(code).label)
    except ValueError:
        return code
