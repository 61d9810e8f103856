"""Fault: the Celery broker (Redis) stops while buyers act; the work is caught up on restart.

The test starts a Redis server of its own on a free port (never a developer's or the suite's
shared one), points this process's Celery app at it with tasks really queued (not run
inline), and stops the server. A buyer then opens a dispute, posts a message and accepts a
counter-offer through the pages: each answer is the usual redirect, the data is committed,
and each task that could not be queued is logged (``returns_portal.jobs``,
``webhooks.outbox``), not raised. The server is started again (empty: what it held is gone
too), the periodic catch-up jobs of the beat schedule are queued through it, and a real
worker on the restarted Redis pays the refund, sends the e-mails owed and delivers the
webhooks, all checked in the database.

The catch-up jobs leave alone what may still be in flight: e-mails younger than a minute
(``RESEND_AFTER``) and webhook deliveries queued less than a lease ago. The worker's clock
cannot be moved, so those timestamps are set back instead, as if the beat ran that much later.

PostgreSQL (the worker is another process and must see the test database) and redis-server.
"""
import http.server
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import kombu.pools
import pytest
import redis
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import SellerFactory
from disputes.models import Dispute, DisputeMessage, Refund
from disputes.tasks import pay_due_refunds
from disputes.tests.factories import DisputeFactory, disputable_line
from notifications.models import Notification
from notifications.tasks import send_unsent_notification_emails
from orders.models import OrderLine
from returns_portal.celery import app
from webhooks.models import WebhookDelivery
from webhooks.tasks import deliver_due_webhooks
from webhooks.tests.factories import EndpointFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")
WAIT_SECONDS = 120
PAID = Decimal("2490.00")
OFFER = Decimal("1500.00")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A redis-server of this test's own, on its own port, with nothing on disk: stopped and
    started again at will (a restarted server is empty)."""

    def __init__(self, folder: str) -> None:
        self.folder, self.port, self.process = folder, _free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", self.folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.RedisError:
                assert self.process.poll() is None, f"{REDIS_SERVER} exited with {self.process.returncode}"
                assert time.monotonic() < deadline, f"{REDIS_SERVER} did not answer on port {self.port}"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def down(self) -> bool:
        try:
            redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return True
        return False


@pytest.fixture
def own_redis():
    if shutil.which(REDIS_SERVER) is None:
        pytest.skip(f"needs {REDIS_SERVER} on the PATH (Debian: apt-get install redis-server)")
    folder = tempfile.mkdtemp(prefix="test-redis-fault-")
    server = OwnRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _drop_broker_connections() -> None:
    """Close the process's broker connections and forget its pools (kombu keeps them in
    global registries, one per broker URL), so the next task opens fresh ones."""
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def celery_on(broker_url: str):
    """This process's Celery app queues tasks on ``broker_url`` instead of running them inline."""
    names = ("broker_url", "task_always_eager", "broker_transport_options")
    saved = {name: app.conf[name] for name in names}
    _drop_broker_connections()
    app.conf.update(broker_url=broker_url, task_always_eager=False, broker_transport_options={})
    try:
        yield
    finally:
        _drop_broker_connections()
        app.conf.update(saved)


class Hooks(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def webhook_receiver():
    Hooks.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@contextmanager
def worker_on(broker_url: str, var_dir: Path):
    """A real Celery worker (no beat) on ``broker_url`` and the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "returns_portal.settings.local",
        "ENV_FILE": "",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "VAR_DIR": str(var_dir),
        "EMAIL_URL": "dummymail://",
        "WEBHOOK_ALLOW_HTTP": "true",
        "DEBUG": "off",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "returns_portal", "worker", "--pool=solo", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(worker.stdout), daemon=True).start()
    try:
        yield worker, log
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def owed() -> dict:
    """The work still owed to people and stores."""
    return {
        "refunds unpaid": Refund.objects.exclude(status=Refund.Status.PAID).count(),
        "e-mails unsent": Notification.objects.filter(emailed_at__isnull=True).count(),
        "webhooks undelivered": WebhookDelivery.objects.exclude(state=WebhookDelivery.State.DELIVERED).count(),
    }


def test_buyers_act_while_redis_is_down_and_the_work_is_caught_up_when_it_is_back(own_redis, tmp_path, caplog):
    # Given a buyer with a delivered line and a dispute with a counter-offer, a store with a
    # member and a webhook endpoint that answers
    line = disputable_line(price=PAID)
    buyer, store = line.order.buyer, line.order.store
    seller = SellerFactory(store=store)
    offered = DisputeFactory(state=Dispute.State.COUNTER_OFFERED, buyer=buyer, store=store,
                             counter_offer_amount=OFFER)
    with webhook_receiver() as hook_url, celery_on(own_redis.url):
        EndpointFactory(store=store, url=hook_url)
        client = Client()
        client.force_login(buyer)

        # When Redis stops, and then the buyer opens a local return, writes to the seller and
        # takes the counter-offer
        own_redis.stop()
        assert own_redis.down()
        with caplog.at_level(logging.ERROR):
            opened = client.post(reverse("disputes:dispute_open", args=[line.pk]), {
                "kind": "return", "route": "local", "amount": "2490.00", "reason": "changed_mind",
                "description": "Not the colour I wanted."})
            dispute = Dispute.objects.get(order_line=line)
            written = client.post(reverse("disputes:dispute_message", args=[dispute.pk]),
                                  {"body": "Where do I send it?"})
            accepted = client.post(reverse("disputes:dispute_action", args=[offered.pk, "accept-offer"]))

        # Then every answer is the usual redirect, and what the buyer did is committed
        assert (opened.status_code, written.status_code, accepted.status_code) == (302, 302, 302)
        assert dispute.state == Dispute.State.AWAITING_SELLER
        assert DisputeMessage.objects.get().body == "Where do I send it?"
        offered.refresh_from_db()
        assert offered.state == Dispute.State.REFUND_PENDING
        [refund] = Refund.objects.all()
        assert (refund.dispute_id, refund.amount, refund.status) == (offered.pk, OFFER, Refund.Status.PENDING)
        # Each task that could not be queued was logged, and the work is still owed
        failures = [r for r in caplog.records if r.name in ("returns_portal.jobs", "webhooks.outbox")]
        assert failures and all(r.levelno == logging.ERROR and r.exc_info for r in failures)
        queued = {r.getMessage().split()[3].rstrip(";") for r in failures if r.name == "returns_portal.jobs"}
        assert queued == {"notifications.tasks.send_notification_emails", "disputes.tasks.pay_refunds"}
        assert any(r.name == "webhooks.outbox" for r in failures)
        assert Notification.objects.filter(recipient=seller).count() >= 2
        assert owed()["refunds unpaid"] == 1
        assert owed()["e-mails unsent"] == Notification.objects.count() > 0
        assert owed()["webhooks undelivered"] == WebhookDelivery.objects.count() > 0
        print(f"Redis down: 3 requests answered 302; {len(failures)} tasks not queued, logged; owed {owed()}")

        # When Redis is back (empty), the beat's catch-up jobs are queued through it as the beat
        # would, later (e-mails owed for over a minute, deliveries past their lease), and a worker runs
        own_redis.start()
        later = timezone.now() - timedelta(minutes=5)
        Notification.objects.update(created_at=later)
        WebhookDelivery.objects.update(queued_at=later, next_attempt_at=later)
        with worker_on(own_redis.url, tmp_path) as (worker, log):
            for task in (pay_due_refunds, send_unsent_notification_emails, deliver_due_webhooks):
                task.delay()
            deadline = time.monotonic() + WAIT_SECONDS
            while any(owed().values()) and worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)

        # Then the refund was paid once, every e-mail went out, every webhook was delivered
        assert owed() == {"refunds unpaid": 0, "e-mails unsent": 0, "webhooks undelivered": 0}, "".join(log)[-4000:]
        refund.refresh_from_db()
        assert (refund.status, refund.attempts) == (Refund.Status.PAID, 1)
        assert OrderLine.objects.get(pk=offered.order_line_id).refunded_amount == OFFER
        offered.refresh_from_db()
        assert offered.state == Dispute.State.REFUNDED
        assert len(Hooks.received) == WebhookDelivery.objects.count()
        print(f"Redis back: caught up by the worker; webhooks received {len(Hooks.received)}, "
              f"e-mails sent {Notification.objects.count()}, refund {refund.amount} paid once")
