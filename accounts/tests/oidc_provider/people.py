"""The provider's people and the claims it gives for each (by username). Their password on the
provider is PASSWORD."""

PASSWORD = "provider-pass-123"  # nosec B105 - a throw-away test provider's users

PEOPLE = {
    # A buyer in Kazakhstan reading Russian: country in lower case, language with a region.
    "aigerim": {"name": "Aigerim Nurlanovna", "email": "aigerim@marketplace.example", "email_verified": True,
                "locale": "ru-RU", "country": "kz"},
    # Values the portal does not know: they leave country and language empty, never an error.
    "zed": {"name": "Zed Unknown", "email": "zed@marketplace.example", "email_verified": True,
            "locale": "fr-CA", "country": "Atlantis"},
    # An address the provider has not verified.
    "ulla": {"name": "Ulla Unverified", "email": "ulla@marketplace.example", "email_verified": False,
             "locale": "en-GB", "country": "DE"},
    # An address that an account on the portal already holds (the tests create it there).
    "taken": {"name": "Taken Address", "email": "owner@example.com", "email_verified": True,
              "locale": "en", "country": "RU"},
    # An address of an account on the portal that the provider has not verified either.
    "taken_unverified": {"name": "Not The Owner", "email": "owner@example.com", "email_verified": False,
                         "locale": "en", "country": "RU"},
    # No e-mail address at all: the portal asks for one on its sign-up form.
    "nomail": {"name": "Nomail Person", "locale": "ru", "country": "RU"},
}
