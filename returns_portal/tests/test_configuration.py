"""Production settings: safe when given real values, refusing to start otherwise."""
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "returns_portal.settings.production", "ENV_FILE": "", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def real_values(tmp_path) -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "returns.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path),
    }


@pytest.mark.parametrize("stack", [{}, {
    # as `python3 dev.py prod` runs it (the servers need not answer: the checks do not connect)
    "DATABASE_URL": "postgres://portal@127.0.0.1:5432/portal", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1", "CONN_MAX_AGE": "600",
}], ids=["sqlite", "postgresql-and-redis"])
def test_production_passes_check_deploy_without_warnings(real_values, stack):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **{**real_values, **stack})
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("conn_max_age, expected", [(None, 60), ("0", 0), ("300", 300)])
def test_production_keeps_database_connections_checks_them_and_caches_compiled_templates(
        real_values, conn_max_age, expected):
    code = ("import django, json; django.setup(); from django.conf import settings; "
            "from django.template import engines; database = settings.DATABASES['default']; "
            "print(json.dumps([database['CONN_MAX_AGE'], database['CONN_HEALTH_CHECKS'], "
            "engines['django'].engine.loaders]))")
    env = {**real_values, **({"CONN_MAX_AGE": conn_max_age} if conn_max_age else {})}
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "CONN_MAX_AGE"}}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "returns_portal.settings.production", "ENV_FILE": "", **env})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [expected, True, [[
        "django.template.loaders.cached.Loader",
        ["django.template.loaders.filesystem.Loader", "django.template.loaders.app_directories.Loader"],
    ]]]


def test_production_refuses_to_start_without_secret_key(real_values):
    del real_values["SECRET_KEY"]
    result = _manage("check", **real_values)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_weak_secret_key(real_values):
    result = _manage("check", **{**real_values, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY must be a random value" in result.stderr


def test_production_refuses_debug(real_values):
    result = _manage("check", **{**real_values, "DEBUG": "on"})
    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


@pytest.mark.parametrize(
    "database_url, engine",
    [
        (None, "django.db.backends.sqlite3"),
        ("postgres://postgres@127.0.0.1:5432/anything", "django.db.backends.postgresql"),
    ],
)
def test_database_url_selects_the_database_and_sqlite_is_the_default(tmp_path, database_url, engine):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"DJANGO_SETTINGS_MODULE": "returns_portal.settings.local", "VAR_DIR": str(tmp_path), "ENV_FILE": ""})
    if database_url:
        env["DATABASE_URL"] = database_url
    code = "from django.conf import settings as s; d = s.DATABASES['default']; print(d['ENGINE'], d['NAME'])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    printed_engine, name = result.stdout.split()
    assert printed_engine == engine, result.stderr
    if database_url is None:
        assert name == str(tmp_path / "db.sqlite3")


@pytest.mark.parametrize(
    "database_url, busy_timeout, expected_options",
    [
        (None, None, {"transaction_mode": "IMMEDIATE", "timeout": 20.0,
                      "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}),
        (None, "2.5", {"transaction_mode": "IMMEDIATE", "timeout": 2.5,
                       "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}),
        ("postgres://postgres@127.0.0.1:5432/anything", "2.5", {}),
    ],
)
def test_sqlite_alone_gets_immediate_transactions_wal_and_the_busy_timeout(
    tmp_path, database_url, busy_timeout, expected_options
):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_BUSY_TIMEOUT"}}
    env.update({"DJANGO_SETTINGS_MODULE": "returns_portal.settings.local", "VAR_DIR": str(tmp_path), "ENV_FILE": ""})
    if database_url:
        env["DATABASE_URL"] = database_url
    if busy_timeout:
        env["SQLITE_BUSY_TIMEOUT"] = busy_timeout
    code = "import json; from django.conf import settings as s; print(json.dumps(s.DATABASES['default'].get('OPTIONS', {})))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected_options


@pytest.mark.parametrize("module, reads_file", [("returns_portal.settings.local", True),
                                                ("returns_portal.settings.test", False)])
def test_the_test_settings_never_read_an_env_file(tmp_path, module, reads_file):
    """A developer's .env must not change what a test sees; the other settings read it (or the
    file ENV_FILE names)."""
    dot_env = tmp_path / ".env"
    dot_env.write_text("DEFAULT_CURRENCY=JPY\nSELLER_RESPONSE_DAYS=99\n")
    env = {k: v for k, v in os.environ.items() if k not in {"DEFAULT_CURRENCY", "SELLER_RESPONSE_DAYS"}}
    env.update({"DJANGO_SETTINGS_MODULE": module, "VAR_DIR": str(tmp_path), "ENV_FILE": str(dot_env)})
    code = "from django.conf import settings as s; print(s.DEFAULT_CURRENCY, s.SELLER_RESPONSE_DAYS)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == (["JPY", "99"] if reads_file else ["RUB", "5"])
