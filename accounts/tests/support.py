"""Helpers of the account tests."""
from django.urls import reverse

PASSWORD = "secret-pass-123"  # the factories' password


def reauthenticate(client, password: str = PASSWORD) -> None:
    """Type the password again on the reauthentication page, as allauth asks before an e-mail
    change or a connection change (ACCOUNT_REAUTHENTICATION_REQUIRED) when the session's log-in
    is not recent: ``force_login`` records no log-in to allauth."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, "the reauthentication page refused the password"
