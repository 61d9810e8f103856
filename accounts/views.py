from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from returns_portal import ratelimit
from returns_portal.errors import DomainError
from returns_portal.formatting import local_datetime

from . import invitations, selectors
from .decorators import seller_required
from .forms import InvitationAcceptForm, InvitationForm, ProfileForm
from .models import StoreInvitation
from .services import user_language_set, user_profile_update


def _remember_language(request: HttpRequest, response: HttpResponse, code: str) -> HttpResponse:
    """The language in a cookie too: it stays after logging out."""
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite="Lax", secure=request.is_secure(), httponly=True)
    return response


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
    return _remember_language(request, response, code)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """A signed-in person's own choices: display name, country, language, e-mails per kind."""
    user = request.user
    form = ProfileForm(request.POST if request.method == "POST" else None, user=user)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                user_profile_update(user=user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                language = form.cleaned_data["language"]
                translation.activate(language)  # the confirmation in the language just chosen
                messages.success(request, _("Your profile is saved."))
                return _remember_language(request, redirect("accounts:profile"), language)
    return render(request, "accounts/profile.html", {"form": form}, status=status)


# --- a store's team, in the seller pages -------------------------------------------------------


def _team_page(request: HttpRequest, form: InvitationForm, status: int = 200) -> HttpResponse:
    store_id = request.user.store_id
    return render(request, "accounts/team.html", {
        "form": form,
        "members": selectors.store_members(store_id),
        "invitations": selectors.store_pending_invitations(store_id),
        "invitation_days": settings.STORE_INVITATION_DAYS,
    }, status=status)


@require_GET
@seller_required
def team(request: HttpRequest) -> HttpResponse:
    return _team_page(request, InvitationForm())


@require_POST
@seller_required
def team_invite(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    limited = ratelimit.refusal(request.user, invitation=1)
    if limited is not None:
        form.add_error(None, limited.message)
        return _team_page(request, form, status=429)
    if form.is_valid():
        # Every invitation asked for counts, refused ones too: the answers say whether an address
        # has an account here.
        ratelimit.record(request.user, invitation=1)
        try:
            invitation = invitations.store_invitation_create(invited_by=request.user,
                                                             email=form.cleaned_data["email"])
        except DomainError as error:
            form.add_error("email", error.message)
        else:
            messages.success(request, _("Invitation sent to %(email)s. The link in it works until %(until)s.")
                             % {"email": invitation.email, "until": local_datetime(invitation.expires_at)})
            return redirect("team:index")
    return _team_page(request, form, status=422)


@require_POST
@seller_required
def team_invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(StoreInvitation, pk=pk, store_id=request.user.store_id)
    try:
        revoked = invitations.store_invitation_revoke(invitation=invitation, revoked_by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if revoked:
            messages.success(request, _("The invitation to %(email)s is revoked: its link no longer works.")
                             % {"email": invitation.email})
        else:
            messages.info(request, _("The invitation to %(email)s was already revoked.") % {"email": invitation.email})
    return redirect("team:index")


# --- accepting an invitation -------------------------------------------------------------------


def _closed(request: HttpRequest, invitation: StoreInvitation, reason: str) -> HttpResponse:
    return render(request, "accounts/invitation_closed.html", {
        "invitation": invitation, "reason": reason, "message": invitations.closed_message(reason),
    }, status=410)


@never_cache
@sensitive_variables("token")
@sensitive_post_parameters("password1", "password2")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's link: the new member creates their account and is logged in to the seller
    desk. Someone already signed in is asked to log out first: no existing account joins a store
    by a click."""
    invitation = invitations.invitation_by_token(token)
    if invitation is None:
        raise Http404(_("No such invitation."))
    if request.user.is_authenticated:
        return render(request, "accounts/invitation_signed_in.html", {"invitation": invitation},
                      status=403 if request.method == "POST" else 200)
    reason = invitations.invitation_closed_reason(invitation)
    if reason is not None:
        return _closed(request, invitation, reason)
    form = InvitationAcceptForm(request.POST if request.method == "POST" else None, invitation=invitation)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = invitations.store_invitation_accept(
                    token=token, username=data["username"], display_name=data["display_name"],
                    password=data["password1"], language=translation.get_language())
            except invitations.InvitationClosed as closed:
                return _closed(request, invitation, closed.reason)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # a new session key
                messages.success(request, _("Welcome to %(store)s. This is your store's dispute desk.")
                                 % {"store": invitation.store.name})
                return redirect("disputes:seller_desk")
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation, "form": form},
                  status=status)


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
