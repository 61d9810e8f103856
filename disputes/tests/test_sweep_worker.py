"""A real Celery worker with embedded beat, on the real Redis broker, expires a due
dispute by itself: nobody calls the sweep. Bounded in time; needs PostgreSQL (the worker
is another process and must see the test database) and Redis."""
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from disputes.models import Dispute, DisputeEvent
from disputes.tests.factories import DisputeFactory

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 90


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_with_beat_closes_a_dispute_whose_buyer_did_not_ship(redis_url, tmp_path):
    # Given a dispute whose buyer's shipping deadline passed a minute ago
    dispute = DisputeFactory(state=Dispute.State.AWAITING_BUYER_SHIPMENT,
                             deadline_at=timezone.now() - timedelta(minutes=1))
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "returns_portal.settings.local",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        "DEADLINE_SWEEP_SECONDS": "1",
        "VAR_DIR": str(tmp_path),
        "EMAIL_URL": "dummymail://",
        "DEBUG": "off",
    }
    # When a worker with embedded beat runs on Redis (nobody calls the sweep)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "returns_portal", "worker", "-B", "--pool=solo",
         "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and worker.poll() is None:
            dispute.refresh_from_db()
            if dispute.state == Dispute.State.CLOSED:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()

    # Then the dispute is closed by the system, once, and the timeline says why
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.CLOSED, output[-3000:]
    assert dispute.resolution == Dispute.Resolution.BUYER_TIMEOUT
    [event] = DisputeEvent.objects.filter(dispute=dispute, kind=DisputeEvent.Kind.DEADLINE_PASSED)
    assert event.actor is None
    assert event.details["outcome"] == "buyer_did_not_ship"
    assert "disputes.tasks.enforce_deadlines" in output
