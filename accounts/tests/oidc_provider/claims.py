"""OIDC_USERINFO and OIDC_EXTRA_SCOPE_CLAIMS of the test provider: standard claims (name, e-mail,
email_verified, locale) and a "marketplace" scope giving the custom "country" claim."""
from oidc_provider.lib.claims import ScopeClaims

from .people import PEOPLE


def userinfo(claims: dict, user) -> dict:
    person = PEOPLE.get(user.username, {})
    for name in ("name", "email", "email_verified", "locale"):
        if name in person:
            claims[name] = person[name]
    claims["preferred_username"] = user.username
    return claims


class MarketplaceScopeClaims(ScopeClaims):
    info_marketplace = ("Marketplace", "Your country on the marketplace.")

    def scope_marketplace(self) -> dict:
        return {"country": PEOPLE.get(self.user.username, {}).get("country")}
