"""Settings shared by every environment.

Every value that differs between machines is read from the environment (or a
``.env`` file beside manage.py) through django-environ; ``.env.example`` lists them.
"""
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from accounts.sso_config import SsoConfigurationError, sso_origin, sso_providers

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
# ENV_FILE names another file, or none when empty. The test suite never reads one: what a
# test expects must not depend on a developer's file (environment variables, such as the
# DATABASE_URL CI sets, still apply), and the processes tests start pass ENV_FILE="".
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and not os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".settings.test"):
    environ.Env.read_env(ENV_FILE, overwrite=False)

# Runtime state of the embedded defaults (SQLite file, broker folders, beat schedule).
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-change-me-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "returns_portal.admin_site.PortalAdminConfig",  # django.contrib.admin with the portal's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "accounts",
    "catalog",
    "orders",
    "disputes",
    "notifications",
    "api",
    "webhooks",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    # Accounts (issue 14): sign-up, verification, reset, e-mail change; single sign-on by OpenID Connect.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last: it turns a log-in that axes refused into accounts.lockout.lockout_response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "returns_portal.urls"
WSGI_APPLICATION = "returns_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "catalog.context_processors.viewer_country",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer at a time and select_for_update is a no-op. Every atomic block
    # starts with BEGIN IMMEDIATE (it takes the write lock up front, so the check-then-write
    # inside a service is serialised), and a writer that finds the lock taken waits up to
    # the busy timeout instead of failing at once with "database is locked". WAL lets
    # readers go on while one writes; synchronous=NORMAL is the safe setting under WAL.
    # Options given in DATABASE_URL's query string win.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Axes first: it refuses a locked-out account before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Login by e-mail address or username (allauth's forms), and single sign-on.
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "catalog:product_list"
LOGOUT_REDIRECT_URL = "catalog:product_list"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Accounts by django-allauth (issue 14). Buyers sign up themselves and verify their e-mail address
# before they can log in; they log in by e-mail address or username. Store members are invited
# by their store (accounts.invitations), never self-registered into one.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# The log-in and reauthentication forms say "locked out" when axes has locked the account.
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm", "reauthenticate": "accounts.forms.ReauthenticateForm"}
SOCIALACCOUNT_ADAPTER = "accounts.sso.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True  # one address per account; a new one replaces it once verified
# Reauthentication by password only: no sign-in codes by e-mail (nor their pages).
ACCOUNT_REAUTHENTICATION_METHODS = ["password"]
# Changing the e-mail address (and connecting a single sign-on account) asks for the password again
# when the last log-in is older than ACCOUNT_REAUTHENTICATION_TIMEOUT: a session left open or
# stolen cannot move the account to another address and reset its password through it.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a link scanner's GET confirms nothing; the page has a button
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = env.int("ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS", default=3)
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Security notices by e-mail: password changed, set or reset; e-mail address changed or removed.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_REDIRECT_URL = "catalog:product_list"
ACCOUNT_PRESERVE_USERNAME_CASING = False
# How long a store's invitation link stays valid (accounts.invitations).
STORE_INVITATION_DAYS = env.int("STORE_INVITATION_DAYS", default=7)
# Requests per period, counted in the default cache (Redis in production): sign-up and password
# reset per address and per e-mail address, on top of the login lockout (django-axes, below).
ACCOUNT_RATE_LIMITS = {
    "signup": env("RATE_LIMIT_SIGNUP", default="10/h/ip"),
    "reset_password": env("RATE_LIMIT_PASSWORD_RESET", default="10/h/ip,3/h/key"),
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "login": "30/m/ip",
    # Per address only: the per-account lock is the lockout's (axes, below), counted per account and
    # address, so that nobody can lock a buyer out of their account from elsewhere.
    "login_failed": "10/m/ip",
}
SOCIALACCOUNT_LOGIN_ON_GET = False  # "Sign in with ..." is a POST (no login started by a link)
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never take over a local account by a matching address
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
# Single sign-on with the marketplace's identity provider (OpenID Connect), only from the
# environment (SSO_*: .env.example, README "Single sign-on"; accounts.sso_config). Without
# SSO_CLIENT_ID there is no provider: no button, and /accounts/oidc/<any>/... answers 404.
try:
    SOCIALACCOUNT_PROVIDERS = sso_providers(env.ENVIRON)  # the environment, with .env read into it
except SsoConfigurationError as error:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(str(error)) from error

LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # a visitor's choice of language, kept a year
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Moscow")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
# Uploads (product images now, dispute evidence later) live outside static files.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# E-mail: console by default; EMAIL_URL=smtp+tls://user:pass@host:587 in production.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Returns portal <noreply@returns-portal.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Scheme and host of the links in e-mails (no trailing slash), e.g. https://returns.example.com
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# How long the one-click unsubscribe link in an e-mail works (notifications.unsubscribe).
UNSUBSCRIBE_LINK_DAYS = env.int("UNSUBSCRIBE_LINK_DAYS", default=90)
# The scheme of the links allauth puts in its e-mails (verification, password reset).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https:") else "http"

# Celery. The default broker is kombu's filesystem transport under var/, so a laptop
# needs no broker server; production sets CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),  # the broadcast exchange table; default is ./control
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Pool processes of each worker; unset, one per CPU (dev.py serve gives its worker 2).
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=None)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Domain settings (calendar days unless stated).
DEFAULT_COUNTRY = env("DEFAULT_COUNTRY", default="RU")
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="RUB")
BUYER_PROTECTION_DAYS = env.int("BUYER_PROTECTION_DAYS", default=15)
CATALOG_PAGE_SIZE = env.int("CATALOG_PAGE_SIZE", default=24)
# The catalog counts and numbers pages up to this many pages of goods, never the whole table:
# past it the page says "more than N" and asks to narrow the choice.
CATALOG_MAX_PAGES = env.int("CATALOG_MAX_PAGES", default=50)
ORDERS_PAGE_SIZE = env.int("ORDERS_PAGE_SIZE", default=20)
MAX_ORDER_QUANTITY = env.int("MAX_ORDER_QUANTITY", default=10)
# Timeline entries, and messages, on one page of a dispute (the latest first; older ones a link away).
DISPUTE_PAGE_SIZE = env.int("DISPUTE_PAGE_SIZE", default=20)

# Content-Security-Policy (django-csp): every script, style, image, font and request from this
# origin only; no inline script or style anywhere (the templates carry none, a test greps them,
# and the API docs load their script from a URL of their own); never framed (X_FRAME_OPTIONS stays
# DENY for older browsers); violations are reported to returns_portal.csp_report, which logs them.
# data: images are the SVG icons Django's admin and Swagger UI draw in their style sheets.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        # The "Sign in with ..." POST is answered by a redirect to the identity provider.
        "form-action": [SELF, *filter(None, [sso_origin(SOCIALACCOUNT_PROVIDERS)])],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report/",
    },
}
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Axes warns of each failed log-in and lockout; its INFO lines (every clean-up) are noise.
    "loggers": {"axes": {"level": env("AXES_LOG_LEVEL", default="WARNING")}},
}

# Rule chains (dotted paths; adding a rule is adding a class and a line here).
LOCAL_RETURN_RULES = [
    "disputes.rules.local_return.SellerOffersLocalReturn",
    "disputes.rules.local_return.CategoryAllowsLocalReturn",
    "disputes.rules.local_return.ReturnWarehouseInCountry",
]
DISPUTE_ELIGIBILITY_RULES = [
    "disputes.rules.eligibility.LineBelongsToBuyer",
    "disputes.rules.eligibility.LineDelivered",
    "disputes.rules.eligibility.ProtectionWindowOpen",
    "disputes.rules.eligibility.OneDisputePerLine",
    "disputes.rules.eligibility.CompensationInRange",
    "disputes.rules.eligibility.EvidenceProvided",
    "disputes.rules.eligibility.LocalReturnOfferedBySeller",
    "disputes.rules.eligibility.LocalReturnAllowedForCategory",
    "disputes.rules.eligibility.LocalReturnWarehouseInCountry",
]

# Dispute deadlines, in calendar days (DESIGN §3).
SELLER_RESPONSE_DAYS = env.int("SELLER_RESPONSE_DAYS", default=5)
BUYER_SHIP_DAYS = env.int("BUYER_SHIP_DAYS", default=10)
SELLER_RECEIPT_DAYS = env.int("SELLER_RECEIPT_DAYS", default=15)
ESCALATION_DAYS = env.int("ESCALATION_DAYS", default=7)
STAFF_DECISION_DAYS = env.int("STAFF_DECISION_DAYS", default=7)
# Staff may extend the current step's deadline to at most this many days from now.
MAX_DEADLINE_EXTENSION_DAYS = env.int("MAX_DEADLINE_EXTENSION_DAYS", default=30)

# Evidence uploads (photos and videos): private files, never under static or MEDIA_URL.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES["private"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT)},  # never web-served: a view checks who asks
}
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
EVIDENCE_MAX_FILES = env.int("EVIDENCE_MAX_FILES", default=10)
# Images whose header declares more pixels are refused before decoding (decompression bombs).
EVIDENCE_MAX_PIXELS = env.int("EVIDENCE_MAX_PIXELS", default=40_000_000)
# Evidence files with no attachment row, older than this, are deleted by the hourly sweep.
EVIDENCE_ORPHAN_HOURS = env.int("EVIDENCE_ORPHAN_HOURS", default=6)

# Minor units per currency (how many decimals a compensation may have).
CURRENCY_DECIMALS = {"RUB": 2, "USD": 2, "EUR": 2, "CNY": 2, "TRY": 2, "UAH": 2, "KZT": 2, "BYN": 2, "JPY": 0}

# Return conditions checked at receipt (DESIGN §2); per-category switches live in the admin.
RETURN_CONDITION_RULES = [
    "disputes.rules.inspection.SealedPackagingOpened",
    "disputes.rules.inspection.BrandPackaging",
    "disputes.rules.inspection.Completeness",
    "disputes.rules.inspection.SignsOfUse",
    "disputes.rules.inspection.WashedWornLabels",
    "disputes.rules.inspection.JewelryCondition",
    "disputes.rules.inspection.ItemIdentity",
]
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="disputes.payments.LocalLedgerGateway")
# Four eyes (DESIGN §4): a refund staff decide above this amount (in the order's currency)
# is paid only once a second staff member holding disputes.pay_refund approves it.
STAFF_REFUND_APPROVAL_LIMIT = Decimal(env("STAFF_REFUND_APPROVAL_LIMIT", default="10000"))

# The deadline sweep (DESIGN §3, issue 5).
DEADLINE_SWEEP_SECONDS = env.int("DEADLINE_SWEEP_SECONDS", default=60)
DEADLINE_SWEEP_BATCH = env.int("DEADLINE_SWEEP_BATCH", default=1000)
# Each periodic run works off at most this many batches; the next run continues.
DEADLINE_SWEEP_MAX_BATCHES = env.int("DEADLINE_SWEEP_MAX_BATCHES", default=100)
# Each periodic run with anything due queues this many shard tasks of the sweep, which lock
# disjoint batches (SKIP LOCKED): up to this many workers share a backlog at once (at least 1).
DEADLINE_SWEEP_PARALLEL = max(1, env.int("DEADLINE_SWEEP_PARALLEL", default=4))
# A dispute past a deadline the sweep has not acted on this many minutes later shows in the
# admin's "not processed by the sweep" queue (it should always be empty: the sweep is alive).
SWEEP_GRACE_MINUTES = env.int("SWEEP_GRACE_MINUTES", default=15)
REMINDER_HOURS = env.int("REMINDER_HOURS", default=24)
# When the seller misses the first deadline on a non-local-return dispute: "refund" (the
# buyer is refunded the amount asked) or "escalate" (marketplace staff decide).
SELLER_TIMEOUT_POLICY = env("SELLER_TIMEOUT_POLICY", default="refund")
DEFAULT_RETURN_CARRIER = env("DEFAULT_RETURN_CARRIER", default="Russian Post")
if SELLER_TIMEOUT_POLICY not in ("refund", "escalate"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured('SELLER_TIMEOUT_POLICY must be "refund" or "escalate".')

# Login lockout (django-axes), on the site's and the admin's login alike (issue 12).
# Counted per pair (account, client address): AXES_FAILURE_LIMIT wrong passwords for one
# account from one address lock that account from that address, the right password included.
# Not per account alone: anyone could then lock a buyer out of their account from anywhere.
# Not per address alone: buyers behind one carrier's or office's address would lock each other.
AXES_ENABLED = True
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The cool-off runs from the last failure: a try while locked out starts it again, so the
# message's "paused for N minutes" holds from the moment it is shown.
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_RESET_ON_SUCCESS = True  # a successful log-in clears the pair's count
# Failures are rows in the database: staff see lockouts in the admin, and unlock by deleting them.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# One count per account whether its username or its e-mail address was typed (and in the admin).
AXES_USERNAME_CALLABLE = "accounts.lockout.login_account_username"
# The client's address by the same rule as the API's throttling (NUM_PROXIES, below).
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"  # HTTP 429 with Retry-After
AXES_HTTP_RESPONSE_CODE = 429
# No row for every successful log-in (an address and browser per sign-in kept without end and
# used by nothing here); the admin shows lockouts, registered by accounts.admin.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Webhooks (DESIGN §8): a store's endpoints are told of every event on its disputes.
# Retries wait WEBHOOK_RETRY_BASE_SECONDS after the first failed attempt, doubling each time
# up to WEBHOOK_RETRY_MAX_SECONDS; after WEBHOOK_MAX_ATTEMPTS attempts the delivery is given up.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=15)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=60)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=24 * 3600)
# Per network step of an attempt (connecting, each read), in seconds.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
# An endpoint that gives up this many deliveries in a row (no success between) is disabled
# and its store's members are told.
WEBHOOK_DISABLE_AFTER_GIVEN_UP = env.int("WEBHOOK_DISABLE_AFTER_GIVEN_UP", default=5)
WEBHOOK_MAX_ENDPOINTS = env.int("WEBHOOK_MAX_ENDPOINTS", default=10)
# How often beat queues the deliveries that are due, and how many at most each time.
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=60)
WEBHOOK_SWEEP_BATCH = env.int("WEBHOOK_SWEEP_BATCH", default=1000)
# Plain http to this machine (localhost, 127.0.0.1, ::1) for development and tests; never in production.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=DEBUG)

# The JSON API (DESIGN §8): a store's API key is the only way in (no session: a browser's
# cookie never reaches it), JSON only, cursor pagination, one error shape for every 4xx.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.throttling.KeyRequired"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.DisputeCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyThrottle", "api.throttling.ApiAnonThrottle"],
    # Behind the TLS proxy of production, the client's address is the last hop it adds.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# What one person may do in a period, on the pages ("<count>/<sec|min|hour|day>"): open
# disputes, post messages, upload photos and videos (every file of every form counts).
RATE_LIMIT_OPEN_DISPUTES = env("RATE_LIMIT_OPEN_DISPUTES", default="10/hour")
RATE_LIMIT_MESSAGES = env("RATE_LIMIT_MESSAGES", default="60/hour")
RATE_LIMIT_UPLOADS = env("RATE_LIMIT_UPLOADS", default="100/hour")
# Store invitations a store member may send (each is an e-mail to an address they typed).
RATE_LIMIT_INVITATIONS = env("RATE_LIMIT_INVITATIONS", default="20/day")
# Requests per API key, and per address without a valid key ("<count>/<sec|min|hour|day>").
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/min")
API_ANON_RATE_LIMIT = env("API_ANON_RATE_LIMIT", default="60/min")
# How long a POST's Idempotency-Key and its answer are kept for a retry.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
# The cache: per process by default; production sets CACHE_URL=redis://host:6379/1 so that every
# worker shares it (the API's request counts, above all).
CACHE_URL = env("CACHE_URL", default="")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
          if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SPECTACULAR_SETTINGS = {
    "TITLE": "Returns portal API",
    "DESCRIPTION": (
        "A store's side of its disputes, with the store's API key (Authorization: Bearer rp_...): list and read "
        "them, answer them (return instructions, accept, counter-offer, reject), confirm receipt with the "
        "inspection, talk in the thread with files. Every POST takes an Idempotency-Key; every refusal is "
        '{"code", "message", "fields"}. Staff tokens read every dispute and decide escalations.'),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
