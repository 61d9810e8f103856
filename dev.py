#!/usr/bin/env python3
"""Set up and run the returns portal with nothing but Python 3.11+.

    python3 dev.py serve   virtualenv + install + migrate + demo data, then the web
                           server on http://127.0.0.1:8000 and a Celery worker with
                           embedded beat (SQLite, filesystem broker: no servers needed)
    python3 dev.py test    virtualenv + install, then the test suite (extra arguments
                           go to pytest; DATABASE_URL picks the database)

The virtualenv lives in .venv/. `serve` installs requirements/runtime.txt, `test` installs
requirements/test.txt (the runtime and the test tools), both compiled by pip-tools with every
package's hashes and installed with --require-hashes; again only when the file changes.
"""
from __future__ import annotations

import hashlib
import os
import signal
# bandit: dev.py starts the project's own programs (pip, manage.py, celery, pytest) with fixed arguments.
import subprocess  # nosec B404
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
RUNTIME = ROOT / "requirements" / "runtime.txt"
TESTING = ROOT / "requirements" / "test.txt"  # the runtime too, at the same versions
STAMP = VENV / ".requirements.sha256"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    # bandit: a list of arguments, no shell: the project's own commands.
    subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=True)  # nosec B603


def ensure_venv(requirements: Path) -> None:
    if sys.version_info < (3, 11):
        sys.exit("The returns portal needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print("Creating the virtualenv in .venv/ ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = f"{requirements.name} {hashlib.sha256(requirements.read_bytes()).hexdigest()}"
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print(f"Installing requirements/{requirements.name} into .venv/ ...", flush=True)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
            "-r", requirements)
        STAMP.write_text(wanted)


def serve() -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "returns_portal.settings.local")}
    run(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    run(PYTHON, "manage.py", "seed_demo", env=env)
    return supervise([
        [str(PYTHON), "-m", "celery", "-A", "returns_portal", "worker", "-B", "--loglevel=INFO", "--concurrency=2"],
        [str(PYTHON), "manage.py", "runserver", "127.0.0.1:8000"],
    ], env=env, banner="\nThe portal is at http://127.0.0.1:8000 (Ctrl+C stops the web server and the worker).\n")


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def supervise(commands: list[list[str]], *, env: dict[str, str] | None = None, banner: str = "",
              grace: float = 20) -> int:
    """Run ``commands`` until one ends, Ctrl+C, or SIGTERM; then stop them all.

    Each runs in a process group of its own, so a signal sent to this process's group (Ctrl+C
    in the terminal, ``kill -TERM -<pgid>``) reaches only this supervisor. It then sends SIGTERM
    to each child alone, which stops its own children in order (a Celery worker its pool and
    beat), and after ``grace`` seconds SIGKILLs whatever is left in the child's group. A signal
    that reached a worker's pool processes along with the worker left the worker waiting for
    its dead pool, orphaned."""
    # Both stop it, even where it was started with SIGINT ignored (in the background of a script).
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    processes = []
    try:
        for command in commands:
            # bandit: the project's own programs from this checkout's virtualenv, fixed arguments, no shell.
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True))  # nosec B603
        if banner:
            print(banner, flush=True)
        while all(process.poll() is None for process in processes):
            try:
                processes[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for signum in previous:  # the stopping is not interrupted again
            signal.signal(signum, signal.SIG_IGN)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # the child alone: it stops its own children
        for process in processes:
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            _signal_group(process, signal.SIGKILL)  # what the child left behind in its group
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def test(pytest_args: list[str]) -> int:
    # bandit: pytest with the arguments the developer typed, no shell.
    return subprocess.run([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT).returncode  # nosec B603


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command not in {"serve", "test"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    if command == "serve":
        ensure_venv(RUNTIME)
        return serve()
    ensure_venv(TESTING)
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
