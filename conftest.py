"""Suite-wide switches: tests marked ``postgres`` or ``redis`` need the real server, tests
marked ``browser`` need Chromium (Debian's, driven by Playwright).

Redis tests get a server of their own: ``redis-server`` started by the suite on a free port
with nothing on disk, stopped at the end (``redis_url``), never the one a developer runs.
``TEST_REDIS_URL`` points them at another server instead, deliberately.

Locally they are skipped with a reason when it is absent. CI sets
REQUIRE_SERVICES=postgres,redis,browser, and then an absent server or browser fails those
tests instead of skipping them, so a green CI run means they really ran.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from returns_portal.testing import CHROMIUM_PATH

REQUIRED_SERVICES = {s.strip() for s in os.environ.get("REQUIRE_SERVICES", "").split(",") if s.strip()}
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")


def _postgres_available() -> tuple[bool, str]:
    from django.db import connection

    if connection.vendor == "postgresql":
        return True, ""
    return False, "needs PostgreSQL: set DATABASE_URL=postgres://..."


def _redis_available() -> tuple[bool, str]:
    if TEST_REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError as error:
            return False, f"needs Redis at TEST_REDIS_URL={TEST_REDIS_URL} ({error})"
        return True, ""
    if shutil.which(REDIS_SERVER) is None:
        return False, f"needs {REDIS_SERVER} on the PATH to start a Redis of its own (Debian: apt-get install redis-server)"
    return True, ""


def _browser_available() -> tuple[bool, str]:
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        return False, (f"needs Chromium at {CHROMIUM_PATH} (Debian: apt-get install chromium; "
                       "or set CHROMIUM_PATH); Playwright's own browser download is not used")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return False, f"needs Playwright for Python ({error}): python3 dev.py test installs requirements/test.txt"
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def _own_redis():
    """A Redis server of the suite's own, started when a test first asks for one."""
    if TEST_REDIS_URL:
        yield TEST_REDIS_URL
        return
    import redis

    folder, port = tempfile.mkdtemp(prefix="test-redis-"), _free_port()
    server = subprocess.Popen(
        [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
                break
            except redis.RedisError:
                if server.poll() is not None:
                    pytest.fail(f"{REDIS_SERVER} exited with {server.returncode} on port {port}")
                time.sleep(0.05)
        else:
            pytest.fail(f"{REDIS_SERVER} did not answer on port {port}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_url(_own_redis) -> str:
    """A Redis database for this test alone: emptied before it runs."""
    import redis

    redis.Redis.from_url(_own_redis).flushdb()
    return _own_redis


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


_SUMMARY = pytest.StashKey[list]()


@pytest.fixture
def summary(request):
    """``summary("…")`` adds a line to the run's closing summary (figures a test measured,
    such as the number of Hypothesis examples), shown whether the test passed or failed."""
    lines = request.config.stash.setdefault(_SUMMARY, [])
    return lines.append


def pytest_terminal_summary(terminalreporter, config) -> None:
    for line in config.stash.get(_SUMMARY, []):
        terminalreporter.write_line(line)
