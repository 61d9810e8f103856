"""Store invitations: a store's member invites an address from the team page (/seller/team/); the
e-mail's link (/accounts/invitation/<token>/) creates the account, a member of that store, once,
before it expires, and logs them in. Refusals say why and write nothing."""
import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.invitations import store_invitation_accept, store_invitation_create, token_hash
from accounts.models import StoreInvitation, User
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.tests.factories import StoreFactory
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.testing import together

pytestmark = pytest.mark.django_db

TEAM = reverse("team:index")
INVITE = reverse("team:invite")
DESK = reverse("disputes:seller_desk")
PASSWORD = "quiet-harbour-4821"
# Session, user, store (the header), members, invitations with their inviters, notifications' count.
TEAM_PAGE_QUERIES = 7
LINK = re.compile(r"http://[^\s\"<]+/accounts/invitation/([A-Za-z0-9_-]{43})/")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite(seller, email: str = "maria@example.org", **extra) -> tuple[StoreInvitation, str]:
    """``seller`` invites ``email`` through the page; returns the invitation and its link's token
    (read from the e-mail: the only place it exists)."""
    sent_before = len(mail.outbox)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = signed_in(seller).post(INVITE, {"email": email}, **extra)
    assert (response.status_code, response["Location"]) == (302, TEAM), response.content.decode()[:2000]
    assert len(mail.outbox) == sent_before + 1
    token = LINK.search(mail.outbox[-1].body).group(1)
    return StoreInvitation.objects.get(token_hash=token_hash(token)), token


def accept_url(token: str) -> str:
    return reverse("accounts:invitation_accept", args=[token])


def account_form(**changes) -> dict:
    return {"username": "maria", "display_name": "Maria, support", "password1": PASSWORD, "password2": PASSWORD,
            **changes}


def counts() -> tuple[int, int, int]:
    return (User.objects.count(), EmailAddress.objects.count(),
            StoreInvitation.objects.filter(accepted_at__isnull=False).count())


@pytest.fixture
def seller():
    return SellerFactory(display_name="Oleg", language="en")


# --- the team page -----------------------------------------------------------------------------


def test_the_team_page_lists_the_store_s_members_and_pending_invitations_only(seller):
    colleague = SellerFactory(store=seller.store, username="colleague")
    SellerFactory(username="elsewhere")  # another store's
    User.objects.create(username=f"api#{seller.store_id}", store=seller.store, is_api_account=True)
    pending, _token = invite(seller, "new@example.org")
    invite(seller, "gone@example.org")
    StoreInvitation.objects.filter(email="gone@example.org").update(revoked_at=timezone.now())
    invite(seller, "late@example.org")
    StoreInvitation.objects.filter(email="late@example.org").update(
        created_at=timezone.now() - timedelta(days=8), expires_at=timezone.now() - timedelta(seconds=1))
    invite(SellerFactory(), "theirs@example.org")

    response = signed_in(seller).get(TEAM)

    assert response.status_code == 200
    assert [m.username for m in response.context["members"]] == sorted([seller.username, colleague.username])
    assert [i.email for i in response.context["invitations"]] == ["new@example.org"]
    html = response.content.decode()
    assert "Oleg" in html and "elsewhere" not in html and "theirs@example.org" not in html
    assert reverse("team:revoke", args=[pending.pk]) in html


def test_the_seller_navigation_links_to_the_team_page(seller):
    assert f'href="{TEAM}"' in signed_in(seller).get(DESK).content.decode()
    assert f'href="{TEAM}"' not in signed_in(BuyerFactory()).get(reverse("catalog:product_list")).content.decode()


@pytest.mark.parametrize("factory", [BuyerFactory, StaffFactory])
def test_a_buyer_or_staff_gets_403_on_the_team_pages_and_nothing_is_sent(factory):
    client = signed_in(factory())

    assert client.get(TEAM).status_code == 403
    assert client.post(INVITE, {"email": "x@example.org"}).status_code == 403
    assert StoreInvitation.objects.count() == 0 and mail.outbox == []


def test_the_team_page_s_queries_stay_flat(seller, django_assert_max_num_queries):
    """Members and invitations: one query each, however many."""
    client = signed_in(seller)
    for n in range(2):
        invite(seller, f"first{n}@example.org")
    with django_assert_max_num_queries(TEAM_PAGE_QUERIES):
        assert client.get(TEAM).status_code == 200
    for n in range(8):
        SellerFactory(store=seller.store)
        invite(seller, f"more{n}@example.org")
    with django_assert_max_num_queries(TEAM_PAGE_QUERIES):
        assert client.get(TEAM).status_code == 200


# --- inviting ----------------------------------------------------------------------------------


def test_an_invitation_is_stored_hashed_and_e_mailed_with_text_and_html_parts(seller):
    invitation, token = invite(seller, "Maria@Example.ORG")

    assert (invitation.store, invitation.invited_by, invitation.email) == (seller.store, seller, "maria@example.org")  # kept lower-cased, as allauth keeps addresses
    assert invitation.expires_at - invitation.created_at == timedelta(days=settings.STORE_INVITATION_DAYS)
    assert invitation.token_hash == token_hash(token) and token not in invitation.token_hash
    message = mail.outbox[-1]
    assert message.to == ["maria@example.org"]
    assert message.subject == f"Oleg invites you to join {seller.store.name} on the returns portal"
    url = f"{settings.SITE_URL.rstrip('/')}{accept_url(token)}"
    assert url in message.body and "The link works once, until" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{url}"' in html and ">Accept the invitation</a>" in html
    assert "<img" not in html and "<link" not in html and "@import" not in html


def test_the_e_mail_is_in_the_inviter_s_language(seller):
    seller.language = "ru"
    seller.save(update_fields=["language"])

    invite(seller)

    message = mail.outbox[-1]
    assert message.subject == f"Oleg приглашает вас в магазин {seller.store.name} на портале возвратов"
    assert "Ссылка действует один раз, до" in message.body
    html = message.alternatives[0][0]
    assert '<html lang="ru">' in html and "Принять приглашение" in html


def test_the_e_mail_goes_out_only_when_the_invitation_is_committed(seller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        store_invitation_create(invited_by=seller, email="maria@example.org")
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(("email", "message"), [
    ("not-an-address", "Enter a valid email address."),
    ("", "This field is required."),
])
def test_an_invalid_address_is_a_422_and_nothing_is_written(seller, email, message):
    response = signed_in(seller).post(INVITE, {"email": email})

    assert response.status_code == 422
    assert message in response.content.decode()
    assert StoreInvitation.objects.count() == 0 and mail.outbox == []


def test_an_address_of_a_member_of_the_store_is_refused(seller):
    SellerFactory(store=seller.store, email="member@example.org")

    response = signed_in(seller).post(INVITE, {"email": "MEMBER@example.org"})

    assert response.status_code == 422
    assert "member@example.org is already a member of your store." in response.content.decode()
    assert StoreInvitation.objects.count() == 0 and mail.outbox == []


@pytest.mark.parametrize("holder", ["account", "added_address"])
def test_an_address_of_an_existing_account_is_refused_with_a_word_about_support(seller, holder):
    buyer = BuyerFactory(email="anna@example.org")
    if holder == "added_address":
        buyer.email = "anna.primary@example.org"
        buyer.save(update_fields=["email"])
        EmailAddress.objects.filter(user=buyer).update(email="anna@example.org")

    response = signed_in(seller).post(INVITE, {"email": "Anna@example.org"})

    assert response.status_code == 422
    assert "already belongs to an account on the portal" in response.content.decode()
    assert "ask the marketplace&#x27;s support" in response.content.decode()
    assert StoreInvitation.objects.count() == 0 and mail.outbox == []
    assert User.objects.get(pk=buyer.pk).store_id is None


def test_a_second_invitation_to_a_pending_address_is_refused_until_the_first_is_revoked(seller):
    first, _token = invite(seller)

    response = signed_in(seller).post(INVITE, {"email": "maria@example.org"})

    assert response.status_code == 422
    assert "maria@example.org has already been invited, until" in response.content.decode()
    assert StoreInvitation.objects.count() == 1 and len(mail.outbox) == 1
    signed_in(seller).post(reverse("team:revoke", args=[first.pk]))
    invite(seller)
    assert StoreInvitation.objects.count() == 2


def test_another_store_may_invite_the_same_address(seller):
    invite(seller)
    invite(SellerFactory())
    assert StoreInvitation.objects.count() == 2


def test_invitations_are_rate_limited_per_member(seller, settings):
    settings.RATE_LIMIT_INVITATIONS = "2/hour"
    cache.clear()
    try:
        invite(seller, "one@example.org")
        invite(seller, "two@example.org")

        response = signed_in(seller).post(INVITE, {"email": "three@example.org"})

        assert response.status_code == 429
        assert "You have sent as many store invitations as allowed for now (2)." in response.content.decode()
        assert StoreInvitation.objects.count() == 2 and len(mail.outbox) == 2
        invite(SellerFactory(store=seller.store), "three@example.org")  # a colleague counts on their own
    finally:
        cache.clear()


# --- revoking ----------------------------------------------------------------------------------


def test_revoking_a_pending_invitation_stops_its_link(seller):
    invitation, token = invite(seller)
    client = signed_in(seller)

    response = client.post(reverse("team:revoke", args=[invitation.pk]))

    assert (response.status_code, response["Location"]) == (302, TEAM)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and invitation.revoked_by == seller
    again = client.post(reverse("team:revoke", args=[invitation.pk]))
    assert again.status_code == 302
    assert "was already revoked" in client.get(TEAM).content.decode()

    page = Client().get(accept_url(token))
    assert page.status_code == 410
    assert "The store has withdrawn this invitation." in page.content.decode()
    before = counts()
    assert Client().post(accept_url(token), account_form()).status_code == 410
    assert counts() == before


def test_another_store_can_neither_see_nor_revoke_an_invitation(seller):
    invitation, _token = invite(seller)
    other = signed_in(SellerFactory())

    assert "maria@example.org" not in other.get(TEAM).content.decode()
    assert other.post(reverse("team:revoke", args=[invitation.pk])).status_code == 404
    assert other.get(reverse("team:revoke", args=[invitation.pk])).status_code == 405
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_an_accepted_invitation_cannot_be_revoked(seller):
    invitation, token = invite(seller)
    Client().post(accept_url(token), account_form())
    client = signed_in(seller)

    client.post(reverse("team:revoke", args=[invitation.pk]))

    invitation.refresh_from_db()
    assert invitation.revoked_at is None and invitation.accepted_at is not None
    assert "The invitation to maria@example.org has already been accepted." in client.get(TEAM).content.decode()


# --- accepting ---------------------------------------------------------------------------------


def test_an_accepted_invitation_makes_a_member_of_the_store_who_is_logged_in_to_the_desk(seller):
    invitation, token = invite(seller)
    client = Client()
    page = client.get(accept_url(token))
    assert page.status_code == 200
    assert f"Join {seller.store.name}" in page.content.decode()
    assert "maria@example.org" in page.content.decode()
    session_before = client.session.session_key

    response = client.post(accept_url(token), account_form(username="Maria"))

    assert (response.status_code, response["Location"]) == (302, DESK)
    member = User.objects.get(username="maria")
    assert (member.store, member.email, member.display_name, member.is_seller) == (
        seller.store, "maria@example.org", "Maria, support", True)
    assert member.check_password(PASSWORD)
    assert EmailAddress.objects.filter(user=member, email="maria@example.org", verified=True, primary=True).exists()
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.revoked_at) == (member, None)
    assert invitation.accepted_at is not None
    assert client.session.session_key != session_before  # the session is cycled at login
    assert int(client.session["_auth_user_id"]) == member.pk
    desk = client.get(DESK)
    assert desk.status_code == 200
    assert f"Welcome to {seller.store.name}." in desk.content.decode()
    # They come back another day by their username or address, as everyone does.
    again = Client().post(reverse("account_login"), {"login": "maria@example.org", "password": PASSWORD})
    assert (again.status_code, again.wsgi_request.user) == (302, member)
    assert member in signed_in(seller).get(TEAM).context["members"]


def test_the_same_link_used_again_is_refused_and_creates_nothing(seller):
    _invitation, token = invite(seller)
    Client().post(accept_url(token), account_form())
    before = counts()

    page = Client().get(accept_url(token))
    again = Client().post(accept_url(token), account_form(username="maria2"))

    assert page.status_code == again.status_code == 410
    assert "This invitation has already been used to create an account." in again.content.decode()
    assert counts() == before
    assert not User.objects.filter(username="maria2").exists()


def test_an_expired_invitation_is_refused_and_creates_nothing(seller, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _invitation, token = invite(seller)
    time_machine.shift(timedelta(days=settings.STORE_INVITATION_DAYS, seconds=-1))
    assert Client().get(accept_url(token)).status_code == 200
    time_machine.shift(timedelta(seconds=1))
    before = counts()

    page = Client().get(accept_url(token))
    response = Client().post(accept_url(token), account_form())

    assert page.status_code == response.status_code == 410
    assert "This invitation has expired. Ask the store to invite you again." in response.content.decode()
    assert counts() == before
    # And it no longer holds the address: the store may invite it again.
    invite(seller)


def test_an_invitation_whose_address_became_an_account_is_refused(seller):
    _invitation, token = invite(seller)
    BuyerFactory(email="maria@example.org")
    before = counts()

    response = Client().post(accept_url(token), account_form())

    assert response.status_code == 410
    assert "now belongs to an account" in response.content.decode()
    assert counts() == before


def test_an_unknown_token_is_a_404(seller):
    invite(seller)
    for token in ["A" * 43, "short", "x" * 300, "../../admin"]:
        assert Client().get(f"/accounts/invitation/{token}/").status_code == 404
        assert Client().post(f"/accounts/invitation/{token}/", account_form()).status_code == 404
    assert User.objects.filter(username="maria").count() == 0


@pytest.mark.parametrize("factory", [BuyerFactory, SellerFactory, StaffFactory])
def test_a_signed_in_visitor_is_asked_to_log_out_and_no_account_joins_the_store(seller, factory):
    _invitation, token = invite(seller)
    person = factory()
    client = signed_in(person)
    before = counts()

    page = client.get(accept_url(token))
    response = client.post(accept_url(token), account_form())

    assert page.status_code == 200 and "Log out first" in page.content.decode()
    assert response.status_code == 403
    assert counts() == before
    person.refresh_from_db()
    assert person.store_id == (person.store_id if factory is SellerFactory else None)
    assert int(client.session["_auth_user_id"]) == person.pk


@pytest.mark.parametrize(("changes", "error"), [
    ({"password2": "another-harbour-4821"}, "The two passwords are not the same."),
    ({"password1": "12345678", "password2": "12345678"}, "This password is too common."),
    ({"password1": "maria-example", "password2": "maria-example"}, "The password is too similar"),
    ({"username": "bad name!"}, "Enter a valid username."),
    ({"username": ""}, "This field is required."),
    ({"username": "taken"}, "A user with that username already exists."),
], ids=["mismatch", "common", "similar", "bad-username", "no-username", "taken"])
def test_a_refused_account_form_is_a_422_and_the_invitation_stays_open(seller, changes, error):
    BuyerFactory(username="taken")
    invitation, token = invite(seller)
    before = counts()

    response = Client().post(accept_url(token), account_form(**changes))

    assert response.status_code == 422
    assert error in response.content.decode()
    assert counts() == before
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert Client().post(accept_url(token), account_form()).status_code == 302


def test_the_accept_page_s_queries_are_few(seller, django_assert_max_num_queries):
    _invitation, token = invite(seller)
    with django_assert_max_num_queries(8):
        assert Client().get(accept_url(token)).status_code == 200


def test_the_service_refuses_a_taken_username_even_when_the_form_was_passed(seller):
    """A sign-up that takes the name between the form and the service: refused, nothing written."""
    _invitation, token = invite(seller)
    BuyerFactory(username="maria")
    before = counts()

    with pytest.raises(DomainError) as refused:
        store_invitation_accept(token=token, username="maria", display_name="", password=PASSWORD)

    assert refused.value.code == ErrorCode.NAME_TAKEN
    assert counts() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_acceptances_at_once_make_one_account():
    seller = SellerFactory(store=StoreFactory())
    invitation = store_invitation_create(invited_by=seller, email="maria@example.org", language="en")
    token = LINK.search(mail.outbox[-1].body).group(1)

    def accept(username):
        return lambda: store_invitation_accept(token=token, username=username, display_name="", password=PASSWORD)

    outcomes = together(accept("maria_one"), accept("maria_two"))

    kinds = sorted(kind for kind, _value in outcomes)
    assert kinds == ["ok", "refused"], outcomes
    assert [value for kind, value in outcomes if kind == "refused"] == [ErrorCode.INVITATION_CLOSED]
    members = User.objects.filter(email__iexact="maria@example.org")
    assert members.count() == 1
    invitation.refresh_from_db()
    assert invitation.accepted_by == members.get()
