"""The Content-Security-Policy: its header on the pages, the admin and the API docs; nothing inline
in the templates for it to block; and the view browsers report violations to.

The browser tests (returns_portal/tests/browser/) load every journey's pages with the policy on and
fail on any violation."""
import io
import json
import logging
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import reverse

from accounts.tests.factories import StaffFactory
from returns_portal import csp_report as report_view

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "report-uri": "/csp-report/",
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src|nonce)=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in header.split(";"))


def inline_code(html: str) -> list[str]:
    return [m.group(0) for pattern in (INLINE_SCRIPT, INLINE_STYLE, HANDLER) for m in pattern.finditer(html)]


@pytest.fixture
def staff(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["catalog:product_list", "account_login", "admin:login", "api:docs"])
def test_pages_carry_the_policy_and_refuse_to_be_framed(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert directives(response) == POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert inline_code(response.content.decode()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["admin:index", "staff_dashboard", "staff_rules", "admin:disputes_dispute_changelist",
                                  "admin:accounts_user_changelist", "admin:catalog_product_add"])
def test_admin_pages_carry_the_policy_and_nothing_inline(staff, name):
    response = staff.get(reverse(name))
    assert response.status_code == 200
    assert directives(response) == POLICY
    assert inline_code(response.content.decode()) == []


def test_the_report_uri_is_the_report_view():
    assert reverse("csp_report") == settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"]


@pytest.mark.django_db
def test_the_api_docs_load_their_start_up_script_from_a_url(client):
    page = client.get(reverse("api:docs")).content.decode()
    assert '<script src="/api/docs/?script="></script>' in page
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


# --- the templates ---------------------------------------------------------------------------

def is_email(path: Path) -> bool:
    """An e-mail's HTML, not a page: mail programs need inline styles and no policy applies there
    (returns_portal/mail.py; the e-mail tests check it loads nothing)."""
    return "email" in path.relative_to(settings.BASE_DIR / "templates").parts[:-1] or \
        '{% extends "email/base.html" %}' in path.read_text()


TEMPLATES = sorted(path for path in (settings.BASE_DIR / "templates").rglob("*.html") if not is_email(path))
EMAIL_TEMPLATES = sorted(path for path in (settings.BASE_DIR / "templates").rglob("*.html") if is_email(path))


def test_the_templates_are_found():
    assert len(TEMPLATES) > 30
    assert settings.BASE_DIR / "templates" / "disputes" / "dispute_open.html" in TEMPLATES
    assert settings.BASE_DIR / "templates" / "notifications" / "unsubscribe.html" in TEMPLATES
    assert settings.BASE_DIR / "templates" / "notifications" / "email.html" in EMAIL_TEMPLATES
    assert settings.BASE_DIR / "templates" / "email" / "base.html" in EMAIL_TEMPLATES


@pytest.mark.parametrize("template", EMAIL_TEMPLATES, ids=lambda path: str(path.relative_to(settings.BASE_DIR)))
def test_no_email_template_has_a_script_or_an_event_handler(template: Path):
    """E-mails keep their inline styles, but never a script."""
    assert [found for found in inline_code(template.read_text()) if found != " style="] == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(settings.BASE_DIR)))
def test_no_template_has_inline_script_style_or_event_handler(template: Path):
    assert inline_code(template.read_text()) == []


def test_the_check_finds_each_kind_of_inline_code():
    assert inline_code('<script>x()</script><script src="/a.js"></script><script nonce="{{ n }}">y()</script>') == [
        "<script>"]
    assert inline_code('<style>p{}</style><p style="color: red"><a href="#" onclick="go()">') == [
        "<style", " style=", " onclick="]
    assert inline_code('<input data-onion="1" name="style"><p class="styled">') == []


def test_no_admin_hides_both_action_bars():
    """Django's change list writes a <style> element when a model admin shows its actions neither
    on top nor at the bottom: the policy would block it."""
    hiding = [type(model_admin).__name__ for model_admin in admin.site._registry.values()
              if not (model_admin.actions_on_top or model_admin.actions_on_bottom)]
    assert hiding == []


# --- the report view -------------------------------------------------------------------------

URL = "/csp-report/"
REPORT = {"csp-report": {
    "document-uri": "http://127.0.0.1:8000/disputes/1/", "referrer": "", "violated-directive": "script-src-elem",
    "effective-directive": "script-src-elem", "original-policy": "default-src 'self'", "disposition": "enforce",
    "blocked-uri": "inline", "line-number": 12, "source-file": "http://127.0.0.1:8000/disputes/1/",
    "status-code": 200, "script-sample": ""}}
REPORTING_API = [{"type": "csp-violation", "age": 10, "url": "http://127.0.0.1:8000/", "user_agent": "Chrome",
                  "body": {"documentURL": "http://127.0.0.1:8000/", "effectiveDirective": "img-src",
                           "blockedURL": "https://evil.example/x.png", "sourceFile": None, "lineNumber": None,
                           "disposition": "enforce", "statusCode": 200}},
                 {"type": "deprecation", "body": {"id": "x"}}]


@pytest.fixture
def browser(client):
    """A client that checks CSRF as a real browser's post would be checked."""
    client.handler.enforce_csrf_checks = True
    return client


def logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "returns_portal.csp"]


def test_a_report_uri_report_is_logged_as_a_warning_and_answered_204(browser, caplog):
    caplog.set_level(logging.WARNING, logger="returns_portal.csp")
    response = browser.post(URL, json.dumps(REPORT), content_type="application/csp-report")
    assert response.status_code == 204 and response.content == b""
    assert logged(caplog) == ["CSP violation: script-src-elem blocked inline on http://127.0.0.1:8000/disputes/1/ "
                              "(http://127.0.0.1:8000/disputes/1/:12)"]
    assert [r.levelno for r in caplog.records if r.name == "returns_portal.csp"] == [logging.WARNING]


def test_a_reporting_api_batch_logs_each_csp_violation(browser, caplog):
    caplog.set_level(logging.WARNING, logger="returns_portal.csp")
    response = browser.post(URL, json.dumps(REPORTING_API), content_type="application/reports+json")
    assert response.status_code == 204
    assert logged(caplog) == ["CSP violation: img-src blocked https://evil.example/x.png on http://127.0.0.1:8000/ (-:-)"]


def test_logged_values_are_shortened_and_lose_control_characters(browser, caplog):
    caplog.set_level(logging.WARNING, logger="returns_portal.csp")
    forged = {"csp-report": {"effective-directive": "script-src\nFAKE LOG LINE", "blocked-uri": "x" * 5000}}
    assert browser.post(URL, json.dumps(forged), content_type="application/csp-report").status_code == 204
    [line] = logged(caplog)
    assert "\n" not in line and "script-src?FAKE LOG LINE" in line
    assert "x" * report_view.MAX_VALUE_CHARS in line and "x" * (report_view.MAX_VALUE_CHARS + 1) not in line


def test_a_post_logs_a_few_reports_at_most(browser, caplog):
    caplog.set_level(logging.WARNING, logger="returns_portal.csp")
    batch = [REPORTING_API[0]] * 50
    assert browser.post(URL, json.dumps(batch), content_type="application/reports+json").status_code == 204
    assert len(logged(caplog)) == report_view.MAX_REPORTS_PER_POST


JUNK = [
    b"", b"not json", b"\xff\xfe\x00garbage", b"null", b"42", b'"csp-report"', b"[]", b"{}", b'{"csp-report": 1}',
    b'{"csp-report": []}', b'[{"type": "csp-violation"}]', b'[{"type": "csp-violation", "body": "x"}]', b"[1, 2]",
    b'{"csp-report": {"blocked-uri": ' + b"[" * 100_000,
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("body", JUNK, ids=range(len(JUNK)))
def test_junk_is_refused_with_a_4xx_and_nothing_logged(browser, caplog, body):
    caplog.set_level(logging.WARNING, logger="returns_portal.csp")
    response = browser.post(URL, body, content_type="application/csp-report")
    assert response.status_code in (400, 413)
    assert logged(caplog) == []


def test_a_report_over_the_cap_is_refused_413(browser, caplog):
    caplog.set_level(logging.WARNING, logger="returns_portal.csp")
    padded = {"csp-report": {**REPORT["csp-report"], "script-sample": "x" * report_view.MAX_REPORT_BYTES}}
    response = browser.post(URL, json.dumps(padded), content_type="application/csp-report")
    assert response.status_code == 413
    assert logged(caplog) == []


def test_a_report_without_a_content_length_is_still_capped(rf):
    """A chunked post declares no length: the view reads one byte past the cap, not the whole body."""
    body = json.dumps({"csp-report": {"blocked-uri": "x" * (2 * report_view.MAX_REPORT_BYTES)}}).encode()
    request = rf.post(URL, body, content_type="application/csp-report")
    del request.META["CONTENT_LENGTH"]
    request._stream = io.BytesIO(body)
    assert report_view.csp_report(request).status_code == 413


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_allowed(client, method):
    assert getattr(client, method)(URL).status_code == 405


@pytest.mark.parametrize("top", [0, 1, 3, 7, 11, 26, 240])
def test_column_chart_ticks_sit_where_the_style_sheet_places_them(top):
    """templates/admin/charts/columns.html places a tick by a class per height (0, 50 or 100 per
    cent) instead of a style attribute: charts.columns must make no other."""
    from returns_portal import charts

    chart = charts.columns([charts.Point("a", 0, "0"), charts.Point("b", top, str(top))])
    assert {tick.at for tick in chart.ticks} <= {0, 50, 100}
