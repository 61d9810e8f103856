from returns_portal.countries import Country, country_name

from .selectors import viewer_country as _viewer_country


def viewer_country(request):
    code = _viewer_country(request)
    return {
        "viewer_country": code,
        "viewer_country_name": country_name(code),
        "country_choices": Country.choices,
    }
