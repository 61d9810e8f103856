"""Login lockout (issue 12): django-axes with its real backend and middleware, on the site's
and the admin's login pages. After AXES_FAILURE_LIMIT wrong passwords for one account from one
address, that account is refused from that address, even with the right password, with a
clear message, HTTP 429 and Retry-After, until the cool-off has passed since the last failure
or a supervisor unlocks it in the admin. A successful log-in clears the count."""
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from accounts.lockout import client_ip_address, lockout_response
from accounts.tests.factories import BuyerFactory, StaffFactory

pytestmark = pytest.mark.django_db

SITE_LOGIN = reverse("account_login")
ADMIN_LOGIN = reverse("admin:login")
ADMIN_INDEX = reverse("admin:index")
PASSWORD = "secret-pass-123"  # the factories' password
LIMIT = settings.AXES_FAILURE_LIMIT
COOL_OFF = settings.AXES_COOLOFF_TIME
ATTEMPTS = reverse("admin:axes_accessattempt_changelist")
MESSAGE_EN = (f"Too many failed attempts to log in to this account. Logging in from your address is "
              f"paused for {COOL_OFF.seconds // 60} minutes; try again then, or ask support to unlock it.")
MESSAGE_RU = (f"Слишком много неудачных попыток войти в эту учётную запись. Вход с вашего адреса "
              f"приостановлен на {COOL_OFF.seconds // 60} минут; попробуйте позже или попросите "
              f"поддержку снять блокировку.")
WRONG_PASSWORD_EN = "The username and/or password you specified are not correct."


def log_in(client, username, password, *, url=SITE_LOGIN, **extra):
    """The site's form (allauth) has one "login" field for a username or an e-mail address."""
    if url == ADMIN_LOGIN:
        data = {"username": username, "password": password, "next": ADMIN_INDEX}
    else:
        data = {"login": username, "password": password}
    return client.post(url, data, **extra)


def signed_in_as(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def fail(client, username, times, **kwargs):
    return [log_in(client, username, "wrong-password", **kwargs) for _ in range(times)]


@pytest.fixture
def clock(time_machine):
    time_machine.move_to("2026-11-30 10:00:00+03:00", tick=False)
    return time_machine


def test_the_settings_the_tests_rely_on():
    assert (LIMIT, COOL_OFF) == (5, timedelta(minutes=15))
    assert settings.AXES_ENABLED is True
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_one_failure_fewer_than_the_limit_then_the_right_password_logs_in(client, clock):
    buyer = BuyerFactory()

    failures = fail(client, buyer.username, LIMIT - 1)
    response = log_in(client, buyer.username, PASSWORD)

    assert [r.status_code for r in failures] == [200] * (LIMIT - 1)
    assert all(WRONG_PASSWORD_EN in r.content.decode() for r in failures)
    assert response.status_code == 302
    assert signed_in_as(client) == buyer.pk


def test_at_the_limit_the_right_password_is_refused_with_the_message_and_429(client, clock):
    buyer = BuyerFactory()

    failures = fail(client, buyer.username, LIMIT)
    response = log_in(client, buyer.username, PASSWORD)

    assert [r.status_code for r in failures] == [200] * (LIMIT - 1) + [429]
    for locked in (failures[-1], response):
        assert locked.status_code == 429
        assert locked["Retry-After"] == str(int(COOL_OFF.total_seconds()))
        content = locked.content.decode()
        assert MESSAGE_EN in content
        assert WRONG_PASSWORD_EN not in content
        # The site's own login page, with its form: the message is where the form's errors go.
        assert '<div class="message message--error" role="alert">' in content
        assert 'name="password"' in content
    assert signed_in_as(client) is None
    # The example: 30 wrong passwords, then the right one.
    fail(client, buyer.username, 30 - LIMIT)
    assert log_in(client, buyer.username, PASSWORD).status_code == 429
    assert signed_in_as(client) is None


def test_the_message_is_in_the_readers_language(client, clock):
    buyer = BuyerFactory()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"

    fail(client, buyer.username, LIMIT)
    response = log_in(client, buyer.username, PASSWORD)

    assert response.status_code == 429
    assert MESSAGE_RU in response.content.decode()
    assert MESSAGE_EN not in response.content.decode()


def test_the_cool_off_runs_from_the_last_failure_then_the_right_password_works(client, clock):
    buyer = BuyerFactory()
    fail(client, buyer.username, LIMIT)

    clock.shift(COOL_OFF - timedelta(seconds=1))
    still_locked = log_in(client, buyer.username, PASSWORD)  # a try while locked starts the cool-off again
    clock.shift(COOL_OFF - timedelta(seconds=1))
    locked_again = log_in(client, buyer.username, PASSWORD)
    clock.shift(COOL_OFF + timedelta(seconds=1))
    after = log_in(client, buyer.username, PASSWORD)

    assert (still_locked.status_code, locked_again.status_code, after.status_code) == (429, 429, 302)
    assert signed_in_as(client) == buyer.pk


def test_the_lock_is_on_the_account_from_that_address_only(client, clock):
    """Locked by the pair (username, address): a stranger cannot lock a buyer out of their
    account from elsewhere, and an office behind one address is not locked as a whole."""
    buyer, neighbour = BuyerFactory(), BuyerFactory()
    fail(client, buyer.username, LIMIT)

    other_account_same_address = log_in(Client(), neighbour.username, PASSWORD)
    same_account_other_address = log_in(Client(), buyer.username, PASSWORD, REMOTE_ADDR="203.0.113.9")
    same_account_same_address = log_in(Client(), buyer.username, PASSWORD)

    assert other_account_same_address.status_code == 302
    assert same_account_other_address.status_code == 302
    assert same_account_same_address.status_code == 429


def test_the_admin_login_locks_the_same_way_in_the_admins_look(client, clock):
    staff = StaffFactory(is_superuser=True)

    failures = fail(client, staff.username, LIMIT - 1, url=ADMIN_LOGIN)
    locked = fail(client, staff.username, 1, url=ADMIN_LOGIN)[0]
    right = log_in(client, staff.username, PASSWORD, url=ADMIN_LOGIN)

    assert [r.status_code for r in failures] == [200] * (LIMIT - 1)
    assert (locked.status_code, right.status_code) == (429, 429)
    content = right.content.decode()
    assert f'<p class="errornote">\n    {MESSAGE_EN}\n</p>' in content
    assert "Returns portal administration" in content  # the admin's page, not the site's
    assert right["Retry-After"] == str(int(COOL_OFF.total_seconds()))
    assert signed_in_as(client) is None
    # The site's login shares the count: same account, same address.
    assert log_in(client, staff.username, PASSWORD).status_code == 429


def test_a_success_clears_the_count(client, clock):
    buyer = BuyerFactory()
    fail(client, buyer.username, LIMIT - 1)
    assert log_in(client, buyer.username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=buyer.username).exists()
    client.post(reverse("account_logout"))

    failures = fail(client, buyer.username, LIMIT - 1)
    response = log_in(client, buyer.username, PASSWORD)

    assert [r.status_code for r in failures] == [200] * (LIMIT - 1)
    assert response.status_code == 302
    assert signed_in_as(client) == buyer.pk


def staff_in(group: str):
    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name=group))
    return staff


def test_a_supervisor_unlocks_the_account_in_the_admin(client, clock):
    buyer = BuyerFactory()
    fail(client, buyer.username, LIMIT)
    attempt = AccessAttempt.objects.get(username=buyer.username)
    supervisor = Client()
    supervisor.force_login(staff_in("Supervisor"))

    listed = supervisor.get(ATTEMPTS, {"q": buyer.username})
    unlocked = supervisor.post(ATTEMPTS, {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True)

    assert listed.status_code == 200
    assert buyer.username in listed.content.decode()
    assert "Locked out" in listed.content.decode()
    assert unlocked.status_code == 200
    assert "Unlocked 1 account." in unlocked.content.decode()
    assert not AccessAttempt.objects.filter(username=buyer.username).exists()
    assert log_in(client, buyer.username, PASSWORD).status_code == 302
    assert signed_in_as(client) == buyer.pk


def test_deleting_the_attempt_in_the_admin_unlocks_too(client, clock):
    buyer = BuyerFactory()
    fail(client, buyer.username, LIMIT)
    attempt = AccessAttempt.objects.get(username=buyer.username)
    supervisor = Client()
    supervisor.force_login(staff_in("Supervisor"))

    deleted = supervisor.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert deleted.status_code == 302
    assert log_in(client, buyer.username, PASSWORD).status_code == 302


def test_a_support_agent_sees_lockouts_but_cannot_unlock(client, clock):
    buyer = BuyerFactory()
    fail(client, buyer.username, LIMIT)
    attempt = AccessAttempt.objects.get(username=buyer.username)
    agent = Client()
    agent.force_login(staff_in("Support agent"))
    nobody = Client()
    nobody.force_login(StaffFactory())

    listed = agent.get(ATTEMPTS)
    refused_action = agent.post(ATTEMPTS, {"action": "unlock", "_selected_action": [attempt.pk]})
    refused_delete = agent.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert listed.status_code == 200 and buyer.username in listed.content.decode()
    assert 'value="unlock"' not in listed.content.decode()
    assert refused_action.status_code == 200  # the admin's "no action selected": nothing done
    assert refused_delete.status_code == 403
    assert nobody.get(ATTEMPTS).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk, failures_since_start=LIMIT).exists()
    assert log_in(client, buyer.username, PASSWORD).status_code == 429


def test_the_admin_front_page_links_the_lockouts_for_superusers_and_supervisors(client):
    superuser = Client()
    superuser.force_login(StaffFactory(is_superuser=True))
    supervisor = Client()
    supervisor.force_login(staff_in("Supervisor"))

    for staff in (superuser, supervisor):
        assert f'href="{ATTEMPTS}"' in staff.get(ADMIN_INDEX).content.decode()
    # The log of every log-in is off (personal data without a use here): not in the admin.
    assert "axes_accesslog" not in superuser.get(ADMIN_INDEX).content.decode()


def test_behind_proxies_the_address_is_the_one_the_api_throttles_by(rf, settings):
    """One rule for the client's address: NUM_PROXIES, as the API's throttling reads it."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    request = rf.post(SITE_LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    assert client_ip_address(request) == "203.0.113.7"
    spoofed = rf.post(SITE_LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip_address(spoofed) == "10.0.0.2"

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    assert client_ip_address(request) == "10.0.0.2"


def test_behind_a_proxy_two_buyers_sharing_it_are_told_apart(client, clock, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    buyer = BuyerFactory()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    fail(client, buyer.username, LIMIT, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    elsewhere = log_in(Client(), buyer.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy)
    same = log_in(Client(), buyer.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)

    assert (elsewhere.status_code, same.status_code) == (302, 429)
    assert AccessAttempt.objects.get(username=buyer.username).ip_address == "198.51.100.1"


def test_a_lockout_outside_the_login_pages_gets_the_sites_lockout_page(rf):
    """Any other place that checks a password (none today) still answers 429 with the message."""
    request = rf.post("/elsewhere/")
    request.user, request.session = AnonymousUser(), SessionStore()
    response = lockout_response(request, HttpResponse("refused"), {"username": "someone"})

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert MESSAGE_EN in response.content.decode()
    assert "<h1>Logging in is paused</h1>" in response.content.decode()


def test_by_email_address_and_by_username_count_towards_one_lock(client, clock):
    """One count per account, whichever is typed: four wrong passwords by username and one by
    the e-mail address (any case) lock the account, by either, the right password included."""
    buyer = BuyerFactory(username="anna", email="anna@example.org")

    fail(client, "anna", LIMIT - 1)
    locked = fail(client, "Anna@Example.org", 1)[0]
    by_email = log_in(client, "anna@example.org", PASSWORD)
    by_username = log_in(client, "ANNA", PASSWORD)

    assert [r.status_code for r in (locked, by_email, by_username)] == [429, 429, 429]
    assert MESSAGE_EN in by_email.content.decode()
    assert by_email["Retry-After"] == str(int(COOL_OFF.total_seconds()))
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [("anna", LIMIT + 2)]
    assert signed_in_as(client) is None
    # The admin's login shares the count too (by username there).
    assert log_in(client, "anna", PASSWORD, url=ADMIN_LOGIN).status_code == 429
    assert buyer.pk  # the account itself is untouched: another address logs in
    assert log_in(Client(), "anna@example.org", PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 302


def test_by_email_address_alone_locks_and_a_success_by_username_clears_it(client, clock):
    buyer = BuyerFactory(username="boris", email="boris@example.org")

    fail(client, "boris@example.org", LIMIT - 1)
    assert log_in(client, "boris", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()
    client.post(reverse("account_logout"))
    fail(client, "boris@example.org", LIMIT)

    assert log_in(client, "boris", PASSWORD).status_code == 429
    assert signed_in_as(client) is None
    assert buyer.pk


def test_an_unknown_login_is_counted_as_typed(client, clock):
    fail(client, "Nobody@Example.org", LIMIT)

    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["nobody@example.org"]


def test_reauthentication_is_locked_out_with_the_same_count(client, clock):
    buyer = BuyerFactory(username="clara", email="clara@example.org")
    client.force_login(buyer)
    reauthenticate = reverse("account_reauthenticate")

    failures = [client.post(reauthenticate, {"password": "wrong-password"}) for _ in range(LIMIT)]
    right = client.post(reauthenticate, {"password": PASSWORD})

    assert [r.status_code for r in failures] == [200] * (LIMIT - 1) + [429]
    assert "Incorrect password." in failures[0].content.decode()
    assert right.status_code == 429
    assert MESSAGE_EN in right.content.decode()
    assert 'name="password"' in right.content.decode()
    assert right["Retry-After"] == str(int(COOL_OFF.total_seconds()))
    # The same count as the login form: the login is locked from this address too.
    assert log_in(Client(), "clara@example.org", PASSWORD).status_code == 429
