#!/usr/bin/env python3
"""Set up and run the returns portal with nothing but Python 3.11+.

    python3 dev.py serve   virtualenv + install + migrate + demo data, then the web
                           server on http://127.0.0.1:8000 and a Celery worker with
                           embedded beat (SQLite, filesystem broker: no servers needed)
    python3 dev.py test    virtualenv + install, then the test suite (extra arguments
                           go to pytest; DATABASE_URL picks the database)

The virtualenv lives in .venv/ and is reinstalled only when requirements.txt changes.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=True)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit("The returns portal needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print("Creating the virtualenv in .venv/ ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("Installing requirements.txt into .venv/ ...", flush=True)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS)
        STAMP.write_text(wanted)


def serve() -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "returns_portal.settings.local")}
    run(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    run(PYTHON, "manage.py", "seed_demo", env=env)
    worker = subprocess.Popen(
        [str(PYTHON), "-m", "celery", "-A", "returns_portal", "worker", "-B", "--loglevel=INFO", "--concurrency=2"],
        cwd=ROOT,
        env=env,
    )
    web = subprocess.Popen([str(PYTHON), "manage.py", "runserver", "127.0.0.1:8000"], cwd=ROOT, env=env)
    print("\nThe portal is at http://127.0.0.1:8000 (Ctrl+C stops the web server and the worker).\n", flush=True)
    try:
        while web.poll() is None and worker.poll() is None:
            try:
                web.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for process in (web, worker):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


def test(pytest_args: list[str]) -> int:
    return subprocess.run([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command not in {"serve", "test"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    ensure_venv()
    return serve() if command == "serve" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
