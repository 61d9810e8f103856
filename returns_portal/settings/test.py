"""The test suite: fast hashing, in-memory e-mail, Celery tasks run inline."""
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
