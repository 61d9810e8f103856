#!/usr/bin/env python
"""Benchmark of the staff admin pages against a bare Django view (a script, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/admin_pages.py 50 5000
    .venv/bin/python bench/admin_pages.py --duration 20 --concurrency 8 --workers 4 5000
    .venv/bin/python bench/admin_pages.py --loader python 50      (no wrk: threads with http.client)

For each N (default 5000) it seeds a database, serves it with gunicorn and loads each page:

- ``bare``: ``/bench/bare/`` (bench/urls.py, reached only through bench/settings.py): a small
  text response after ONE trivial query (``SELECT 1``), through every middleware of the
  project; with the staff session cookie that includes the session and user queries of
  ``accounts.middleware.UserLanguageMiddleware``;
- ``changelist`` ``/admin/disputes/dispute/``, ``queue=staff`` the same with ``?queue=staff``
  (a non-200 answer, e.g. the admin's 302 to ``?e=1`` while the filter does not exist, is
  reported and not loaded), ``change small`` (an escalated dispute with 3 timeline events and
  3 messages), ``change 1000`` (an escalated dispute with 1,000 events and 1,000 messages),
  ``dashboard`` ``/admin/dashboard/`` (skipped while it answers 404) and ``index`` ``/admin/``;

each as a member of the "Supervisor" group (created by the migrations), staff but not superuser.

Databases. On PostgreSQL, ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``)
is only an admin connection: the script creates one database per N named
``returns_portal_adminbench_<pid>_<random hex>_n<N>`` and drops those it created, and only
those, at the end (also on error or Ctrl-C); ``DATABASE_URL=sqlite://`` uses throw-away
files in a temporary folder (bench/sweep.py's ``Databases``). ``VAR_DIR``, media, private
media, static files (collected once into the temporary folder), e-mail (``dummymail://``)
and the Celery broker (kombu's filesystem transport, in the temporary folder) are set in the
environment before Django starts, so a ``.env`` beside manage.py cannot point the script at
a developer's data; ``SECRET_KEY`` is random per run.

The data (bench/admin_data.py, its docstring says more): N disputes of 7 stores, spread over
states, kinds, routes and buyer countries as on a live marketplace, with their orders, timeline,
return leg, messages, evidence and refunds (paid, pending, failed, waiting for approval), and
the two disputes the change page is measured on; bulk-created: N=5000 in about a minute.

The server, the loads and the bare view's runs are bench/serving.py's (its docstring says
more): gunicorn with ``--workers`` sync workers (default 2) and the bench settings, every
request with ``X-Forwarded-Proto: https``; each page's queries counted in-process (the second
of two requests); ``--concurrency`` connections (default 4) for ``--duration`` seconds
(default 10) with wrk when installed, else Python threads; the bare view loaded right before
each page, and the page's ratio taken to that run. The signed-in session is created in the
database with Django's test client (``force_login``) and its cookie sent by the load generator.
``--only changelist,index`` loads only those pages (and the bare view).

Prints per N a table (page, status, queries and the issue's budget, KiB, requests completed,
req/s, ratio to bare, p50 and p95 in ms; the bare row pools its runs, with the median of their
percentiles) and the verdict "changelist ≥ 0.3× bare"; the very last line is
``changelist_vs_bare=<ratio> at N=<the last N>``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if __name__ == "__main__":  # started with any Python: run again with .venv/'s (dev.py installs it)
    from dev import use_virtualenv

    use_virtualenv(__file__, sys.argv[1:])

from bench.admin_data import BIG, Seeded, seed  # noqa: E402 - needs ROOT on sys.path
from bench.serving import PROXY_HEADERS, Page, arguments, configure, count_queries, measure, run, table  # noqa: E402
from bench.sweep import Databases, release  # noqa: E402

# The query budgets (issue 10).
BUDGETS = {"changelist": 12, "queue=staff": 12, "change small": 20, "change 1000": 20, "dashboard": 15}
TARGET_RATIO = 0.3  # the changelist's throughput against the bare view


def pages_of(seeded: Seeded) -> list[Page]:
    from django.urls import reverse

    return [
        Page("bare", "/bench/bare/"),
        Page("changelist", reverse("admin:disputes_dispute_changelist")),
        Page("queue=staff", reverse("admin:disputes_dispute_changelist") + "?queue=staff"),
        Page("change small", reverse("admin:disputes_dispute_change", args=[seeded.small_id])),
        Page(f"change {BIG}", reverse("admin:disputes_dispute_change", args=[seeded.big_id])),
        Page("dashboard", "/admin/dashboard/"),
        Page("index", reverse("admin:index")),
    ]


def sign_in(user_id: int):
    """A test client signed in as the supervisor; its session lives in the database, so the
    same cookie signs gunicorn's requests in."""
    from django.test import Client

    from accounts.models import User

    client = Client(headers=PROXY_HEADERS)
    client.force_login(User.objects.get(pk=user_id))
    return client


def bench(databases: Databases, n: int, args) -> list[Page]:
    started = time.perf_counter()
    name = databases.create(f"n{n}")
    try:
        seeded = seed(n)
        vendor = "PostgreSQL" if databases.vendor == "postgresql" else "SQLite"
        print(f"\nN={n} on {vendor}: seeded in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{v} {k}" for k, v in seeded.counts.items()), flush=True)
        pages = [page for page in pages_of(seeded) if not args.only or page.name in args.only]
        client = sign_in(seeded.supervisor_id)
        cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
        for page in pages:
            count_queries(client, page)
        release()
        measure(databases, name, pages, cookie, args)
    finally:
        databases.drop(name)
    return pages


def report(n: int, pages: list[Page], args) -> float | None:
    table(n, pages, BUDGETS, args, bare_text="one SELECT 1 behind the project's middleware")
    ratio = next((page.ratio for page in pages if page.name == "changelist" and page.load), None)
    if ratio is None:
        print("verdict: the changelist did not answer 200; no ratio")
    else:
        print(f"verdict: changelist {ratio:.3f}× bare: {'meets' if ratio >= TARGET_RATIO else 'misses'} "
              f"the target ≥ {TARGET_RATIO}×")
    return ratio


def main(argv: list[str]) -> None:
    args = arguments(__doc__, argv, default_sizes=[5000])
    databases = configure(script="bench/admin_pages.py", prefix="adminbench")
    ratio = None

    def each(n: int) -> None:
        nonlocal ratio
        ratio = report(n, bench(databases, n, args), args)

    run(databases, each, args.sizes)
    print(f"changelist_vs_bare={'none' if ratio is None else f'{ratio:.3f}'} at N={args.sizes[-1]}")


if __name__ == "__main__":
    main(sys.argv[1:])
