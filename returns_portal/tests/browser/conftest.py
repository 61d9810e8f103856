"""Fixtures of the browser tests: one Chromium for the package, the live server with the demo
data, and a ``portal`` per test in the language it is parametrised with."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from returns_portal.testing import CHROMIUM_ARGS, CHROMIUM_PATH

from .support import SCREENSHOTS, Portal


@pytest.fixture(scope="package")
def chromium():
    """Debian's Chromium, started once for these tests. While Playwright's sync API runs, its
    event loop counts as running in this thread, so Django's guard against database calls from
    async code must be lifted here (the live server's own thread is unaffected); it is lifted
    for these tests only."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def demo(transactional_db):
    """The demo data of ``manage.py seed_demo`` (the README's logins)."""
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture
def portal(request, chromium, live_server, demo) -> Portal:
    lang = request.node.callspec.params.get("lang", "en") if hasattr(request.node, "callspec") else "en"
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_")).strip("-")
    portal = Portal(browser=chromium, base_url=live_server.url, lang=lang, name=name)
    request.config.stash.setdefault(_SHOTS_KEY, set()).add(str(SCREENSHOTS))
    yield portal
    portal.close()
    tally = request.config.stash.setdefault(_CSP_KEY, [0, 0])
    tally[0] += portal.documents
    tally[1] += len(portal.csp_violations)


_SHOTS_KEY = pytest.StashKey[set]()
_CSP_KEY = pytest.StashKey[list]()  # [pages loaded with the policy checked, violations seen]


def pytest_terminal_summary(terminalreporter, config) -> None:
    if _CSP_KEY in config.stash:
        documents, violations = config.stash[_CSP_KEY]
        terminalreporter.write_line(f"Content-Security-Policy: {documents} pages loaded with the policy, "
                                    f"{violations} violations seen (the harness's own test makes some on purpose)")
    for folder in sorted(config.stash.get(_SHOTS_KEY, set())):
        terminalreporter.write_line(f"Browser screenshots: {folder}")
