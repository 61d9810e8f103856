"""Helpers shared by the test suites (imported by tests only)."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

from django.db import connections

from returns_portal.errors import DomainError

TIMEOUT_SECONDS = 30

# Browser tests drive Debian's Chromium (apt-get install chromium): Playwright's own browser
# download does not work on these machines. These launch flags keep it off the network.
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def together(*attempts: Callable[[], object], timeout: float = TIMEOUT_SECONDS) -> list[tuple[str, object]]:
    """Run each callable in its own thread, all released at the same moment (a real race on
    PostgreSQL, or on SQLite's file lock); return what each got, in the order given: ("ok",
    result), ("refused", DomainError code) or ("error", exception). Each thread closes its
    own DB connections."""
    barrier = threading.Barrier(len(attempts), timeout=timeout)
    outcomes: list = [None] * len(attempts)

    def run(index: int, attempt) -> None:
        try:
            barrier.wait()
            outcomes[index] = ("ok", attempt())
        except DomainError as error:
            outcomes[index] = ("refused", error.code)
        except Exception as error:  # surfaced by the assertions in the test
            outcomes[index] = ("error", error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, attempt)) for i, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    # bandit: a test helper: the assertion is the check.
    assert not any(thread.is_alive() for thread in threads), "a racing thread did not finish"  # nosec B101
    return outcomes


def race(attempt: Callable[[], object], times: int = 2) -> list:
    """``attempt`` run ``times`` times at once: per thread "ok", the DomainError code, or the exception."""
    return ["ok" if kind == "ok" else value for kind, value in together(*[attempt] * times)]
