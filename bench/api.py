#!/usr/bin/env python
"""Benchmark of the stores' read API against a bare Django view (a script, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --duration 20 --only list,detail 1000
    .venv/bin/python bench/api.py --others 5000 --events 300 10 1000
    .venv/bin/python bench/api.py --profile detail 1000     (cProfile of one endpoint, in-process)

For each N (default 10 and 1000) it seeds a database in which one store has N disputes and the
other six stores ``--others`` more (default 1000), issues the store an API key
(``api.keys.issue_key``), serves the database with gunicorn and loads, with the header
``Authorization: Bearer rp_...``:

- ``bare``: ``/bench/bare/`` (bench/urls.py, reached only through bench/settings.py): a small
  text response after ONE trivial query (``SELECT 1``), through every middleware of the
  project (the API key is sent too, and ignored: the bare view does not authenticate);
- ``list`` ``/api/v1/disputes/`` (the first page: 50 of the store's disputes, or all of them
  below 50), ``who=seller`` the same with ``?who=seller`` (the store's disputes waiting for it);
- ``detail`` ``/api/v1/disputes/<id>/``: a refunded local return with its whole story
  (5 timeline events, return instructions, shipment, inspection, a paid refund);
- ``detail <E>``: an escalated international return with ``--events`` timeline events
  (default 300) by the buyer, the store, staff and the system, and as many messages.

The data is bench/admin_data.py's (``seed(n, store_disputes=N, big=E)``; its docstring says
more): states, kinds, routes and buyer countries spread as on a live marketplace, with their
orders, timeline, return leg, messages, evidence and refunds. Databases, environment, server,
loads and table are bench/serving.py's and bench/sweep.py's, as for bench/admin_pages.py: on
PostgreSQL one database per N named ``returns_portal_apibench_<pid>_<random hex>_n<N>``, only
those dropped at the end (also on error, Ctrl-C or SIGTERM); ``DATABASE_URL=sqlite://`` uses
throw-away files. gunicorn has ``--workers`` sync workers (default 2) with the production
settings (DEBUG off) and ``CONN_MAX_AGE`` from the environment (default 60, as in production); queries are counted
in-process with Django's test client and ``CaptureQueriesContext`` (the second of two
requests: the key's last use is written at most once a minute, and not in the count);
``--concurrency`` connections (default 4) for ``--duration`` seconds (default 10) with wrk when
installed, else Python threads; the bare view is loaded right before each endpoint and the
endpoint's ratio is to that run. ``--only list,detail`` loads only those (and the bare view).

Prints per N a table (endpoint, status, queries and the issue's budget of 10, KiB, requests
completed, req/s, ratio to bare, p50 and p95 in ms), then whether the queries stay flat from the
smallest N to the largest and the verdict "every endpoint ≥ 0.5× bare"; the very last line is
``api_vs_bare=<lowest ratio> (<endpoint>) at N=<the last N>``.

``--profile ENDPOINT``: seed the first N, run ENDPOINT 200 times in this process under cProfile
(test client, no server) and print the 35 functions with the largest cumulative time.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if __name__ == "__main__":  # started with any Python: run again with .venv/'s (dev.py installs it)
    from dev import use_virtualenv

    use_virtualenv(__file__, sys.argv[1:])

from bench.admin_data import seed  # noqa: E402 - needs ROOT on sys.path
from bench.serving import PROXY_HEADERS, Page, arguments, configure, count_queries, measure, run, table  # noqa: E402
from bench.sweep import Databases, release  # noqa: E402

BUDGET = 10  # queries per request, at 10 and at 1,000 disputes (issue 11)
TARGET_RATIO = 0.5  # each endpoint's throughput against the bare view
OTHERS = 1000  # the other stores' disputes
EVENTS = 300  # timeline events of the long dispute
ENDPOINTS = ("list", "who=seller", "detail", "detail long")


def pages_of(seeded, events: int) -> list[Page]:
    from django.urls import reverse

    return [
        Page("bare", "/bench/bare/"),
        Page("list", reverse("api:dispute_list")),
        Page("who=seller", reverse("api:dispute_list") + "?who=seller"),
        Page("detail", reverse("api:dispute_detail", args=[seeded.full_id])),
        Page(f"detail {events}", reverse("api:dispute_detail", args=[seeded.big_id])),
    ]


def wanted(page: Page, args) -> bool:
    return not args.only or page.name in args.only or (page.name.startswith("detail ") and "detail long" in args.only)


def prepare(databases: Databases, n: int, args) -> tuple[str, list[Page], dict]:
    """A database with the store's N disputes and the others', the store's key, the pages."""
    from django.test import Client

    from accounts.models import User
    from api.keys import issue_key

    started = time.perf_counter()
    name = databases.create(f"n{n}")
    seeded = seed(n + args.others, store_disputes=n, big=args.events)
    vendor = "PostgreSQL" if databases.vendor == "postgresql" else "SQLite"
    print(f"\nN={n} on {vendor}: seeded in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{v} {k}" for k, v in seeded.counts.items()), flush=True)
    member = User.objects.get(pk=seeded.member_id)
    _key, raw = issue_key(store=member.store, user=member, name="bench")
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client(headers={**PROXY_HEADERS, **headers})
    pages = [page for page in pages_of(seeded, args.events) if wanted(page, args)]
    for page in pages:
        count_queries(client, page)
    return name, pages, headers


def bench(databases: Databases, n: int, args) -> list[Page]:
    name = None
    try:
        name, pages, headers = prepare(databases, n, args)
        release()
        measure(databases, name, pages, headers, args)
    finally:
        if name is not None:
            databases.drop(name)
    return pages


def report(n: int, pages: list[Page], args) -> tuple[float, str] | None:
    budgets = {page.name: BUDGET for page in pages if page.name != "bare"}
    table(n, pages, budgets, args, bare_text="one SELECT 1 behind the project's middleware, no authentication")
    ratios = [(page.ratio, page.name) for page in pages if page.name != "bare" and page.ratio is not None]
    if not ratios:
        print("verdict: no endpoint answered 200; no ratio")
        return None
    lowest = min(ratios)
    print(f"verdict: lowest {lowest[0]:.3f}× bare ({lowest[1]}): "
          f"{'meets' if lowest[0] >= TARGET_RATIO else 'misses'} the target ≥ {TARGET_RATIO}× for every endpoint")
    return lowest


def flat(results: dict[int, list[Page]]) -> None:
    """The queries per request from the smallest N to the largest, endpoint by endpoint."""
    if len(results) < 2:
        return
    sizes = sorted(results)
    by_name = {n: {page.name: page.queries for page in results[n]} for n in sizes}
    for page in results[sizes[0]]:
        if page.name == "bare":
            continue
        counts = [by_name[n].get(page.name) for n in sizes]
        verdict = "flat" if len(set(counts)) == 1 else "GROWS"
        budget = "within" if all(c is not None and c <= BUDGET for c in counts) else "OVER"
        print(f"queries {page.name}: " + " → ".join(f"{c} at N={n}" for c, n in zip(counts, sizes))
              + f": {verdict}, {budget} the budget of {BUDGET}")


def profile(databases: Databases, n: int, endpoint: str, args) -> None:
    from django.test import Client

    name, pages, headers = prepare(databases, n, args)
    page = next((p for p in pages if p.name == endpoint or (endpoint == "detail long" and p.name.startswith("detail "))),
                None)
    if page is None:
        raise SystemExit(f"--profile: no endpoint {endpoint!r} (one of {', '.join(ENDPOINTS)})")
    client = Client(headers={**PROXY_HEADERS, **headers})
    client.get(page.path)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(200):
        client.get(page.path)
    profiler.disable()
    print(f"\n{page.name} {page.path}: 200 requests in process, {(time.perf_counter() - started) / 200 * 1000:.2f} ms "
          f"each under cProfile; {page.queries} queries")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(page.path)
    for query in queries:  # each query's own time, outside the profiler
        print(f"  {float(query['time']) * 1000:6.2f} ms  {query['sql'][:110]}")
    slowest = max(queries, key=lambda query: float(query["time"]))
    with connection.cursor() as cursor:  # where the slowest one's time goes: planning or running
        cursor.execute("EXPLAIN (ANALYZE, SUMMARY) " + slowest["sql"])
        print("\n".join(f"    {row[0]}" for row in cursor.fetchall()[-2:]))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())
    databases.drop(name)


def main(argv: list[str]) -> None:
    endpoint = None
    if "--profile" in argv:
        at = argv.index("--profile")
        endpoint = argv[at + 1]
        argv = argv[:at] + argv[at + 2:]
    args = arguments(__doc__, argv, default_sizes=[10, 1000], extra=(
        (("--others",), {"type": int, "default": OTHERS,
                         "help": f"the other stores' disputes (default {OTHERS})"}),
        (("--events",), {"type": int, "default": EVENTS,
                         "help": f"timeline events of the long dispute (default {EVENTS})"}),
    ))
    databases = configure(script="bench/api.py", prefix="apibench")
    results: dict[int, list[Page]] = {}
    lowest = None

    def each(n: int) -> None:
        nonlocal lowest
        if endpoint is not None:
            profile(databases, n, endpoint, args)
            return
        results[n] = bench(databases, n, args)
        lowest = report(n, results[n], args)

    run(databases, each, args.sizes[:1] if endpoint else args.sizes)
    if endpoint is None:
        print()
        flat(results)
        print(f"api_vs_bare={'none' if lowest is None else f'{lowest[0]:.3f} ({lowest[1]})'} at N={args.sizes[-1]}")


if __name__ == "__main__":
    main(sys.argv[1:])
