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

The server: gunicorn (requirements.txt) with the project's WSGI app
(``returns_portal.wsgi:application``) on a free port of 127.0.0.1, ``--workers`` sync
workers (default 2), ``DJANGO_SETTINGS_MODULE=bench.settings`` (the production settings,
DEBUG off, ``ROOT_URLCONF=bench.urls``; ``CONN_MAX_AGE`` from the environment, default 0 as
documented). Every request says ``X-Forwarded-Proto: https``, as the TLS proxy in front of
production does. The signed-in session is created in the database with Django's test client
(``force_login``) and its cookie sent by the load generator.

Per page: the status code and size of one response; the queries of one request counted
in-process with Django's test client and ``CaptureQueriesContext`` (the second of two requests,
so per-process caches are warm); then, for 200 answers only, ``--concurrency`` requests at
once to warm every worker (untimed) and a load of ``--concurrency`` connections (default 4)
for ``--duration`` seconds (default 10; up to 60 for a page whose single request takes more
than a third of it, so that a few requests complete): ``wrk`` (Debian: ``apt-get install
wrk``) when installed, else a loop of Python threads with ``http.client`` (``--loader``
forces one; wrk leaves the requests under way at its end to the workers, so the script
waits a p95, or its slowest warm-up request, before the next run). ``--only changelist,index``
loads only those pages (and the bare view).

The bare view is loaded for ``--duration`` right before each page, and each page's ratio is
to that run: on a machine whose cores other work shares, the two runs of a ratio meet the
same neighbours. The load average before and after is printed; compare ratios taken on the
same machine, not absolute numbers across machines. Prints per N a table (page, status,
queries and the issue's budget, KiB, requests completed, req/s, ratio to bare, p50 and p95
in ms; the bare row pools its runs, with the median of their percentiles) and the verdict
"changelist ≥ 0.3× bare"; the very last line is ``changelist_vs_bare=<ratio> at N=<the last N>``.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.admin_data import BIG, Seeded, seed  # noqa: E402 - needs ROOT on sys.path
from bench.sweep import Databases, clean_up, isolated_environment, release  # noqa: E402

# Settings the pages depend on, at the documented defaults unless the environment (not .env)
# says otherwise.
TUNABLE = {
    "LANGUAGE_CODE": "en",
    "TIME_ZONE": "Europe/Moscow",
    "LOG_LEVEL": "WARNING",
    "CONN_MAX_AGE": "0",
    "STAFF_REFUND_APPROVAL_LIMIT": "10000",
    "SELLER_RESPONSE_DAYS": "5",
    "BUYER_SHIP_DAYS": "10",
    "SELLER_RECEIPT_DAYS": "15",
    "ESCALATION_DAYS": "7",
    "STAFF_DECISION_DAYS": "7",
}
# Every client says what the TLS-terminating proxy in front of production says.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
# The query budgets (issue 10).
BUDGETS = {"changelist": 12, "queue=staff": 12, "change small": 20, "change 1000": 20, "dashboard": 15}
TARGET_RATIO = 0.3  # the changelist's throughput against the bare view


# --- set-up ------------------------------------------------------------------------------------


def configure() -> Databases:
    """Set every setting the script relies on in ``os.environ``, before Django starts."""
    databases = isolated_environment(script="bench/admin_pages.py", prefix="adminbench", settings_module="bench.settings",
                                     tunable=TUNABLE)
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(60)
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    return databases


def database_url(databases: Databases, name: str) -> str:
    """The URL gunicorn's workers use for the database ``name``."""
    if databases.vendor == "sqlite":
        return f"sqlite:///{name}"
    return urlunsplit(urlsplit(databases.admin_url)._replace(path=f"/{name}"))


# --- the pages ---------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    status: int = 0
    size: int = 0
    queries: int | None = None
    load: Load | None = None
    bare: Load | None = None  # the bare view's run right before this page's
    note: str = ""
    runs: list[Load] = field(default_factory=list)  # the bare view's: every run


@dataclass
class Load:
    requests: int
    seconds: float
    p50: float  # milliseconds
    p95: float
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


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


def count_queries(client, page: Page) -> None:
    """Status, size and queries of one request, in this process, on the same database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(page.path)  # warms this process's caches (content types, templates, translations)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.path)
    page.queries = len(captured.captured_queries)
    if response.status_code in (301, 302):
        page.note = f"-> {response['Location']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """The project's WSGI app under gunicorn, on a free local port, for one database."""

    def __init__(self, url: str, workers: int, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / f"gunicorn-{self.port}.log"
        env = {**os.environ, "DATABASE_URL": url}
        command = [str(Path(sys.executable).with_name("gunicorn")), "returns_portal.wsgi:application",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--worker-class", "sync",
                   "--timeout", "300", "--chdir", str(ROOT), "--pythonpath", str(ROOT), "--log-level", "warning"]
        if not Path(command[0]).exists():
            command[0:1] = [sys.executable, "-m", "gunicorn"]
        with self.log.open("wb") as log:
            # A session of its own: stopping it stops the master and its workers, and nothing else.
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start:\n{self.log.read_text()[-3000:]}")
            try:
                if get(self.port, "/bench/bare/", {})[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not answer within 60 s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # its own process group: the master and its workers
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def get(port: int, path: str, headers: dict, timeout: float = 300) -> tuple[int, int]:
    """One GET, redirects not followed: (status, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={**PROXY_HEADERS, **headers})
        response = connection.getresponse()
        return response.status, len(response.read())
    finally:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def load_python(port: int, path: str, headers: dict, concurrency: int, seconds: float) -> Load:
    """``concurrency`` threads, each sending one request after the other for ``seconds``; the
    requests under way at the end are waited for and counted (and the time with them)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    started = time.perf_counter()
    stop = started + seconds

    def run() -> None:
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            try:
                status, _size = get(port, path, headers)
            except OSError:
                status = 0
            with lock:
                latencies.append((time.perf_counter() - sent) * 1000)
                errors[0] += status != 200

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if not latencies:
        return Load(0, elapsed, 0, 0, errors[0])
    return Load(len(latencies), elapsed, percentile(latencies, 0.5), percentile(latencies, 0.95), errors[0])


WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(95)))
end
"""


def load_wrk(port: int, path: str, headers: dict, concurrency: int, seconds: float, workdir: Path) -> Load:
    script = workdir / "report.lua"
    script.write_text(WRK_REPORT)
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "300s",
               "-s", str(script)]
    for name, value in {**PROXY_HEADERS, **headers}.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no report:\n{output}")
    requests, micros, errors, p50, p95 = map(int, match.groups())
    return Load(requests, micros / 1e6, p50 / 1000, p95 / 1000, errors)


def warm(port: int, path: str, headers: dict, concurrency: int) -> float:
    """``concurrency`` requests at once, so that every worker has served the page; returns the
    slowest one's seconds."""
    times: list[float] = []

    def one() -> None:
        sent = time.perf_counter()
        get(port, path, headers)
        times.append(time.perf_counter() - sent)

    threads = [threading.Thread(target=one) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return max(times)


# --- the run ---------------------------------------------------------------------------------


def bench(databases: Databases, n: int, args) -> list[Page]:
    started = time.perf_counter()
    name = databases.create(f"n{n}")
    seeded = seed(n)
    vendor = "PostgreSQL" if databases.vendor == "postgresql" else "SQLite"
    print(f"\nN={n} on {vendor}: seeded in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{v} {k}" for k, v in seeded.counts.items()), flush=True)

    pages = [page for page in pages_of(seeded) if not args.only or page.name in args.only]
    args.load_before = f"{os.getloadavg()[0]:.1f}"
    client = sign_in(seeded.supervisor_id)
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    for page in pages:
        count_queries(client, page)
    release()

    server = Gunicorn(database_url(databases, name), args.workers, databases.workdir)
    try:
        bare, *others = pages
        for page in pages:
            page.status, page.size = get(server.port, page.path, cookie)
            if page.status != 200:
                print(f"  {page.name}: HTTP {page.status}, not loaded {page.note}".rstrip(), flush=True)
        if bare.status != 200:
            raise SystemExit(f"the bare view answered HTTP {bare.status}: see {server.log}")
        warm(server.port, bare.path, cookie, args.concurrency)
        for page in [p for p in others if p.status == 200] or [bare]:
            slowest = warm(server.port, page.path, cookie, args.concurrency)
            seconds = max(args.duration, min(60.0, slowest * 3))
            page.bare = load(server.port, bare.path, cookie, args.duration, args, databases.workdir)
            bare.runs.append(page.bare)
            if page is not bare:
                page.load = load(server.port, page.path, cookie, seconds, args, databases.workdir, slowest)
                print(f"  {page.name}: {page.load.requests} requests in {page.load.seconds:.1f} s"
                      + (f", {page.load.errors} errors" if page.load.errors else "")
                      + f" (bare right before: {page.bare.rate:.1f} req/s)", flush=True)
        bare.load = Load(sum(r.requests for r in bare.runs), sum(r.seconds for r in bare.runs),
                         median(r.p50 for r in bare.runs), median(r.p95 for r in bare.runs),
                         sum(r.errors for r in bare.runs))
        bare.bare = bare.load
    finally:
        server.stop()
        databases.drop(name)
    return pages


def load(port: int, path: str, cookie: dict, seconds: float, args, workdir: Path, slowest: float = 0) -> Load:
    if args.loader == "python":  # waits for the requests under way at the end
        return load_python(port, path, cookie, args.concurrency, seconds)
    result = load_wrk(port, path, cookie, args.concurrency, seconds, workdir)
    # wrk leaves the requests under way at its end (and those queued at the server) to the
    # workers: the next run must not share them with those.
    time.sleep(max(result.p95 / 1000, slowest if result.requests < args.concurrency * 2 else 0))
    return result


def report(n: int, pages: list[Page], args) -> float | None:
    print(f"\nN={n}: {args.loader}, {args.concurrency} connections, gunicorn {args.workers} sync workers, "
          f"CONN_MAX_AGE={os.environ['CONN_MAX_AGE']}; bare = one SELECT 1 behind the project's middleware; "
          f"load average {args.load_before} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    print(f"{'page':<14}{'status':>7}{'queries':>8}{'budget':>9}{'KiB':>8}{'n':>7}{'req/s':>9}{'× bare':>8}"
          f"{'p50 ms':>9}{'p95 ms':>9}")
    ratio = None
    for page in pages:
        budget = BUDGETS.get(page.name)
        within = "" if budget is None or page.status != 200 else (
            f"≤{budget} ok" if page.queries <= budget else f"≤{budget} NO")
        row = f"{page.name:<14}{page.status:>7}{page.queries if page.queries is not None else '-':>8}{within:>9}"
        row += f"{page.size / 1024:>8.1f}"
        if page.load:
            times = page.load.rate / page.bare.rate if page.bare.rate else 0
            row += (f"{page.load.requests:>7}{page.load.rate:>9.1f}{times:>8.3f}{page.load.p50:>9.0f}"
                    f"{page.load.p95:>9.0f}")
            if page.name == "changelist":
                ratio = times
        else:
            row += f"{'-':>7}{'-':>9}{'-':>8}{'-':>9}{'-':>9}"
        print(row)
    if ratio is None:
        print("verdict: the changelist did not answer 200; no ratio")
    else:
        print(f"verdict: changelist {ratio:.3f}× bare: {'meets' if ratio >= TARGET_RATIO else 'misses'} "
              f"the target ≥ {TARGET_RATIO}×")
    return ratio


def _stopped(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[5000], help="numbers of disputes (default 5000)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per page (default 10)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections at once (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--loader", choices=["wrk", "python"], default=None,
                        help="load generator (default: wrk when installed, else python)")
    parser.add_argument("--only", type=lambda names: {"bare", *names.split(",")}, default=None,
                        help='comma-separated page names to run (bare always runs), e.g. "changelist,index"')
    args = parser.parse_args(argv)
    args.loader = args.loader or ("wrk" if shutil.which("wrk") else "python")
    if args.loader == "wrk" and not shutil.which("wrk"):
        sys.exit("--loader wrk: wrk is not installed (Debian: apt-get install wrk)")

    databases = configure()
    for stop in (signal.SIGTERM, signal.SIGHUP):  # a stop unwinds like Ctrl-C: gunicorn stopped, databases dropped
        signal.signal(stop, _stopped)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    ratio = None
    try:
        import django

        django.setup()
        import logging

        logging.getLogger("django.request").setLevel(logging.ERROR)  # the in-process 404 of a page not built yet
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # the production settings' manifest
        for n in args.sizes:
            ratio = report(n, bench(databases, n, args), args)
    finally:
        clean_up(databases)
    print(f"changelist_vs_bare={'none' if ratio is None else f'{ratio:.3f}'} at N={args.sizes[-1]}")


if __name__ == "__main__":
    main(sys.argv[1:])
