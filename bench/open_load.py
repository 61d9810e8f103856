#!/usr/bin/env python
"""Benchmark of many buyers opening disputes at once (a script, not a test).

    .venv/bin/python bench/open_load.py                      (PostgreSQL at the default URL below)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/open_load.py --duration 60
    .venv/bin/python bench/open_load.py --workers 4 --threads 4 --follow

The data: one store (ships from China, local return offered, its own return warehouse in Moscow,
two members), 20 products in a category that allows local return, and ``--buyers`` buyers
(default 50) in Russia, each with ``--lines`` delivered order lines (default 80: 20 orders of
4 lines, delivered two days ago, inside buyer protection) and a password; bulk-created, then
``VACUUM ANALYZE``.

The server: gunicorn with ``--workers`` gthread workers (default 4) of ``--threads`` threads
(default 4), the production settings (DEBUG off; bench/settings.py raises the per-buyer limit
on opening disputes, see there) and ``CONN_MAX_AGE`` from the environment (default 60, as in production).

The load: one Python thread per buyer, each with its own keep-alive connection, as a browser
(every request says ``X-Forwarded-Proto: https``; the posts carry ``Origin`` and ``Referer``, as
Django's CSRF check over HTTPS wants):

1. untimed, all buyers at once: the log-in page (GET, its CSRF token), the log-in form (POST of
   the buyer's username and password: 302); django-axes counts failures per username and
   address, and each buyer logs in once, with the right password;
2. timed, for ``--duration`` seconds (default 30): each buyer, line after line of their own,
   opens the dispute page (GET ``/orders/lines/<id>/dispute/``: 200, its CSRF token and the
   compensation the form proposes) and posts the form as a browser does (multipart: the token,
   kind ``return``, route ``local``, the proposed amount, reason ``changed_mind``, an empty
   description and an empty evidence field; a local return needs no photo): 302 to the new
   dispute. ``--follow`` also loads the dispute page the answer points to, as a browser would.

The bare view (``/bench/bare/``: one ``SELECT 1``, anonymous) is loaded by the same client with
as many threads (``--buyers``) for ``--bare-duration`` seconds (default 10) right before and
right after the disputes, on the same server: its p95 under the same concurrency.

Prints disputes opened per second, p50/p95 of the open-dispute POST (and of the form's GET),
the bare view's p95 before and after, the POST's p95 ÷ the bare p95 (their mean), HTTP errors
(every answer not the expected one, by step and code; 0 is a connection error), the disputes
in the database against the 302s counted, and duplicate open disputes per line, counted in the
database (``GROUP BY order_line_id HAVING count(*) > 1`` over disputes not refunded or closed;
lines with more than one dispute of any state, too), with the targets of issue 13 beside:
p95 ≤ 3× bare p95, ≥ 40 disputes/s, 0 errors, 0 duplicates. The last line is
``open_load=<disputes/s> disputes/s, p95 <ratio>× bare``.

Isolation: on PostgreSQL ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``)
is only an admin connection: the script creates one database named
``returns_portal_openload_<pid>_<random hex>_run`` and drops it, and only it, at the end (also
on error, Ctrl-C or SIGTERM). ``VAR_DIR``, media, static files (collected once into a temporary
folder), e-mail (``dummymail://``) and the Celery broker (kombu's filesystem transport: the
e-mails to the store are queued there, never sent) are set in the environment before Django
starts: a ``.env`` beside manage.py is never read; ``SECRET_KEY`` and the buyers' password are
random per run. ``DATABASE_URL=sqlite://`` runs too, on a throw-away file, but SQLite's one
writer is not what this measures.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from statistics import mean
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if __name__ == "__main__":  # started with any Python: run again with .venv/'s (dev.py installs it)
    from dev import use_virtualenv

    use_virtualenv(__file__, sys.argv[1:])

from bench.serving import PROXY_HEADERS, Gunicorn, configure, database_url, percentile, run  # noqa: E402
from bench.sweep import Databases, release, use  # noqa: E402

BUYERS, LINES_PER_ORDER = 50, 4
TARGET_P95_RATIO, TARGET_RATE = 3.0, 40.0
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
AMOUNT = re.compile(r'<input[^>]*name="amount"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


# --- the data ----------------------------------------------------------------------------------


@dataclass
class Buyer:
    username: str
    lines: list[int]  # their delivered order lines, none disputed
    cookies: dict[str, str] = field(default_factory=dict)


def seed(buyers: int, lines: int, password: str) -> list[Buyer]:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import user_emails_mark_verified_new
    from catalog.tests.factories import CategoryFactory, ProductFactory, StoreFactory, WarehouseFactory
    from orders.models import Order, OrderLine

    call_command("migrate", verbosity=0)
    store = StoreFactory(name="Golden Dragon Trading", country="CN")
    WarehouseFactory(name="Golden Dragon Trading Moscow", store=store, country="RU", accepts_returns=True)
    category = CategoryFactory(name="Electronics", slug="bench-electronics", kind="electronics")
    prices = [Decimal(p) for p in ("490.00", "1290.00", "2490.00", "4990.00")]
    products = [ProductFactory(store=store, category=category, title=f"Gadget {k + 1}", price=prices[k % 4],
                               local_return=True) for k in range(20)]
    hashed = make_password(password)  # one hash for every buyer: the same work at each log-in
    unusable = make_password(None)
    User.objects.bulk_create(User(username=f"bench-seller-{k}", email=f"seller{k}@example.com", store=store,
                                  password=unusable) for k in (1, 2))
    people = User.objects.bulk_create(
        User(username=f"bench-buyer-{i:03d}", email=f"buyer{i}@example.com", first_name="Buyer", last_name=f"{i}",
             country="RU", password=hashed) for i in range(buyers))
    user_emails_mark_verified_new(users=people)  # a verified address: allauth's login form lets them in
    delivered = timezone.now() - timedelta(days=2)
    per_buyer = -(-lines // LINES_PER_ORDER)
    orders = Order.objects.bulk_create(
        (Order(number=f"OPEN-{b:03d}-{k:04d}", buyer=buyer, store=store, status=Order.Status.DELIVERED, currency="RUB",
               total=sum(products[(b + k + j) % 20].price for j in range(LINES_PER_ORDER)), delivery_country="RU",
               created_at=delivered - timedelta(days=10), paid_at=delivered - timedelta(days=10),
               shipped_at=delivered - timedelta(days=6), delivered_at=delivered)
         for b, buyer in enumerate(people) for k in range(per_buyer)), batch_size=2000)
    OrderLine.objects.bulk_create(
        (OrderLine(order=order, product=products[(b + k + j) % 20], title=products[(b + k + j) % 20].title,
                   unit_price=products[(b + k + j) % 20].price, quantity=1,
                   line_total=products[(b + k + j) % 20].price)
         for b in range(buyers) for k, order in enumerate(orders[b * per_buyer:(b + 1) * per_buyer])
         for j in range(LINES_PER_ORDER)), batch_size=2000)
    result = []
    for person in people:
        ids = list(OrderLine.objects.filter(order__buyer=person).order_by("pk").values_list("pk", flat=True))
        result.append(Buyer(person.username, ids[:lines]))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return result


# --- the browser -------------------------------------------------------------------------------


class Browser:
    """One buyer's keep-alive connection and cookies; redirects are not followed."""

    def __init__(self, port: int, buyer: Buyer | None = None) -> None:
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.buyer = buyer
        self.cookies = buyer.cookies if buyer else {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
                ) -> tuple[int, str, str]:
        """(status, body text, Location); status 0: the connection failed."""
        headers = {**PROXY_HEADERS, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        for attempt in (1, 2):  # a keep-alive connection the server closed is opened again once
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2 or method == "POST":  # a post is never sent twice
                    return 0, "", ""
                continue
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            return response.status, text, response.getheader("Location", "")
        return 0, "", ""

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str, str]:
        return self.request("POST", path, body, {"Content-Type": content_type, "Origin": self.origin,
                                                 "Referer": self.origin + path})

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def multipart(fields: list[tuple[str, str]], empty_files: list[str]) -> tuple[bytes, str]:
    """A form as a browser sends it with ``enctype="multipart/form-data"``; a file field left
    empty is a part with an empty file name."""
    boundary = "----BenchBoundary" + secrets.token_hex(8)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename=""\r\n'
              f"Content-Type: application/octet-stream\r\n\r\n\r\n" for name in empty_files]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Tally:
    """What every thread saw, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: Counter = field(default_factory=Counter)  # (step, status) -> count
    posts: list[float] = field(default_factory=list)  # ms of each 302 POST
    forms: list[float] = field(default_factory=list)  # ms of each form GET
    follows: list[float] = field(default_factory=list)
    opened: int = 0
    ran_out: int = 0
    client_cpu: float = 0.0  # CPU seconds of this process (the clients) while the disputes were opened

    def error(self, step: str, status: int) -> None:
        with self.lock:
            self.errors[(step, status)] += 1


def log_in(browser: Browser, password: str, tally: Tally) -> bool:
    status, page, _ = browser.request("GET", "/accounts/login/")
    token = TOKEN.search(page)
    if status != 200 or token is None:
        tally.error("login GET", status)
        return False
    body = urlencode({"csrfmiddlewaretoken": token.group(1), "login": browser.buyer.username,
                      "password": password}).encode()
    status, _, _ = browser.post("/accounts/login/", body, "application/x-www-form-urlencoded")
    if status != 302 or "sessionid" not in browser.cookies:
        tally.error("login POST", status)
        return False
    return True


def open_disputes(browser: Browser, stop: float, tally: Tally, follow: bool) -> None:
    """Line after line until ``stop``: the form (GET), the form posted (POST), the dispute
    page when ``follow``."""
    lines = iter(browser.buyer.lines)
    while time.perf_counter() < stop:
        line = next(lines, None)
        if line is None:
            with tally.lock:
                tally.ran_out += 1
            return
        path = f"/orders/lines/{line}/dispute/"
        sent = time.perf_counter()
        status, page, _ = browser.request("GET", path)
        got = time.perf_counter()
        token, amount = TOKEN.search(page), AMOUNT.search(page)
        value = VALUE.search(amount.group(0)) if amount else None
        if status != 200 or token is None or value is None:
            tally.error("form GET", status)
            continue
        body, content_type = multipart(
            [("csrfmiddlewaretoken", token.group(1)), ("kind", "return"), ("route", "local"),
             ("amount", value.group(1)), ("reason", "changed_mind"), ("description", "")], ["evidence"])
        posted = time.perf_counter()
        status, _, location = browser.post(path, body, content_type)
        done = time.perf_counter()
        if status != 302 or not re.search(r"/disputes/\d+/$", location):
            tally.error("open POST", status)
            continue
        with tally.lock:
            tally.opened += 1
            tally.forms.append((got - sent) * 1000)
            tally.posts.append((done - posted) * 1000)
        if follow:
            status, _, _ = browser.request("GET", location)
            with tally.lock:
                tally.follows.append((time.perf_counter() - done) * 1000)
            if status != 200:
                tally.error("dispute GET", status)


def load_bare(port: int, threads: int, seconds: float) -> tuple[int, float, list[float], Counter]:
    """``threads`` anonymous keep-alive clients on the bare view: (requests, seconds, ms each, errors)."""
    latencies: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()
    started = time.perf_counter()
    stop = started + seconds

    def one() -> None:
        browser = Browser(port)
        try:
            while time.perf_counter() < stop:
                sent = time.perf_counter()
                status, _, _ = browser.request("GET", "/bench/bare/")
                with lock:
                    latencies.append((time.perf_counter() - sent) * 1000)
                    if status != 200:
                        errors[("bare GET", status)] += 1
        finally:
            browser.close()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(latencies), time.perf_counter() - started, latencies, errors


def in_parallel(target, items) -> None:
    workers = [threading.Thread(target=target, args=(item,)) for item in items]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


# --- the run -----------------------------------------------------------------------------------


def duplicates() -> tuple[int, int, int]:
    """(disputes, lines with more than one dispute not refunded or closed, lines with more than
    one dispute at all), counted in the database."""
    from django.db import connection

    from disputes.models import Dispute

    table = Dispute._meta.db_table
    with connection.cursor() as cursor:
        # bandit: the model's own table name, no user input.
        cursor.execute(f"SELECT count(*) FROM {table}")  # nosec B608
        total = cursor.fetchone()[0]
        # bandit: the model's own table name, no user input.
        cursor.execute(f"SELECT count(*) FROM (SELECT order_line_id FROM {table} "  # nosec B608
                       "WHERE state NOT IN ('refunded', 'closed') GROUP BY order_line_id HAVING count(*) > 1) AS d")
        open_twice = cursor.fetchone()[0]
        # bandit: as above.
        cursor.execute(f"SELECT count(*) FROM (SELECT order_line_id FROM {table} "  # nosec B608
                       "GROUP BY order_line_id HAVING count(*) > 1) AS d")
        twice = cursor.fetchone()[0]
    return total, open_twice, twice


def bench(databases: Databases, args) -> None:
    password = secrets.token_urlsafe(16)
    started = time.perf_counter()
    name = databases.create("run")
    try:
        buyers = seed(args.buyers, args.lines, password)
        print(f"seeded in {time.perf_counter() - started:.1f} s: {args.buyers} buyers with {args.lines} delivered "
              f"lines each", flush=True)
        release()
        server = Gunicorn(database_url(databases, name), args.workers, databases.workdir, threads=args.threads)
        tally = Tally()
        browsers = [Browser(server.port, buyer) for buyer in buyers]
        try:
            started = time.perf_counter()
            signed = []
            in_parallel(lambda b: log_in(b, password, tally) and signed.append(b), browsers)
            print(f"{len(signed)} of {len(browsers)} buyers logged in in {time.perf_counter() - started:.1f} s",
                  flush=True)
            load_before = os.getloadavg()[0]
            before = load_bare(server.port, args.buyers, args.bare_duration)
            print(f"bare before: {before[0] / before[1]:.1f} req/s, p95 {percentile(before[2], 0.95):.0f} ms",
                  flush=True)
            started, cpu = time.perf_counter(), time.process_time()
            stop = started + args.duration
            in_parallel(lambda b: open_disputes(b, stop, tally, args.follow), signed)
            elapsed = time.perf_counter() - started
            tally.client_cpu = time.process_time() - cpu
            after = load_bare(server.port, args.buyers, args.bare_duration)
            print(f"bare after: {after[0] / after[1]:.1f} req/s, p95 {percentile(after[2], 0.95):.0f} ms", flush=True)
        finally:
            for browser in browsers:
                browser.close()
            server.stop()
        use(name)
        total, open_twice, twice = duplicates()
        release()
        report(args, tally, elapsed, before, after, total, open_twice, twice, load_before)
    finally:
        databases.drop(name)


def report(args, tally: Tally, elapsed: float, before, after, total: int, open_twice: int, twice: int,
           load_before: float) -> None:
    errors = tally.errors + before[3] + after[3]
    rate = tally.opened / elapsed if elapsed else 0.0
    bare_p95s = [percentile(run_[2], 0.95) for run_ in (before, after) if run_[2]]
    bare_p95 = mean(bare_p95s) if bare_p95s else 0.0
    p50 = percentile(tally.posts, 0.5) if tally.posts else 0.0
    p95 = percentile(tally.posts, 0.95) if tally.posts else 0.0
    ratio = p95 / bare_p95 if bare_p95 else float("inf")

    def verdict(ok: bool) -> str:
        return "meets" if ok else "MISSES"

    print(f"\n{args.buyers} buyers, {args.duration:g} s, gunicorn {args.workers} gthread workers × {args.threads} "
          f"threads, CONN_MAX_AGE={os.environ['CONN_MAX_AGE']}, Python keep-alive clients"
          + (", following the redirect to the dispute page" if args.follow else "")
          + f"; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    print(f"{'measure':<44}{'value':>14}{'target':>10}  verdict")
    print(f"{'disputes opened per second':<44}{rate:>14.1f}{f'≥{TARGET_RATE:g}':>10}  {verdict(rate >= TARGET_RATE)}")
    print(f"{'  disputes opened (302) in ' + f'{elapsed:.1f} s':<44}{tally.opened:>14}")
    print(f"{'open-dispute POST p50 / p95, ms':<44}{f'{p50:.0f} / {p95:.0f}':>14}")
    if tally.forms:
        print(f"{'  the form GET before it, p50 / p95, ms':<44}"
              f"{f'{percentile(tally.forms, 0.5):.0f} / {percentile(tally.forms, 0.95):.0f}':>14}")
    if tally.follows:
        print(f"{'  the dispute page after it, p50 / p95, ms':<44}"
              f"{f'{percentile(tally.follows, 0.5):.0f} / {percentile(tally.follows, 0.95):.0f}':>14}")
    print(f"{f'bare p95 before / after ({args.buyers} clients), ms':<44}"
          f"{' / '.join(f'{p:.0f}' for p in bare_p95s):>14}")
    print(f"{'  bare req/s before / after':<44}"
          f"{f'{before[0] / before[1]:.0f} / {after[0] / after[1]:.0f}':>14}")
    print(f"{'POST p95 ÷ bare p95 (mean of the two)':<44}{ratio:>14.2f}{f'≤{TARGET_P95_RATIO:g}':>10}  "
          f"{verdict(ratio <= TARGET_P95_RATIO)}")
    print(f"{'HTTP errors':<44}{sum(errors.values()):>14}{'0':>10}  {verdict(not errors)}")
    for (step, status), count in sorted(errors.items()):
        print(f"  {step} {'connection error' if status == 0 else f'HTTP {status}'}: {count}")
    print(f"{'disputes in the database / 302s counted':<44}{f'{total} / {tally.opened}':>14}{'equal':>10}  "
          f"{verdict(total == tally.opened)}")
    print(f"{'lines with 2+ open disputes (database)':<44}{open_twice:>14}{'0':>10}  {verdict(not open_twice)}")
    print(f"{'lines with 2+ disputes of any state':<44}{twice:>14}{'0':>10}  {verdict(not twice)}")
    print(f"the clients (this process) used {tally.client_cpu:.1f} CPU seconds of the {elapsed:.1f} s of opening "
          f"disputes: {tally.client_cpu / elapsed if elapsed else 0:.2f} of the machine's {os.cpu_count()} cores")
    if tally.ran_out:
        print(f"note: {tally.ran_out} buyers ran out of lines before the end: raise --lines")
    print(f"\nopen_load={rate:.1f} disputes/s, p95 {ratio:.2f}× bare")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=BUYERS, help=f"buyers at once (default {BUYERS})")
    parser.add_argument("--duration", type=float, default=30, help="seconds of opening disputes (default 30)")
    parser.add_argument("--bare-duration", type=float, default=10,
                        help="seconds of the bare view before and after (default 10)")
    parser.add_argument("--lines", type=int, default=80, help="delivered lines per buyer (default 80)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn gthread workers (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--follow", action="store_true", help="also load the dispute page each POST points to")
    args = parser.parse_args(argv)
    if args.buyers < 1 or args.lines < 1 or args.threads < 1:
        sys.exit("--buyers, --lines and --threads must be at least 1")
    databases = configure(script="bench/open_load.py", prefix="openload")
    run(databases, lambda _n: bench(databases, args), [0])


if __name__ == "__main__":
    main(sys.argv[1:])
