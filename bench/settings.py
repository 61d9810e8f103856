"""Settings of the benches' gunicorn: the production settings, with a URLconf that
adds the bare view to compare against. Never used by the product."""
from returns_portal.settings.production import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"

# The benches measure throughput: the API's per-key limit (600/min, counted per worker without
# CACHE_URL) would answer 429 within seconds of load.
API_RATE_LIMIT = "1000000/min"
API_ANON_RATE_LIMIT = "1000000/min"

# bench/open_load.py measures many buyers opening disputes as fast as the site takes them: the
# per-buyer limit (10/hour, counted per worker without CACHE_URL) would answer 429 after ten.
RATE_LIMIT_OPEN_DISPUTES = "1000000/hour"
