"""Each kind of e-mail's HTML part as a mail program shows it, in Chromium, in English and in
Russian: written to ``docs/screenshots/emails/<name>-<language>.png`` (committed, for people to
look at). The page may load nothing: every request it makes is refused and counted, so an image,
font or style sheet from anywhere (or from the portal) fails the test.

The e-mails are ``notifications/tests/email_samples.py``'s ``SAMPLES``; add an e-mail there to
see it here.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from notifications.tests.email_samples import SAMPLES

SHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots" / "emails"
# The e-mails are made at one moment, so their dates (and the screenshots) are the same each run.
MADE_AT = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
CASES = [(name, build, language) for name, build in SAMPLES for language in ("en", "ru")]


@pytest.mark.browser
@pytest.mark.django_db
@pytest.mark.parametrize(("name", "build", "language"), CASES, ids=[f"{n}-{lang}" for n, _b, lang in CASES])
def test_the_email_renders_in_chromium_with_nothing_loaded(chromium, name, build, language):
    with time_machine.travel(MADE_AT, tick=False):  # only while building: the browser keeps its own clock
        email = build(language)
    (html, mimetype), = email.alternatives
    assert mimetype == "text/html"

    context = chromium.new_context(viewport={"width": 680, "height": 900},
                                   locale={"en": "en-GB", "ru": "ru-RU"}[language], java_script_enabled=False)
    requested: list[str] = []
    try:
        page = context.new_page()
        page.route("**/*", lambda route: (requested.append(route.request.url), route.abort()))
        page.set_content(html, wait_until="load")
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").inner_text().strip()  # one heading, saying what the e-mail is about
        buttons = page.locator("a[style*='background'], td[style*='background:#d8352a'] a")
        assert buttons.count() == 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{language}.png"), full_page=True)
    finally:
        context.close()
    assert requested == []
