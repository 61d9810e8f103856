"""How a body is signed: ``X-Returns-Signature: sha256=<hex>``, the HMAC-SHA256 of
``f"{timestamp}.{body}"`` with the endpoint's secret, ``timestamp`` being
``X-Returns-Timestamp`` (unix seconds). The receiver recomputes it and refuses an old
timestamp, so a captured request cannot be replayed later."""
from __future__ import annotations

import hashlib
import hmac
import secrets

# bandit: the prefix shown before a secret, not a secret.
SECRET_PREFIX = "whsec_"  # nosec B105
SIGNATURE_SCHEME = "sha256"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_SCHEME}={mac.hexdigest()}"


def headers(*, secret: str, timestamp: int, body: bytes, event_type: str, delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "ReturnsPortal-Webhooks/1",
        "X-Returns-Timestamp": str(timestamp),
        "X-Returns-Signature": signature(secret=secret, timestamp=timestamp, body=body),
        "X-Returns-Event": event_type,
        "X-Returns-Delivery": delivery_id,
    }
