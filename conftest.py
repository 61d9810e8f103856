"""Suite-wide switches: tests marked ``postgres`` or ``redis`` need the real server, tests
marked ``browser`` need Chromium (Debian's, driven by Playwright).

Locally they are skipped with a reason when it is absent. CI sets
REQUIRE_SERVICES=postgres,redis,browser, and then an absent server or browser fails those
tests instead of skipping them, so a green CI run means they really ran.
"""
import os

import pytest

from returns_portal.testing import CHROMIUM_PATH

REQUIRED_SERVICES = {s.strip() for s in os.environ.get("REQUIRE_SERVICES", "").split(",") if s.strip()}
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _postgres_available() -> tuple[bool, str]:
    from django.db import connection

    if connection.vendor == "postgresql":
        return True, ""
    return False, "needs PostgreSQL: set DATABASE_URL=postgres://..."


def _redis_available() -> tuple[bool, str]:
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return False, f"needs Redis at {TEST_REDIS_URL} ({error})"
    return True, ""


def _browser_available() -> tuple[bool, str]:
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        return False, (f"needs Chromium at {CHROMIUM_PATH} (Debian: apt-get install chromium; "
                       "or set CHROMIUM_PATH); Playwright's own browser download is not used")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return False, f"needs Playwright for Python ({error}): python3 dev.py test installs requirements.txt"
    return True, ""


SERVICE_CHECKS = {"postgres": _postgres_available, "redis": _redis_available, "browser": _browser_available}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for service, check in SERVICE_CHECKS.items():
        if item.get_closest_marker(service) is None:
            continue
        available, reason = check()
        if available:
            continue
        if service in REQUIRED_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES includes {service}, but this test cannot reach it: {reason}")
        pytest.skip(reason)


@pytest.fixture
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture(autouse=True)
def site_language():
    """Each test starts in the site's language: a request made by an earlier test (the test
    client runs it in this thread) leaves its reader's language active, as a web thread would
    until its next request chooses again."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
