from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .services import user_language_set


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the language of the pages: remembered on the signed-in user (their notifications
    and e-mails follow it), and in a cookie for everyone."""
    code = request.POST.get("language", "")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "catalog:product_list"
    if code not in dict(settings.LANGUAGES):
        return render(request, "400.html", {"message": _("Please choose a language from the list.")}, status=400)
    response = redirect(next_url)
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=code)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite="Lax", secure=request.is_secure(), httponly=True)
    return response
