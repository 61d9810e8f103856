"""What the page benches share (bench/admin_pages.py, bench/api.py, bench/pages.py,
bench/open_load.py): their isolated set-up, gunicorn on the script's own database, the load
generators (wrk, else Python threads), the run that loads a bare Django view right before each
page (``measure``), its interleaved rounds (``measure_rounds``: bare, page, bare, page… round
after round, each page with its own headers), and the table they print.

The server: gunicorn (requirements/runtime.txt) with the project's WSGI app
(``returns_portal.wsgi:application``) on a free port of 127.0.0.1, ``--workers`` sync workers
(default 2; ``Gunicorn(..., threads=T)``: gthread workers of T threads),
``DJANGO_SETTINGS_MODULE=bench.settings`` (the production settings, DEBUG off,
``ROOT_URLCONF=bench.urls``; ``CONN_MAX_AGE`` from the environment, default 60 as in production).
Every request says ``X-Forwarded-Proto: https``, as the TLS proxy in front of production does.

Per page: the status code and size of one response; the queries of one request counted
in-process with Django's test client and ``CaptureQueriesContext`` (the second of two requests,
so per-process caches are warm); then, for 200 answers only, ``--concurrency`` requests at
once to warm every worker (untimed) and a load of ``--concurrency`` connections (default 4)
for ``--duration`` seconds (default 10; up to 60 for a page whose single request takes more
than a third of it, so that a few requests complete): ``wrk`` (Debian: ``apt-get install
wrk``) when installed, else a loop of Python threads with ``http.client`` (``--loader``
forces one; wrk leaves the requests under way at its end to the workers, so the script
waits a p95, or its slowest warm-up request, before the next run).

The bare view is loaded for ``--duration`` right before each page, and each page's ratio is
to that run: on a machine whose cores other work shares, the two runs of a ratio meet the
same neighbours. The load average before and after is printed; compare ratios taken on the
same machine, not absolute numbers across machines.
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
# bandit: the benchmark starts gunicorn and wrk with fixed arguments.
import subprocess  # nosec B404
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sweep import Databases, clean_up, isolated_environment  # noqa: E402 - needs ROOT on sys.path

# Settings the pages depend on, at the documented defaults unless the environment (not .env)
# says otherwise.
TUNABLE = {
    "LANGUAGE_CODE": "en",
    "TIME_ZONE": "Europe/Moscow",
    "LOG_LEVEL": "WARNING",
    "CONN_MAX_AGE": "60",  # production's default: each worker keeps its connection
    "STAFF_REFUND_APPROVAL_LIMIT": "10000",
    "SELLER_RESPONSE_DAYS": "5",
    "BUYER_SHIP_DAYS": "10",
    "SELLER_RECEIPT_DAYS": "15",
    "ESCALATION_DAYS": "7",
    "STAFF_DECISION_DAYS": "7",
}
# Every client says what the TLS-terminating proxy in front of production says.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
BARE = "/bench/bare/"


# --- set-up ------------------------------------------------------------------------------------


def configure(*, script: str, prefix: str) -> Databases:
    """Set every setting the script relies on in ``os.environ``, before Django starts."""
    databases = isolated_environment(script=script, prefix=prefix, settings_module="bench.settings", tunable=TUNABLE)
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(60)
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    return databases


def database_url(databases: Databases, name: str) -> str:
    """The URL gunicorn's workers use for the database ``name``."""
    if databases.vendor == "sqlite":
        return f"sqlite:///{name}"
    return urlunsplit(urlsplit(databases.admin_url)._replace(path=f"/{name}"))


def arguments(doc: str, argv: list[str], *, default_sizes: list[int], extra=(),
              default_duration: float = 10) -> argparse.Namespace:
    """The options every page bench takes, and the script's own ``extra`` ones: (flags, keywords)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    for flags, options in extra:
        parser.add_argument(*flags, **options)
    parser.add_argument("sizes", nargs="*", type=int, default=default_sizes,
                        help=f"numbers of disputes (default {' '.join(map(str, default_sizes))})")
    parser.add_argument("--duration", type=float, default=default_duration,
                        help=f"seconds of load per page (default {default_duration:g})")
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
    return args


def _stopped(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def run(databases: Databases, each: Callable[[int], None], sizes: list[int]) -> None:
    """Start Django, collect the static files once, call ``each(n)`` for every size; the
    databases are dropped at the end, also on error, Ctrl-C or SIGTERM."""
    for stop in (signal.SIGTERM, signal.SIGHUP):  # a stop unwinds like Ctrl-C: gunicorn stopped, databases dropped
        signal.signal(stop, _stopped)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    try:
        import django

        django.setup()
        import logging

        logging.getLogger("django.request").setLevel(logging.ERROR)  # the in-process 404 of a page not built yet
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # the production settings' manifest
        for n in sizes:
            each(n)
    finally:
        clean_up(databases)


# --- the pages ---------------------------------------------------------------------------------


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
    headers: dict = field(default_factory=dict)  # the page's own (a session cookie), over the run's
    rounds: list[tuple[Load, Load]] = field(default_factory=list)  # measure_rounds: (bare, page) per round

    @property
    def ratio(self) -> float | None:
        if self.load is None or not self.bare or not self.bare.rate:
            return None
        return self.load.rate / self.bare.rate


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

    def __init__(self, url: str, workers: int, workdir: Path, *, threads: int = 0) -> None:
        """``threads``: gthread workers with that many threads each (default: sync workers)."""
        self.port = free_port()
        self.log = workdir / f"gunicorn-{self.port}.log"
        env = {**os.environ, "DATABASE_URL": url}
        command = [str(Path(sys.executable).with_name("gunicorn")), "returns_portal.wsgi:application",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                   "--timeout", "300", "--chdir", str(ROOT), "--pythonpath", str(ROOT), "--log-level", "warning"]
        command += ["--worker-class", "gthread", "--threads", str(threads)] if threads else ["--worker-class", "sync"]
        if not Path(command[0]).exists():
            command[0:1] = [sys.executable, "-m", "gunicorn"]
        with self.log.open("wb") as log:
            # A session of its own: stopping it stops the master and its workers, and nothing else.
            # bandit: gunicorn of this virtualenv, fixed arguments, no shell.
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,  # nosec B603
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start:\n{self.log.read_text()[-3000:]}")
            try:
                if get(self.port, BARE, {})[0] == 200:
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
    # bandit: wrk with a URL on 127.0.0.1 the benchmark built, no shell.
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # nosec B603
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


def load(port: int, path: str, headers: dict, seconds: float, args, workdir: Path, slowest: float = 0) -> Load:
    if args.loader == "python":  # waits for the requests under way at the end
        return load_python(port, path, headers, args.concurrency, seconds)
    result = load_wrk(port, path, headers, args.concurrency, seconds, workdir)
    # wrk leaves the requests under way at its end (and those queued at the server) to the
    # workers: the next run must not share them with those.
    time.sleep(max(result.p95 / 1000, slowest if result.requests < args.concurrency * 2 else 0))
    return result


# --- the run ---------------------------------------------------------------------------------


def measure(databases: Databases, name: str, pages: list[Page], headers: dict, args) -> None:
    """Serve the database ``name`` with gunicorn and load each page (the first is the bare
    view) as described in the module docstring; fills in each page's status, size and loads."""
    args.load_before = f"{os.getloadavg()[0]:.1f}"
    server = Gunicorn(database_url(databases, name), args.workers, databases.workdir)
    try:
        bare, *others = pages
        for page in pages:
            page.status, page.size = get(server.port, page.path, headers)
            if page.status != 200:
                print(f"  {page.name}: HTTP {page.status}, not loaded {page.note}".rstrip(), flush=True)
        if bare.status != 200:
            raise SystemExit(f"the bare view answered HTTP {bare.status}: see {server.log}")
        warm(server.port, bare.path, headers, args.concurrency)
        for page in [p for p in others if p.status == 200] or [bare]:
            slowest = warm(server.port, page.path, headers, args.concurrency)
            seconds = max(args.duration, min(60.0, slowest * 3))
            page.bare = load(server.port, bare.path, headers, args.duration, args, databases.workdir)
            bare.runs.append(page.bare)
            if page is not bare:
                page.load = load(server.port, page.path, headers, seconds, args, databases.workdir, slowest)
                print(f"  {page.name}: {page.load.requests} requests in {page.load.seconds:.1f} s"
                      + (f", {page.load.errors} errors" if page.load.errors else "")
                      + f" (bare right before: {page.bare.rate:.1f} req/s)", flush=True)
        bare.load = Load(sum(r.requests for r in bare.runs), sum(r.seconds for r in bare.runs),
                         median(r.p50 for r in bare.runs), median(r.p95 for r in bare.runs),
                         sum(r.errors for r in bare.runs))
        bare.bare = bare.load
    finally:
        server.stop()


def measure_rounds(port: int, pages: list[Page], args, workdir: Path) -> None:
    """Load the bare view and each page in turn, ``args.rounds`` times: bare, page, bare, page…
    (round 1 of every page, then round 2…), so that a page and the bare run its ratio is taken
    to meet the same neighbours on a shared machine. Each page with its own ``headers`` (the
    bare view with the bare page's). Fills ``page.rounds`` with (bare run, page run); pages
    not answering 200 are reported and skipped."""
    bare, *others = pages
    for page in pages:
        page.status, page.size = get(port, page.path, page.headers)
        if page.status != 200:
            print(f"  {page.name}: HTTP {page.status}, not loaded {page.note}".rstrip(), flush=True)
    if bare.status != 200:
        raise SystemExit(f"the bare view answered HTTP {bare.status}")
    warm(port, bare.path, bare.headers, args.concurrency)
    loaded = [page for page in others if page.status == 200]
    slowest = {page.name: warm(port, page.path, page.headers, args.concurrency) for page in loaded}
    for round_ in range(1, args.rounds + 1):
        for page in loaded:
            before = load(port, bare.path, bare.headers, args.duration, args, workdir)
            seconds = max(args.duration, min(60.0, slowest[page.name] * 3))
            run_ = load(port, page.path, page.headers, seconds, args, workdir, slowest[page.name])
            page.rounds.append((before, run_))
            bare.runs.append(before)
            ratio = run_.rate / before.rate if before.rate else 0.0
            print(f"  round {round_} {page.name}: {run_.rate:.1f} req/s"
                  + (f", {run_.errors} errors" if run_.errors else "")
                  + f" (bare right before: {before.rate:.1f} req/s): {ratio:.3f}×", flush=True)


def table(n: int, pages: list[Page], budgets: dict[str, int], args, *, bare_text: str) -> None:
    """Per page: status, queries and its budget, KiB, requests completed, req/s, ratio to the
    bare run right before it, p50 and p95 in ms (the bare row pools its runs, with the median
    of their percentiles)."""
    width = max(14, *(len(page.name) + 2 for page in pages))
    print(f"\nN={n}: {args.loader}, {args.concurrency} connections, gunicorn {args.workers} sync workers, "
          f"CONN_MAX_AGE={os.environ['CONN_MAX_AGE']}; bare = {bare_text}; "
          f"load average {args.load_before} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    print(f"{'page':<{width}}{'status':>7}{'queries':>8}{'budget':>9}{'KiB':>8}{'n':>7}{'req/s':>9}{'× bare':>8}"
          f"{'p50 ms':>9}{'p95 ms':>9}")
    for page in pages:
        budget = budgets.get(page.name)
        within = "" if budget is None or page.status != 200 else (
            f"≤{budget} ok" if page.queries <= budget else f"≤{budget} NO")
        row = f"{page.name:<{width}}{page.status:>7}{page.queries if page.queries is not None else '-':>8}{within:>9}"
        row += f"{page.size / 1024:>8.1f}"
        if page.load:
            row += (f"{page.load.requests:>7}{page.load.rate:>9.1f}{page.ratio or 0:>8.3f}{page.load.p50:>9.0f}"
                    f"{page.load.p95:>9.0f}")
        else:
            row += f"{'-':>7}{'-':>9}{'-':>8}{'-':>9}{'-':>9}"
        print(row)
