"""The Celery app really moves tasks: through the embedded filesystem broker (the
laptop default) and through Redis (production), with a worker running the task."""
from datetime import timedelta

import pytest
from celery import Celery, current_app
from celery.contrib.testing.worker import start_worker
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from returns_portal.celery import app as project_app

TASK = "accounts.tasks.clear_expired_sessions"


def _app_from_project_settings(**overrides) -> Celery:
    """A fresh app configured exactly like the project's, plus ``overrides``."""
    app = Celery("round-trip", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(task_always_eager=False, task_ignore_result=False, **overrides)
    app.autodiscover_tasks(force=True)
    return app


def _one_expired_one_live_session() -> None:
    for expiry in (timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)):
        session = SessionStore()
        session["seen"] = True
        session.create()
        Session.objects.filter(session_key=session.session_key).update(expire_date=expiry)


def _run_through_worker(app: Celery) -> int:
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            return app.send_task(TASK).get(timeout=30)
    finally:
        # start_worker makes its app the current and default one: later tests' shared tasks
        # (refunds paid on commit) would go to this test's broker and never run.
        project_app.set_current()
        project_app.set_default()


def test_beat_schedule_names_only_registered_tasks():
    project_app.loader.import_default_modules()
    for entry in project_app.conf.beat_schedule.values():
        assert entry["task"] in project_app.tasks


def test_default_broker_is_the_embedded_filesystem_transport(settings):
    assert settings.CELERY_BROKER_URL == "filesystem://"
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["data_folder_in"] == options["data_folder_out"]
    for folder in ("data_folder_in", "processed_folder", "control_folder"):
        assert options[folder].startswith(str(settings.VAR_DIR))
    assert settings.CELERY_BEAT_SCHEDULE_FILENAME.startswith(str(settings.VAR_DIR))


@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_the_embedded_filesystem_broker(tmp_path):
    queue, processed, control = tmp_path / "queue", tmp_path / "processed", tmp_path / "control"
    for folder in (queue, processed, control):
        folder.mkdir()
    app = _app_from_project_settings(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "processed_folder": str(processed),
            "control_folder": str(control),
        },
        result_backend=f"file://{tmp_path}",
    )
    _one_expired_one_live_session()

    assert _run_through_worker(app) == 1

    assert Session.objects.count() == 1
    assert Session.objects.get().expire_date > timezone.now()
    assert current_app._get_current_object() is project_app  # the worker left the project's app current


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_redis(redis_url):
    app = _app_from_project_settings(broker_url=redis_url, result_backend=redis_url)
    _one_expired_one_live_session()

    assert _run_through_worker(app) == 1
    # Run twice: the second run finds nothing to delete and changes nothing.
    assert _run_through_worker(app) == 0

    assert Session.objects.count() == 1
