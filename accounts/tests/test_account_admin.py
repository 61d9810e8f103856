"""Accounts in the admin (issue 14): the user page shows the display name and the e-mail
choices; a person staff create logs in without a verification e-mail (staff vouch for the
address they typed); allauth's e-mail addresses: support agents and supervisors see them,
only a supervisor marks one verified."""
import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory, StaffFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:account_emailaddress_changelist")


def staff_client(*, superuser=False, group=None) -> Client:
    staff = StaffFactory(is_superuser=superuser)
    if group:
        staff.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(staff)
    return client


def test_the_user_page_shows_the_display_name_and_the_email_choices():
    buyer = BuyerFactory(display_name="Anna from Tver", email_digest=False)
    admin = staff_client(superuser=True)

    page = admin.get(reverse("admin:accounts_user_change", args=[buyer.pk])).content.decode()
    listed = admin.get(reverse("admin:accounts_user_changelist")).content.decode()

    assert 'name="display_name" value="Anna from Tver"' in page
    for field in ("email_reminders", "email_messages", "email_outcomes"):
        assert f'name="{field}" id="id_{field}" checked' in page
    assert 'name="email_digest" id="id_email_digest">' in page
    assert "Anna from Tver" in listed


def test_a_user_staff_create_logs_in_without_a_verification_email():
    admin = staff_client(superuser=True)

    created = admin.post(reverse("admin:accounts_user_add"), {
        "username": "newseller", "usable_password": "true", "password1": "violet-harbour-2209",
        "password2": "violet-harbour-2209", "email": "newseller@example.org", "display_name": "New seller",
        "country": "RU", "language": "ru"})

    assert created.status_code == 302
    user = User.objects.get(username="newseller")
    assert (user.email, user.display_name, user.language) == ("newseller@example.org", "New seller", "ru")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("newseller@example.org", True, True)]
    person = Client()
    logged_in = person.post(reverse("account_login"), {"login": "newseller@example.org",
                                                       "password": "violet-harbour-2209"})
    assert logged_in.status_code == 302
    assert int(person.session["_auth_user_id"]) == user.pk
    assert mail.outbox == []


def test_support_agents_see_addresses_and_only_a_supervisor_marks_one_verified():
    buyer = BuyerFactory(email="waiting@example.org", email_verified=False)
    address = EmailAddress.objects.create(user=buyer, email="waiting@example.org", primary=True, verified=False)
    agent = staff_client(group="Support agent")
    supervisor = staff_client(group="Supervisor")
    nobody = staff_client()
    action = {"action": "make_verified", "_selected_action": [address.pk]}

    seen = agent.get(CHANGELIST, {"q": "waiting@"})
    refused = agent.post(CHANGELIST, action)

    assert seen.status_code == 200 and "waiting@example.org" in seen.content.decode()
    assert 'value="make_verified"' not in seen.content.decode()
    assert refused.status_code == 200  # the admin's "no action": nothing done
    address.refresh_from_db()
    assert address.verified is False
    assert nobody.get(CHANGELIST).status_code == 403

    assert 'value="make_verified"' in supervisor.get(CHANGELIST).content.decode()
    done = supervisor.post(CHANGELIST, action, follow=True)

    assert "Marked waiting@example.org as verified." in done.content.decode()
    address.refresh_from_db()
    assert address.verified is True
    assert supervisor.post(reverse("admin:account_emailaddress_delete", args=[address.pk]),
                           {"post": "yes"}).status_code == 403
    assert EmailAddress.objects.filter(pk=address.pk).exists()
