from allauth.account import views as allauth_views
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
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


class ConfirmEmailView(allauth_views.ConfirmEmailView):
    """allauth's confirmation page, answering an unknown, expired or used link with its "this link
    does not work" page and 404 on a POST as on a GET (allauth's POST would show the bare 404)."""

    def get(self, *args, **kwargs) -> HttpResponse:
        response = super().get(*args, **kwargs)
        if self.object is None:
            response.status_code = 404
        return response

    def post(self, *args, **kwargs) -> HttpResponse:
        try:
            return super().post(*args, **kwargs)
        except Http404:
            self.object = None
            return self.render_to_response(self.get_context_data(), status=404)
