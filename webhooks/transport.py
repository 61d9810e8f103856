"""One POST to an endpoint, with the standard library (``urllib``; ``requests`` is not a
dependency). Redirects are not followed (a 3xx is a failed attempt: the store fixes its
URL), the answer's body is not read beyond a little, and every step has a time limit."""
from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

ERROR_MAX_LENGTH = 500


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no HTTP answer (refused, timed out, TLS failure)
    latency_ms: int
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()
    status, error = None, ""
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(1024)
            status = response.status
    except urllib.error.HTTPError as answer:  # the endpoint answered, with a 3xx, 4xx or 5xx
        status = answer.code
        error = f"HTTP {answer.code} {answer.reason}"
        answer.close()
    except (urllib.error.URLError, OSError, http.client.HTTPException, socket.timeout, ValueError) as failure:
        reason = getattr(failure, "reason", failure)
        error = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
    latency = int(round((time.monotonic() - started) * 1000))
    return Answer(status, latency, error[:ERROR_MAX_LENGTH])
