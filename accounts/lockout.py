"""Login lockout (django-axes): the client's address, the message a locked-out person reads,
and the answer they get (HTTP 429 with Retry-After).

Axes counts failed log-ins per account and address (settings: AXES_*). Its backend refuses a
locked-out pair before any password is checked; its middleware turns the refused request into
``lockout_response``. The login forms (accounts.forms) put ``lockout_message`` where their errors go.

One count per account, whichever way a person logs in: by username or by e-mail address on the
site (allauth), by username in the admin, by password again to reauthenticate. Axes keys its
count by what ``login_account_username`` resolves the typed login to: the account's username.
"""
import ipaddress

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.utils.translation import ngettext
from rest_framework.throttling import BaseThrottle


def client_ip_address(request: HttpRequest) -> str | None:
    """The client's address as the API's throttling sees it: REMOTE_ADDR, or behind
    NUM_PROXIES proxies the address the outermost of them added to X-Forwarded-For. One rule
    for the whole site (AXES_CLIENT_IP_CALLABLE). A value that is not an address (a proxy
    misconfigured) falls back to REMOTE_ADDR rather than reaching the database."""
    address = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return request.META.get("REMOTE_ADDR")


def login_account_username(request: HttpRequest | None, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username of the account a log-in is for, whether the person
    typed its username (any case: usernames are kept in lower case) or its e-mail address, so
    that both count towards one lockout. What matches no account is counted as typed (lower
    case): guessing at unknown accounts is locked out the same way."""
    from .models import User
    from .selectors import address_holders

    credentials = credentials or {}
    data = getattr(request, "POST", None) or {}
    typed = (credentials.get("username") or credentials.get("email") or data.get("login")
             or data.get("username") or "")
    typed = str(typed).strip()
    if not typed:
        return None
    usernames = list(User.objects.filter(username__iexact=typed).values_list("username", flat=True)[:2])
    if typed in usernames:
        return typed
    if len(usernames) == 1:
        return usernames[0]
    if "@" in typed:
        owners = list(address_holders(typed).values_list("username", flat=True)[:2])
        if len(owners) == 1:
            return owners[0]
    return typed.lower()


def cool_off_seconds(request: HttpRequest | None = None) -> int:
    return int(get_cool_off(request).total_seconds())


def lockout_message(request: HttpRequest | None = None) -> str:
    minutes = max(1, -(-cool_off_seconds(request) // 60))  # rounded up: never "try again in 0 minutes"
    return ngettext(
        "Too many failed attempts to log in to this account. Logging in from your address is paused for "
        "%(minutes)d minute; try again then, or ask support to unlock it.",
        "Too many failed attempts to log in to this account. Logging in from your address is paused for "
        "%(minutes)d minutes; try again then, or ask support to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE. A login page (the site's or the admin's) already shows the
    message in its form: it is kept, in its own look, with status 429. Anything else that
    authenticates with a password gets the site's lockout page."""
    if isinstance(original_response, TemplateResponse) and "form" in (original_response.context_data or {}):
        response = original_response
        response.status_code = 429
    else:
        response = render(request, "accounts/locked_out.html", {"message": lockout_message(request)}, status=429)
    response["Retry-After"] = str(cool_off_seconds(request))
    return response
