"""A developer's laptop or a demo: embedded defaults, DEBUG on unless told otherwise."""
from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# Read again here: base read it before this file turned DEBUG on.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=DEBUG)
