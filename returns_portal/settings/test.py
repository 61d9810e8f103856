"""The test suite: fast hashing, in-memory e-mail, Celery tasks run inline, SQLite on a file."""
import atexit
import shutil
import tempfile

from .base import *  # noqa: F401,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
LANGUAGE_CODE = "en"

# Evidence files written by tests go to a throw-away folder, not var/private.
PRIVATE_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="evidence-"))  # noqa: F405
STORAGES = {**STORAGES, "private": {**STORAGES["private"], "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT)}}}  # noqa: F405

# SQLite: a file test database, not Django's default shared-cache in-memory one, so that
# tests with real threads see what a server sees (WAL, file locks, the busy timeout).
# A fresh folder per run: two runs at once (other worktrees, CI jobs) never share a file.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _test_db_dir = tempfile.mkdtemp(prefix="returns-portal-test-db-")
    atexit.register(shutil.rmtree, _test_db_dir, ignore_errors=True)
    DATABASES["default"]["TEST"] = {  # noqa: F405
        **DATABASES["default"].get("TEST", {}),  # noqa: F405
        "NAME": str(Path(_test_db_dir) / "test.sqlite3"),  # noqa: F405
    }

# The API's request limits are tested on their own (api/tests/test_throttling.py) with a clean
# cache; elsewhere they stay out of the way (keys' ids repeat across tests on SQLite).
API_RATE_LIMIT = "100000/min"
API_ANON_RATE_LIMIT = "100000/min"
RATE_LIMIT_OPEN_DISPUTES = "100000/hour"  # tested on their own: returns_portal/tests/test_ratelimit.py
RATE_LIMIT_MESSAGES = "100000/hour"
RATE_LIMIT_UPLOADS = "100000/hour"
# allauth's request limits (sign-up, password reset, log-in per address) are tested on their own
# with a clean cache (accounts/tests); elsewhere every test logs in from 127.0.0.1.
ACCOUNT_RATE_LIMITS = False
# Single sign-on is off unless a test configures it (accounts/tests/test_sso*.py): a developer's
# SSO_* variables never change what the suite expects.
SOCIALACCOUNT_PROVIDERS = {}
CONTENT_SECURITY_POLICY = {**CONTENT_SECURITY_POLICY,  # noqa: F405
                           "DIRECTIVES": {**CONTENT_SECURITY_POLICY["DIRECTIVES"], "form-action": [SELF]}}  # noqa: F405
