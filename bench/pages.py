#!/usr/bin/env python
"""Benchmark of the site's busiest pages against a bare Django view (a script, not a test).

    .venv/bin/python bench/pages.py                         (PostgreSQL at the default URL below)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pages.py --rounds 5
    .venv/bin/python bench/pages.py --only catalog,"my orders" --catalog-products 0
    .venv/bin/python bench/pages.py --profile "dispute 1000,seller desk"

The data: 1,000 disputes (the positional argument; bench/admin_data.py's marketplace: 7 stores,
states, kinds, routes and buyer countries spread as on a live marketplace, with timeline, return
leg, messages, evidence and refunds, and one escalated dispute with 1,000 events and 1,000
messages), 300 of them of the first store (Golden Dragon Trading); topped up to 5,000 products
(``--products``) over the 7 stores and 5 categories, and to 2,000 orders (``--orders``) of 1 to 3
lines, paid, shipped or delivered; the focus buyer (a buyer in Russia with a refunded local
return and its whole story) gets 60 of those orders and 90 notifications. Bulk-created, then
``VACUUM ANALYZE``.

The pages (``--only`` takes a comma-separated list of these names; the bare view always runs):

- ``bare``: ``/bench/bare/`` (bench/urls.py, reached only through bench/settings.py): one
  ``SELECT 1`` and a one-line text response, through every middleware of the project, anonymous;
- ``catalog`` ``/`` and ``catalog local`` ``/?local_return=on`` (the local-return filter), and
  ``product`` (a product page with local return), as an anonymous visitor;
- ``my orders`` ``/orders/``, ``dispute buyer`` (the refunded local return, 5 events, instructions,
  shipment, inspection, refund) and ``notifications`` ``/notifications/``, as the focus buyer;
  ``dispute 1000``: the long dispute as its buyer;
- ``dispute seller`` (the same refunded local return) and ``seller desk`` ``/seller/``, as a member
  of the first store;
- ``admin changelist`` ``/admin/disputes/dispute/``, as a supervisor (staff, not superuser).

Signed-in sessions are made in the database with Django's test client (``force_login``); the load
generator sends their cookie. Each page's queries are counted in-process with the test client and
``CaptureQueriesContext`` (the second of two requests) and printed at the seeded size.

The load (bench/serving.py's ``measure_rounds``): gunicorn with ``--workers`` sync workers
(default 2), the production settings (DEBUG off) and ``CONN_MAX_AGE`` from the environment
(default 60, as in production); every request says ``X-Forwarded-Proto: https``; ``--concurrency`` connections
(default 4) for ``--duration`` seconds (default 5) with wrk when installed, else Python threads.
The bare view and each page take turns: bare, page, bare, page… for ``--rounds`` rounds (default
3; round 1 of every page, then round 2…); a page's ratio in a round is its req/s ÷ the bare
view's req/s in the run right before it, so both meet the same neighbours on a shared machine.

The catalog at scale (``--catalog-products``, default 100,000; 0 skips it): a copy of the database
(``CREATE DATABASE … TEMPLATE``) is topped up to that many products (bulk inserts of 5,000 rows,
under a minute), both copies are served by their own gunicorn, and ``catalog`` and ``catalog
local`` are loaded on each in turn (small, large, small, large…); the time ratio of a round is the
small copy's req/s ÷ the large copy's.

Prints the load average, a row per page (status, queries, KiB, median req/s, p50 and p95 in ms
over the rounds, the ratio to bare: min, median, max, the target and whether the lowest round
meets it), the catalog-scale table, and as its last line ``pages_vs_bare=<lowest median ratio>
(<page>)``. Targets (issue 13): every page ≥ 0.5× bare, the admin changelist ≥ 0.3×; the catalog
at 100,000 products: the same queries and ≤ 1.5× its time at 5,000.

``--profile NAMES``: after the load, one request of each named page in this process under
cProfile (test client, after one warm-up request), the 15 functions with the largest cumulative
time.

Isolation: on PostgreSQL ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``)
is only an admin connection: the script creates databases named
``returns_portal_pagesbench_<pid>_<random hex>_<role>`` and drops those, and only those, at the
end (also on error, Ctrl-C or SIGTERM); ``DATABASE_URL=sqlite://`` uses throw-away files (no
catalog copy there). ``VAR_DIR``, media, static files (collected once into a temporary folder),
e-mail (``dummymail://``) and the Celery broker (kombu's filesystem transport) are set in the
environment before Django starts: a ``.env`` beside manage.py is never read; ``SECRET_KEY`` is
random per run.
"""
from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if __name__ == "__main__":  # started with any Python: run again with .venv/'s (dev.py installs it)
    from dev import use_virtualenv

    use_virtualenv(__file__, sys.argv[1:])

from bench.admin_data import seed as seed_disputes  # noqa: E402 - needs ROOT on sys.path
from bench.serving import (  # noqa: E402
    PROXY_HEADERS,
    Gunicorn,
    Load,
    Page,
    arguments,
    configure,
    count_queries,
    database_url,
    load,
    measure_rounds,
    run,
    warm,
)
from bench.sweep import Databases, release, use  # noqa: E402

PRODUCTS, ORDERS, DISPUTES, STORE_DISPUTES = 5000, 2000, 1000, 300
FOCUS_ORDERS, FOCUS_NOTIFICATIONS = 60, 90  # the focus buyer's extra orders and notifications
CATALOG_PRODUCTS = 100_000
TARGET, TARGETS = 0.5, {"admin changelist": 0.3}  # page req/s ÷ bare req/s
SCALE_TARGET = 1.5  # catalog time at --catalog-products ÷ at --products
SCALED = ("catalog", "catalog local")
NOUNS = ("watch", "jacket", "serum", "headphones", "lamp", "scarf", "charger", "mug", "backpack", "sneakers")
ADJECTIVES = ("classic", "compact", "deluxe", "everyday", "light", "pro", "soft", "travel", "vintage", "wireless")
PRICES = [Decimal(p) for p in ("290.00", "490.00", "990.00", "1290.00", "2490.00", "4990.00", "8990.00", "15990.00")]


@dataclass
class People:
    buyer_id: int  # the focus buyer (in Russia)
    big_buyer_id: int  # the long dispute's buyer
    seller_id: int  # a member of the first store
    supervisor_id: int
    dispute_id: int  # the focus buyer's refunded local return, of the first store
    big_id: int  # the long dispute (1,000 events, 1,000 messages)
    product_id: int  # a product with local return


# --- the data ----------------------------------------------------------------------------------


def add_products(total: int, rng) -> int:
    """Top the catalogue up to ``total`` products over the existing stores and categories (a
    store's products offer local return when its seeded ones do); 3% are off sale. Creation
    times spread over a year, newest last. Returns how many were added."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Category, Product, Store

    have = Product.objects.count()
    if total <= have:
        return 0
    stores = list(Store.objects.order_by("pk"))
    local = set(Product.objects.filter(local_return=True).values_list("store_id", flat=True))
    categories = list(Category.objects.order_by("pk"))
    words = {store.pk: store.name.split()[0] for store in stores}

    def product(i: int) -> Product:
        store = stores[i % len(stores)]
        title = f"{words[store.pk]} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {i}"
        return Product(store=store, category=categories[i // len(stores) % len(categories)], title=title,
                       description=f"A {title.lower()} from {store.name}.", price=rng.choice(PRICES),
                       currency="RUB", local_return=store.pk in local, is_active=rng.random() >= 0.03)

    added = total - have
    for start in range(have, total, 5000):
        Product.objects.bulk_create([product(i) for i in range(start, min(total, start + 5000))])
    if connection.vendor == "postgresql":  # creation times over a year, the newest with the highest id
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM catalog_product")
            last = cursor.fetchone()[0]
            cursor.execute("UPDATE catalog_product SET created_at = %s - (%s - id) * %s * interval '1 second'",
                           [timezone.now(), last, max(1, 365 * 86400 // total)])
    return added


def seed(n_disputes: int, n_products: int, n_orders: int, rng) -> People:
    """The marketplace of the module docstring."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Product
    from disputes.models import Dispute
    from notifications.models import Notification
    from orders.models import Order, OrderLine

    if n_orders < n_disputes:
        raise SystemExit("--orders must be at least the number of disputes (one order per dispute)")
    seeded = seed_disputes(n_disputes, store_disputes=min(STORE_DISPUTES, n_disputes - 1))
    full = Dispute.objects.select_related("buyer").get(pk=seeded.full_id)
    big = Dispute.objects.get(pk=seeded.big_id)
    add_products(n_products, rng)

    # The orders without a dispute: 1 to 3 lines of one store, paid, shipped or delivered.
    now = timezone.now()
    buyers = list(Order.objects.values_list("buyer_id", flat=True).distinct())
    products_of: dict[int, list[Product]] = {}
    for product in Product.objects.filter(is_active=True).order_by("pk")[:2000]:
        products_of.setdefault(product.store_id, []).append(product)
    stores = sorted(products_of)
    countries = dict(Order.objects.values_list("buyer_id", "delivery_country").distinct())
    extra = n_orders - n_disputes
    plans = []
    for i in range(extra):
        buyer = full.buyer_id if i < min(FOCUS_ORDERS, extra) else rng.choice(buyers)
        goods = rng.sample(products_of[rng.choice(stores)], rng.choice((1, 1, 1, 2, 3)))
        status = rng.choices(("delivered", "shipped", "paid"), (70, 20, 10))[0]
        created = now - timedelta(days=rng.uniform(1, 60))
        plans.append((buyer, goods, status, created))
    orders = Order.objects.bulk_create(
        (Order(number=f"BENCH-X{i:07d}", buyer_id=buyer, store=goods[0].store, status=status, currency="RUB",
               total=sum(p.price for p in goods), delivery_country=countries.get(buyer, "RU"),
               payment_reference=f"PAY-X{i:07d}", tracking_number="" if status == "paid" else f"TRKX{i:08d}",
               created_at=created, paid_at=created,
               shipped_at=None if status == "paid" else created + timedelta(days=2),
               delivered_at=created + timedelta(days=9) if status == "delivered" else None)
         for i, (buyer, goods, status, created) in enumerate(plans)), batch_size=2000)
    OrderLine.objects.bulk_create(
        (OrderLine(order=order, product=p, title=p.title, unit_price=p.price, quantity=1, line_total=p.price)
         for order, (_buyer, goods, _status, _created) in zip(orders, plans) for p in goods), batch_size=2000)

    # The focus buyer's notifications: what their disputes' story sends, a third unread.
    dispute, title = full.pk, full.order_line.title
    kinds = [("disputes.opened.buyer", {"order": full.order_line.order.number,
                                        "deadline": (now + timedelta(days=5)).isoformat()}),
             ("disputes.instructions_sent.buyer", {"dispute": dispute, "warehouse": {
                 "name": "Golden Dragon Trading Moscow", "address": "1 Warehouse Lane", "city": "Moscow",
                 "country": "RU"},
                                                   "carrier": "Russian Post", "rma": "RMA-0001",
                                                   "ship_by": (now + timedelta(days=10)).isoformat()}),
             ("disputes.message", {"dispute": dispute, "excerpt": "We are checking the parcel, please wait."}),
             ("disputes.inspected_accepted.buyer", {"dispute": dispute}),
             ("disputes.refund_paid.buyer", {"amount": "1290.00", "currency": "RUB", "title": title})]
    Notification.objects.bulk_create(
        Notification(recipient_id=full.buyer_id, key=kinds[k % len(kinds)][0], params=kinds[k % len(kinds)][1],
                     url=f"/disputes/{dispute}/", created_at=now - timedelta(hours=k * 7),
                     read_at=None if k % 3 == 0 else now - timedelta(hours=k * 7 - 1))
        for k in range(FOCUS_NOTIFICATIONS))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    product = Product.objects.filter(local_return=True, is_active=True, store__is_active=True).order_by("pk").first()
    return People(full.buyer_id, big.buyer_id, seeded.member_id, seeded.supervisor_id, full.pk, big.pk, product.pk)


# --- the pages ---------------------------------------------------------------------------------


def sessions(people: People) -> dict[str, object]:
    """A signed-in test client per role (its session in the database: the same cookie signs
    gunicorn's requests in), and an anonymous one."""
    from django.test import Client

    from accounts.models import User

    clients = {"anonymous": Client(headers=PROXY_HEADERS)}
    for role, user_id in (("buyer", people.buyer_id), ("big buyer", people.big_buyer_id),
                          ("seller", people.seller_id), ("supervisor", people.supervisor_id)):
        clients[role] = Client(headers=PROXY_HEADERS)
        clients[role].force_login(User.objects.get(pk=user_id))
    return clients


def pages_of(people: People) -> list[tuple[Page, str]]:
    from django.urls import reverse

    dispute = reverse("disputes:dispute_detail", args=[people.dispute_id])
    return [
        (Page("bare", "/bench/bare/"), "anonymous"),
        (Page("catalog", reverse("catalog:product_list")), "anonymous"),
        (Page("catalog local", reverse("catalog:product_list") + "?local_return=on"), "anonymous"),
        (Page("product", reverse("catalog:product_detail", args=[people.product_id])), "anonymous"),
        (Page("my orders", reverse("orders:order_list")), "buyer"),
        (Page("dispute buyer", dispute), "buyer"),
        (Page("dispute seller", dispute), "seller"),
        (Page("dispute 1000", reverse("disputes:dispute_detail", args=[people.big_id])), "big buyer"),
        (Page("seller desk", reverse("disputes:seller_desk")), "seller"),
        (Page("notifications", reverse("notifications:list")), "buyer"),
        (Page("admin changelist", reverse("admin:disputes_dispute_changelist")), "supervisor"),
    ]


def prepared(people: People, args) -> tuple[list[Page], dict]:
    """The pages wanted, each with its session cookie and its queries counted."""
    clients = sessions(people)
    pages = []
    for page, role in pages_of(people):
        if args.only and page.name not in args.only:
            continue
        client = clients[role]
        if role != "anonymous":
            page.headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
        count_queries(client, page)
        pages.append(page)
    return pages, {page.name: clients[role] for page, role in pages_of(people)}


# --- the report --------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {median(values):.2f} / {max(values):.2f}"


def report(pages: list[Page], args, load_before: float) -> tuple[float, str] | None:
    bare = pages[0]
    print(f"\n{args.loader}, {args.concurrency} connections, gunicorn {args.workers} sync workers, "
          f"CONN_MAX_AGE={os.environ['CONN_MAX_AGE']}, {args.rounds} rounds of {args.duration:g} s; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    print("ratio = page req/s ÷ bare req/s of the run right before it, per round: min / median / max")
    width = max(len(page.name) for page in pages) + 2
    print(f"{'page':<{width}}{'status':>7}{'queries':>8}{'KiB':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
          f"{'ratio min / med / max':>24}{'target':>8}  verdict")
    if bare.runs:
        print(f"{'bare':<{width}}{bare.status:>7}{bare.queries:>8}{bare.size / 1024:>7.1f}"
              f"{median(r.rate for r in bare.runs):>8.1f}{median(r.p50 for r in bare.runs):>8.0f}"
              f"{median(r.p95 for r in bare.runs):>8.0f}")
    lowest = None
    for page in pages[1:]:
        row = f"{page.name:<{width}}{page.status:>7}{page.queries if page.queries is not None else '-':>8}"
        row += f"{page.size / 1024:>7.1f}"
        if not page.rounds:
            print(row + f"{'-':>8}{'-':>8}{'-':>8}{'-':>24}")
            continue
        runs = [run_ for _bare, run_ in page.rounds]
        ratios = [run_.rate / before.rate if before.rate else 0.0 for before, run_ in page.rounds]
        target = TARGETS.get(page.name, TARGET)
        verdict = "meets" if min(ratios) >= target else "median meets" if median(ratios) >= target else "MISSES"
        errors = sum(run_.errors for run_ in runs)
        row += (f"{median(r.rate for r in runs):>8.1f}{median(r.p50 for r in runs):>8.0f}"
                f"{median(r.p95 for r in runs):>8.0f}{spread(ratios):>24}{f'≥{target}':>8}  {verdict}"
                + (f" ({errors} errors)" if errors else ""))
        print(row)
        if lowest is None or median(ratios) < lowest[0]:
            lowest = (median(ratios), page.name)
    return lowest


# --- the catalog at scale --------------------------------------------------------------------------


def catalog_scale(databases: Databases, name: str, small: list[Page], args, rng) -> None:
    """The catalog pages on a copy of ``name`` topped up to ``--catalog-products`` products,
    against the same pages on ``name``, in turn (module docstring)."""
    from django.test import Client

    from catalog.models import Product

    use(name)
    products = Product.objects.count()
    release()
    started = time.perf_counter()
    large_name = databases.create("catalog", template=name)
    added = add_products(args.catalog_products, rng)
    if databases.vendor == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"\ncatalog at scale: a copy topped up from {products} to {products + added} products "
          f"in {time.perf_counter() - started:.1f} s (VACUUM ANALYZE included)", flush=True)
    client = Client(headers=PROXY_HEADERS)
    pairs = []
    for page in small:
        twin = Page(page.name, page.path)
        count_queries(client, twin)
        pairs.append((page, twin))
    release()
    if not args.rounds:
        databases.drop(large_name)
        for page, twin in pairs:
            print(f"{page.name}: {page.queries} queries at {products} products, {twin.queries} at {products + added}")
        return
    servers = []
    try:
        servers = [Gunicorn(database_url(databases, name), args.workers, databases.workdir),
                   Gunicorn(database_url(databases, large_name), args.workers, databases.workdir)]
        rounds: dict[str, list[tuple[Load, Load]]] = {page.name: [] for page, _twin in pairs}
        slowest = {}
        for page, _twin in pairs:
            slowest[page.name] = max(warm(server.port, page.path, {}, args.concurrency) for server in servers)
        for _round in range(args.rounds):
            for page, _twin in pairs:
                seconds = max(args.duration, min(60.0, slowest[page.name] * 3))
                runs = tuple(load(server.port, page.path, {}, seconds, args, databases.workdir, slowest[page.name])
                             for server in servers)
                rounds[page.name].append(runs)
                print(f"  {page.name}: {runs[0].rate:.1f} req/s at {products}, {runs[1].rate:.1f} at "
                      f"{products + added}", flush=True)
    finally:
        for server in servers:
            server.stop()
        databases.drop(large_name)
    print(f"\ncatalog at {products} and at {products + added} products, served in turn, {args.rounds} rounds; "
          f"time ratio = req/s at {products} ÷ req/s at {products + added} per round: min / median / max")
    print(f"{'page':<15}{'queries':>12}{'req/s':>16}{'p95 ms':>12}{'time ratio':>22}{'target':>8}  verdict")
    for page, twin in pairs:
        runs = rounds[page.name]
        ratios = [a.rate / b.rate if b.rate else float("inf") for a, b in runs]
        same = page.queries == twin.queries
        verdict = ("meets" if same and max(ratios) <= SCALE_TARGET else
                   "median meets" if same and median(ratios) <= SCALE_TARGET else "MISSES")
        print(f"{page.name:<15}{f'{page.queries} → {twin.queries}':>12}"
              f"{f'{median(a.rate for a, _ in runs):.1f} → {median(b.rate for _, b in runs):.1f}':>16}"
              f"{f'{median(a.p95 for a, _ in runs):.0f} → {median(b.p95 for _, b in runs):.0f}':>12}"
              f"{spread(ratios):>22}{f'≤{SCALE_TARGET}':>8}  {verdict}"
              + ("" if same else " (queries differ)"))


# --- the profile -------------------------------------------------------------------------------


def profile(names: list[str], clients: dict, pages: list[Page]) -> None:
    """One request of each named page in this process under cProfile, after a warm-up one: the
    15 functions with the largest cumulative time, leaving out the request's own chain (95% or
    more of it: the test client, the middleware) and Django's template engine and handlers
    (under everything); then the request's own time by where it is spent, and each query's time
    in one more request, outside the profiler."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    by_name = {page.name: page for page in pages}
    for name in names:
        page = by_name.get(name)
        if page is None:
            print(f"\n--profile: no page {name!r} loaded (one of {', '.join(by_name)})")
            continue
        client = clients[name]
        client.get(page.path)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        client.get(page.path)
        profiler.disable()
        total = time.perf_counter() - started
        print(f"\nprofile of {name} {page.path}: one request in process, {total * 1000:.1f} ms under cProfile, "
              f"{page.queries} queries; top 15 by cumulative time outside "
              "Django's template engine and request plumbing")
        stats = pstats.Stats(profiler).stats  # (file, line, name) -> (primitive, calls, own, cumulative, callers)
        rows = [(cumulative, own, calls, where) for where, (_p, calls, own, cumulative, _c) in stats.items()]
        print(f"{'cum ms':>8}{'own ms':>8}{'calls':>9}  function")
        for cumulative, own, calls, where in sorted(
                (row for row in rows if row[0] < 0.95 * total and not engine(row[3][0])), reverse=True)[:15]:
            print(f"{cumulative * 1000:>8.1f}{own * 1000:>8.1f}{calls:>9}  {short(where)}")
        print("  own time by where it is spent: "
              + ", ".join(f"{part} {ms:.0f} ms" for part, ms in sorted(
                  own_by_part(rows).items(), key=lambda item: -item[1])))
        with CaptureQueriesContext(connection) as queries:  # each query's own time, outside the profiler
            client.get(page.path)
        for query in queries:
            print(f"  {float(query['time']) * 1000:6.1f} ms  {query['sql'][:120]}")


ENGINE = ("django/template/", "django/core/handlers/", "django/utils/deprecation.py", "django/test/")


def engine(file: str) -> bool:
    """Django's template engine and request plumbing: under everything, telling nothing."""
    return any(part in file for part in ENGINE)


def short(where: tuple) -> str:
    file, line, function = where
    return f"{file.split('site-packages/')[-1].replace(str(ROOT) + '/', '')}:{line}({function})"


def own_by_part(rows) -> dict[str, float]:
    """Own time in ms: the template engine, the ORM, the database (the driver's calls, waiting for
    the server included), Python's built-ins, the project's code, the rest of Django, the rest."""
    parts: dict[str, float] = {}
    for _cumulative, own, _calls, (file, _line, function) in rows:
        part = ("template engine" if "django/template/" in file else
                "ORM" if "django/db/" in file else
                "database (driver and server)" if "psycopg" in file + function or "sqlite3" in file + function else
                "Python built-ins" if file == "~" else
                "the project" if file.startswith(str(ROOT)) and "site-packages" not in file else
                "other Django" if "django/" in file else "other")
        parts[part] = parts.get(part, 0.0) + own * 1000
    return parts


# --- the run -----------------------------------------------------------------------------------


def bench(databases: Databases, n: int, args) -> None:
    import random

    # bandit: seeded pseudo-random benchmark data, no security use.
    rng = random.Random(n)  # nosec B311
    started = time.perf_counter()
    name = databases.create(f"n{n}")
    try:
        people = seed(n, args.products, args.orders, rng)
        from catalog.models import Product
        from disputes.models import Dispute
        from orders.models import Order

        vendor = "PostgreSQL" if databases.vendor == "postgresql" else "SQLite"
        print(f"\nseeded on {vendor} in {time.perf_counter() - started:.1f} s: {Product.objects.count()} products, "
              f"{Order.objects.count()} orders, {Dispute.objects.count()} disputes", flush=True)
        pages, clients = prepared(people, args)
        release()
        load_before = os.getloadavg()[0]
        server = Gunicorn(database_url(databases, name), args.workers, databases.workdir)
        try:
            measure_rounds(server.port, pages, args, databases.workdir)  # --rounds 0: the statuses only
        finally:
            server.stop()
        lowest = report(pages, args, load_before)
        if args.profile:
            use(name)
            profile(args.profile, clients, pages)
            release()
        small = [page for page in pages if page.name in SCALED and page.status == 200]
        if args.catalog_products and small and databases.vendor == "postgresql":
            catalog_scale(databases, name, small, args, rng)
        print("\n" + (f"pages_vs_bare={lowest[0]:.3f} ({lowest[1]})" if lowest else "pages_vs_bare=none"))
    finally:
        databases.drop(name)


def main(argv: list[str]) -> None:
    args = arguments(__doc__, argv, default_sizes=[DISPUTES], default_duration=5.0, extra=(
        (("--rounds",), {"type": int, "default": 3, "help": "rounds of bare, page (default 3)"}),
        (("--products",), {"type": int, "default": PRODUCTS, "help": f"products (default {PRODUCTS})"}),
        (("--orders",), {"type": int, "default": ORDERS, "help": f"orders (default {ORDERS})"}),
        (("--catalog-products",), {"type": int, "default": CATALOG_PRODUCTS,
                                   "help": f"products of the catalog-scale copy "
                                           f"(default {CATALOG_PRODUCTS}; 0 skips it)"}),
        (("--profile",), {"type": lambda names: names.split(","), "default": [],
                          "help": 'comma-separated page names to profile after the load, e.g. "dispute 1000"'}),
    ))
    if args.rounds < 0:
        sys.exit("--rounds must be at least 0 (0: the queries, the profile and the catalog's queries only)")
    databases = configure(script="bench/pages.py", prefix="pagesbench")
    run(databases, lambda n: bench(databases, n, args), args.sizes[:1])


if __name__ == "__main__":
    main(sys.argv[1:])
