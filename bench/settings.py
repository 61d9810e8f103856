"""Settings of bench/admin_pages.py's gunicorn: the production settings, with a URLconf that
adds the bare view to compare against. Never used by the product."""
from returns_portal.settings.production import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
