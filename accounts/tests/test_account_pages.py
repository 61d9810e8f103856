"""Every account page a person can reach (django-allauth's, in templates/account/) is the
portal's page: base layout, its form classes, English and Russian, the header's "Log in" and
"Sign up" for visitors; a reset link that does not work says so; each page's queries stay flat
as accounts grow."""
import pytest
from django.conf import settings
from django.urls import reverse

from accounts.tests.factories import BuyerFactory

pytestmark = pytest.mark.django_db

# name, args, (English heading, Russian heading), status
VISITOR_PAGES = [
    ("account_login", [], ("Log in", "Войти"), 200),
    ("account_signup", [], ("Create an account", "Создать учётную запись"), 200),
    ("account_email_verification_sent", [], ("Confirm your e-mail address", "Подтвердите адрес электронной почты"), 200),
    ("account_reset_password", [], ("Reset your password", "Сбросить пароль"), 200),
    ("account_reset_password_done", [], ("Check your e-mail", "Проверьте почту"), 200),
    ("account_reset_password_from_key", ["zz", "not-a-real-key"], ("This link does not work", "Эта ссылка не работает"), 200),
    ("account_reset_password_from_key_done", [], ("Your password is changed", "Пароль изменён"), 200),
    ("account_inactive", [], ("This account is closed", "Эта учётная запись закрыта"), 200),
    ("account_confirm_email", ["not-a-real-key"], ("This link does not work", "Эта ссылка не работает"), 404),
]
MEMBER_PAGES = [
    ("account_email", [], ("Your e-mail address", "Ваш адрес электронной почты"), 200),
    ("account_change_password", [], ("Change password", "Сменить пароль"), 200),
    ("account_reauthenticate", [], ("Confirm it is you", "Подтвердите, что это вы"), 200),
    ("account_logout", [], ("Log out", "Выйти"), 200),
]


def url(name, args):
    if name == "account_reset_password_from_key":
        return reverse(name, kwargs={"uidb36": args[0], "key": args[1]})
    return reverse(name, args=args)


def check_page(response, heading, status):
    content = response.content.decode()
    assert response.status_code == status
    assert f"<h1>{heading}</h1>" in content
    assert '<header class="topbar">' in content  # the portal's layout
    assert "allauth" not in content.lower()  # none of allauth's own look


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize(("name", "args", "headings", "status"), VISITOR_PAGES, ids=[p[0] for p in VISITOR_PAGES])
def test_visitor_pages(client, name, args, headings, status, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    check_page(client.get(url(name, args)), headings[language == "ru"], status)


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize(("name", "args", "headings", "status"), MEMBER_PAGES, ids=[p[0] for p in MEMBER_PAGES])
def test_pages_of_someone_logged_in(client, name, args, headings, status, language):
    client.force_login(BuyerFactory(language=language))
    check_page(client.get(url(name, args)), headings[language == "ru"], status)


def test_the_login_page_offers_sign_up_and_a_forgotten_password(client):
    content = client.get(reverse("account_login")).content.decode()

    assert '<form method="post" action="/accounts/login/" class="stack">' in content
    assert '<input type="text" name="login"' in content and 'id="id_login"' in content
    assert f'<a href="{reverse("account_reset_password")}">Forgot your password?</a>' in content
    assert f'<a href="{reverse("account_signup")}">Create an account</a>' in content


def test_the_header_offers_log_in_and_sign_up_to_visitors_only(client):
    visitor = client.get(reverse("catalog:product_list")).content.decode()
    client.force_login(BuyerFactory())
    member = client.get(reverse("catalog:product_list")).content.decode()

    sign_up = f'<a class="button button--small" href="{reverse("account_signup")}">Sign up</a>'
    assert sign_up in visitor and ">Log in</a>" in visitor
    assert sign_up not in member and ">Log in</a>" not in member


def test_a_used_or_broken_reset_link_offers_a_new_one(client):
    response = client.get(url("account_reset_password_from_key", ["zz", "not-a-real-key"]))

    content = response.content.decode()
    assert "The password reset link has already been used, has expired, or is not complete." in content
    assert f'href="{reverse("account_reset_password")}">Ask for a new link</a>' in content
    assert 'name="password1"' not in content


def test_the_signup_form_shows_its_errors_in_the_form(client):
    BuyerFactory(username="taken", email="taken@example.org")
    response = client.post(reverse("account_signup"), {"username": "taken", "email": "not-an-address",
                                                       "password1": "short", "password2": "other"})

    content = response.content.decode()
    assert response.status_code == 200
    assert '<span class="field-error">Enter a valid email address.</span>' in content
    assert '<span class="field-error">A user with that username already exists.</span>' in content


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_visitor_pages_queries_stay_flat(client, django_assert_max_num_queries, name):
    with django_assert_max_num_queries(3):
        client.get(reverse(name))
    for n in range(30):
        BuyerFactory()
    with django_assert_max_num_queries(3):
        client.get(reverse(name))


@pytest.mark.parametrize("name", ["account_email", "account_change_password", "account_reauthenticate"])
def test_member_pages_queries_stay_flat(client, django_assert_max_num_queries, name):
    buyer = BuyerFactory()
    client.force_login(buyer)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse(name))
    for n in range(30):
        BuyerFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse(name))
