"""``python3 dev.py prod``: the production stack by one command. It refuses to start without
PostgreSQL, Redis and the production secrets; it takes its processes from the Procfile; and,
on a PostgreSQL database and a Redis server of the test's own, it migrates, collects the
static files, serves the pages and hashed, compressed static files through gunicorn, runs two
Celery workers and exactly one beat, and stops every process it started on SIGTERM or Ctrl+C
sent to its whole process group."""
import gzip
import hashlib
import http.client
import os
import re
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

import dev

ROOT = Path(__file__).resolve().parents[2]
# What the stack reads from the environment: the tests set each, or leave it unset on purpose.
STACK_VARIABLES = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SECRET_KEY",
                   "DEBUG", "ALLOWED_HOSTS", "BIND", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS",
                   "GUNICORN_TIMEOUT", "WORKER_PROCESSES", "CELERY_WORKER_CONCURRENCY", "VAR_DIR", "STATIC_ROOT",
                   "MEDIA_ROOT", "PRIVATE_MEDIA_ROOT", "WEBHOOK_ALLOW_HTTP", "CELERY_RESULT_BACKEND",
                   "CELERY_TASK_ALWAYS_EAGER", "CONN_MAX_AGE"}


def _environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
    env.update({"ENV_FILE": "", "VAR_DIR": str(tmp_path / "var"), "STATIC_ROOT": str(tmp_path / "static"),
                "LOG_LEVEL": "WARNING", **values})
    return env


def test_the_procfile_names_web_workers_and_one_beat_and_dev_prod_runs_them_from_this_virtualenv():
    kinds = dev.procfile()

    assert set(kinds) == {"web", "worker", "beat"}
    assert kinds["web"][0] == str(dev.BIN / "gunicorn")
    assert kinds["web"][1:] == ["--config", "gunicorn.conf.py", "returns_portal.wsgi:application"]
    assert kinds["worker"][1:] == ["-A", "returns_portal", "worker", "--loglevel=INFO"]
    assert kinds["beat"][1:] == ["-A", "returns_portal", "beat", "--loglevel=INFO"]  # its own process, never -B


@pytest.mark.parametrize("wanted, workers, expected", [
    (["web", "worker", "beat"], 2, ["web", "worker1", "worker2", "beat"]),
    (["web", "worker"], 3, ["web", "worker1", "worker2", "worker3"]),  # every other host: no second beat
    (["beat"], 2, ["beat"]),
])
def test_dev_prod_runs_the_kinds_asked_for_with_each_worker_named(wanted, workers, expected):
    commands = dev.production_commands(wanted, workers=workers)

    def name(command: list[str]) -> str:
        if command[3] == "worker":
            return command[-1].removeprefix("--hostname=").removesuffix("@%h")
        return "beat" if command[3] == "beat" else "web"

    assert [name(command) for command in commands] == expected
    assert len({tuple(command) for command in commands}) == len(commands)


def test_dev_prod_refuses_a_kind_the_procfile_does_not_have(tmp_path):
    result = subprocess.run([sys.executable, "dev.py", "prod", "web", "scheduler"], cwd=ROOT,
                            env=_environment(tmp_path), capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
    assert result.stderr == "dev.py prod runs the Procfile's processes (web, worker, beat), not scheduler.\n"
    assert list((tmp_path / "static").glob("*")) == []


def test_the_test_virtualenv_serves_dev_prod_without_installing_again():
    """test.txt holds the runtime's packages at the same versions: `dev.py prod` (and `serve`)
    after `dev.py test` installs nothing; the reverse installs the test tools."""
    runtime, testing = dev.RUNTIME, dev.TESTING
    digest = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in (runtime, testing)}

    assert dev._installed(runtime, f"test.txt {digest[testing]}")
    assert dev._installed(runtime, f"runtime.txt {digest[runtime]}")
    assert not dev._installed(testing, f"runtime.txt {digest[runtime]}")
    assert not dev._installed(runtime, f"test.txt {'0' * 64}")  # test.txt changed since it was installed
    assert not dev._installed(runtime, "")


@pytest.mark.parametrize("env, workers, threads, worker_class, bind", [
    ({}, 2 * (os.cpu_count() or 1) + 1, 1, "sync", ["127.0.0.1:8000"]),
    ({"WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "4", "PORT": "5000"}, 3, 4, "gthread", ["0.0.0.0:5000"]),
    ({"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "1", "PORT": "5000", "BIND": "unix:/run/portal.sock"}, 1, 1,
     "sync", ["unix:/run/portal.sock"]),
])
def test_gunicorn_takes_its_workers_threads_and_address_from_the_environment(
        monkeypatch, env, workers, threads, worker_class, bind):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "PORT", "BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert (config["workers"], config["threads"], config["worker_class"], config["bind"]) == (
        workers, threads, worker_class, bind)
    assert (config["timeout"], config["graceful_timeout"], config["accesslog"]) == (30, 15, "-")
    assert config["graceful_timeout"] < 20  # dev.supervise's grace: requests under way finish before any kill


def test_dev_prod_refuses_to_start_without_postgresql_redis_and_the_secrets(tmp_path):
    result = subprocess.run([sys.executable, "dev.py", "prod"], cwd=ROOT, env=_environment(tmp_path),
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "The production stack cannot start:",
        "  DATABASE_URL must be the PostgreSQL database, e.g. postgres://portal:password@db.example.com:5432/portal.",
        "  CELERY_BROKER_URL must be the Redis server Celery's tasks go through, e.g. "
        "redis://redis.example.com:6379/0.",
        "  CACHE_URL must be a Redis database every process shares (rate limits and the API's request counts), "
        "e.g. redis://redis.example.com:6379/1.",
        "  SECRET_KEY must be 50 or more random characters.",
        "  ALLOWED_HOSTS must be the site's host names, comma-separated, e.g. returns.example.com.",
        "Set them in the environment or in .env (ENV_FILE); README.md, section Production, lists them.",
    ]
    assert result.stdout == ""
    assert list((tmp_path / "static").glob("*")) == []  # nothing collected, nothing migrated
    assert not (tmp_path / "var" / "db.sqlite3").exists()


def test_dev_prod_refuses_the_embedded_defaults_and_the_settings_own_refusals(tmp_path):
    embedded = _environment(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                            CELERY_BROKER_URL="filesystem://", CACHE_URL="redis://127.0.0.1:1/1",
                            SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="returns.example.com")
    weak_key = {**embedded, "DATABASE_URL": "postgres://portal@127.0.0.1:1/portal",
                "CELERY_BROKER_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": "x" * 20}

    refused = [subprocess.run([sys.executable, "dev.py", "prod"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120) for env in (embedded, weak_key)]

    assert [result.returncode for result in refused] == [2, 2]
    assert refused[0].stderr.splitlines()[1:3] == [
        "  DATABASE_URL must be the PostgreSQL database, e.g. postgres://portal:password@db.example.com:5432/portal"
        " (it is a sqlite:// URL).",
        "  CELERY_BROKER_URL must be the Redis server Celery's tasks go through, e.g. "
        "redis://redis.example.com:6379/0 (it is a filesystem:// URL).",
    ]
    assert refused[1].stderr.splitlines()[1] == "  SECRET_KEY must be a random value of at least 50 characters."
    assert not (tmp_path / "db.sqlite3").exists()


# --- the real stack on PostgreSQL and Redis ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:  # as the TLS proxy in front of production asks
        connection.request("GET", path, headers={"X-Forwarded-Proto": "https", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _processes() -> dict[int, tuple[int, str]]:
    """Every process of this machine: pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except (FileNotFoundError, ProcessLookupError):
                continue
            found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), command)
    return found


def _descendants(pid: int) -> dict[int, str]:
    processes, found, parents = _processes(), {}, [pid]
    while parents:
        parent = parents.pop()
        for child, (ppid, command) in processes.items():
            if ppid == parent:
                found[child] = command
                parents.append(child)
    return found


def _alive(pid: int) -> bool:
    try:  # a zombie waiting for its parent counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.fixture(scope="module")
def stack_environment(_own_redis, tmp_path_factory):
    """A PostgreSQL database of its own (dropped at the end), a Redis of its own, a free port."""
    import psycopg2
    from django.conf import settings

    server = settings.DATABASES["default"]
    name = f"{server['NAME'].removeprefix('test_')}_stack_{secrets.token_hex(4)}"  # beside the suite's own
    admin = psycopg2.connect(dbname="postgres", user=server["USER"], password=server["PASSWORD"],
                             host=server["HOST"], port=server["PORT"])
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(server["USER"]) + (f":{quote(server['PASSWORD'])}" if server["PASSWORD"] else "")
    folder = tmp_path_factory.mktemp("stack")
    try:
        yield _environment(
            folder, DATABASE_URL=f"postgres://{credentials}@{server['HOST']}:{server['PORT'] or 5432}/{name}",
            CELERY_BROKER_URL=_own_redis, CACHE_URL=_own_redis, SECRET_KEY=secrets.token_urlsafe(60),
            ALLOWED_HOSTS="127.0.0.1", PORT=str(_free_port()), WEB_CONCURRENCY="2", GUNICORN_THREADS="2",
            CELERY_WORKER_CONCURRENCY="1", DEADLINE_SWEEP_SECONDS="2")
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_dev_prod_serves_pages_and_static_files_runs_two_workers_and_one_beat_and_stops_them_all(
        stack_environment, signum, tmp_path, summary):
    import redis
    from celery import Celery

    redis.Redis.from_url(stack_environment["CELERY_BROKER_URL"]).flushdb()
    port, log = int(stack_environment["PORT"]), tmp_path / "stack.log"
    started = time.monotonic()
    with log.open("wb") as output:
        stack = subprocess.Popen([sys.executable, "dev.py", "prod"], cwd=ROOT, env=stack_environment,
                                 stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    broker = Celery("stack-test", broker=stack_environment["CELERY_BROKER_URL"], set_as_current=False)
    pids: dict[int, str] = {}
    try:
        def fail(why: str):
            pytest.fail(f"{why}\n--- dev.py prod's output ---\n{log.read_text()[-5000:]}")

        # Given the stack answering, with both workers ready
        login, deadline = None, time.monotonic() + 90
        while time.monotonic() < deadline and stack.poll() is None:
            try:
                login = _get(port, "/accounts/login/")
                break
            except OSError:
                time.sleep(0.2)
        if login is None:
            fail(f"the web did not answer (dev.py prod: {stack.poll()})")
        up = time.monotonic() - started
        replies, deadline = {}, time.monotonic() + 30
        while len(replies) < 2 and time.monotonic() < deadline:
            replies = broker.control.inspect(timeout=1).ping() or {}
        pids = _descendants(stack.pid)

        # The login page, from templates whose static files have hashed names
        assert login[0] == 200, login
        stylesheet = re.search(rb'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', login[2])
        assert stylesheet, login[2][:2000]
        # The hashed file, plainly and gzip-compressed, cached for ever
        plain = _get(port, stylesheet[1].decode())
        compressed = _get(port, stylesheet[1].decode(), {"Accept-Encoding": "gzip"})
        assert (plain[0], compressed[0]) == (200, 200)
        assert compressed[1]["content-encoding"] == "gzip"
        assert gzip.decompress(compressed[2]) == plain[2] and b"body" in plain[2]
        assert "immutable" in plain[1]["cache-control"]

        # Two workers with names of their own, one beat, one gunicorn
        assert sorted(replies) == [f"worker1@{socket.gethostname()}", f"worker2@{socket.gethostname()}"]
        parents = _processes()
        children = [command for pid, command in pids.items() if parents.get(pid, (0,))[0] == stack.pid]
        kinds = sorted("beat" if " beat " in command else "worker" if " worker " in command else
                       "web" if "gunicorn" in command else command for command in children)
        assert kinds == ["beat", "web", "worker", "worker"]
        assert len([command for command in pids.values() if " beat " in command]) == 1  # in the whole tree
        assert len([command for command in pids.values() if "gunicorn" in command]) == 1 + 2  # master, 2 workers

        # When the signal goes to dev.py's whole process group, as Ctrl+C or `kill -TERM -<pgid>`
        stopping = time.monotonic()
        os.killpg(stack.pid, signum)

        # Then it exits cleanly within the grace period and leaves nothing running
        assert stack.wait(timeout=25) == 0
        stopped = time.monotonic() - stopping
        assert [f"{pid} {command}" for pid, command in pids.items() if _alive(pid)] == []
        assert stopped < 20
        summary(f"dev.py prod ({signal.Signals(signum).name}): answered after {up:.1f} s with {len(pids)} "
                f"processes; all gone {stopped:.1f} s after the signal")
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
