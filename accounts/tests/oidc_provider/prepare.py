"""Creates the test provider's database: migrations, an RSA signing key (creatersakey), the
people of people.PEOPLE, and the portal as a confidential client with the redirect URI given.

    OIDC_PROVIDER_DB=... OIDC_PROVIDER_URL=... python -m accounts.tests.oidc_provider.prepare \\
        <client id> <client secret> <redirect uri> [require consent: 0|1]
"""
import os
import sys


def main(client_id: str, client_secret: str, redirect_uri: str, require_consent: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accounts.tests.oidc_provider.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType

    from .people import PASSWORD, PEOPLE

    call_command("migrate", verbosity=0)
    call_command("creatersakey")
    for username, person in PEOPLE.items():
        User.objects.create_user(username=username, email=person.get("email", ""), password=PASSWORD)
    client = Client.objects.create(name="Returns portal", client_type="confidential", client_id=client_id,
                                   client_secret=client_secret, require_consent=require_consent,
                                   reuse_consent=False)
    client.redirect_uris = [redirect_uri]
    client.save()
    code, _created = ResponseType.objects.get_or_create(value="code", defaults={"description": "code"})
    client.response_types.add(code)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:5] == ["1"])
