"""Production: PostgreSQL, Redis broker, gunicorn behind a TLS-terminating proxy.

Refuses to start without SECRET_KEY or with DEBUG on.
"""
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import DATABASES, env

SECRET_KEY = env("SECRET_KEY")  # no default: a missing key stops start-up
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure-"):
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters.")
if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off in production.")
DEBUG = False
if env.bool("WEBHOOK_ALLOW_HTTP", default=False):
    raise ImproperlyConfigured("WEBHOOK_ALLOW_HTTP must be off in production: webhooks go out over https only.")
WEBHOOK_ALLOW_HTTP = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# Each process keeps its database connection for CONN_MAX_AGE seconds instead of one per
# request, and checks it before reusing it (a restarted PostgreSQL or a dropped connection
# costs one check, not an error page).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Templates: no "loaders" in base.TEMPLATES, so Django wraps the filesystem and app loaders in
# its cached loader (each template compiled once per process); a test holds this.

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"

STORAGES = {
    **STORAGES,  # noqa: F405 - keeps the private evidence storage
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Axes warns of each failed log-in and lockout; its INFO lines (every clean-up) are noise.
    "loggers": {"axes": {"level": env("AXES_LOG_LEVEL", default="WARNING")}},
}
