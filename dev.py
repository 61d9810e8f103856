#!/usr/bin/env python3
"""Set up and run the returns portal with nothing but Python 3.11+.

    python3 dev.py serve   virtualenv + install + migrate + demo data, then the web
                           server on http://127.0.0.1:8000 and a Celery worker with
                           embedded beat (SQLite, filesystem broker: no servers needed)
    python3 dev.py test    virtualenv + install, then the test suite (extra arguments
                           go to pytest; DATABASE_URL picks the database)
    python3 dev.py prod    the production stack on PostgreSQL and Redis: virtualenv +
                           install, migrate, collectstatic, then the Procfile's processes:
                           gunicorn (gunicorn.conf.py), WORKER_PROCESSES Celery workers
                           (default 2) and one beat; SIGTERM or Ctrl+C stops them all.
                           Needs DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, SECRET_KEY and
                           ALLOWED_HOSTS (the environment, or .env).
                           `dev.py prod web worker`: only those (every host but one)

The virtualenv lives in .venv/. `serve` and `prod` install requirements/runtime.txt, `test`
installs requirements/test.txt (the runtime and the test tools), both compiled by pip-tools
with every package's hashes and installed with --require-hashes; again only when the file
changes (test.txt holds the runtime at the same versions, so it serves `serve` and `prod` too).
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import shlex
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
PROCFILE = ROOT / "Procfile"  # the production processes: platforms that read Procfiles and `prod` run them
PRODUCTION_SETTINGS = "returns_portal.settings.production"


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
    if not _installed(requirements, STAMP.read_text().strip() if STAMP.exists() else ""):
        print(f"Installing requirements/{requirements.name} into .venv/ ...", flush=True)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
            "-r", requirements)
        STAMP.write_text(wanted)


def _installed(requirements: Path, stamp: str) -> bool:
    """Whether the stamp's file, unchanged since it was installed, pins every package that
    ``requirements`` pins at the same version (test.txt holds the runtime's)."""
    name, _, digest = stamp.partition(" ")
    installed = requirements.with_name(name) if name else None
    if installed is None or not installed.exists() or hashlib.sha256(installed.read_bytes()).hexdigest() != digest:
        return False
    return _pins(requirements) <= _pins(installed)


def _pins(requirements: Path) -> set[str]:
    return {line.split()[0].lower() for line in requirements.read_text().splitlines() if "==" in line.split(" ")[0]}


def use_virtualenv(script: str, argv: list[str]) -> None:
    """For the scripts under bench/, started with any Python 3.11+ (``python3 bench/pages.py``):
    unless this is already .venv/'s Python, install requirements/test.txt there as `test` does
    (the benches seed with the test factories) and run the script again with it."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    ensure_venv(TESTING)
    # bandit: this checkout's own virtualenv Python and the script the developer started.
    os.execv(PYTHON, [str(PYTHON), script, *argv])  # nosec B606


def serve() -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "returns_portal.settings.local")}
    run(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    run(PYTHON, "manage.py", "seed_demo", env=env)
    return supervise([
        [str(PYTHON), "-m", "celery", "-A", "returns_portal", "worker", "-B", "--loglevel=INFO", "--concurrency=2"],
        [str(PYTHON), "manage.py", "runserver", "127.0.0.1:8000"],
    ], env=env, banner="\nThe portal is at http://127.0.0.1:8000 (Ctrl+C stops the web server and the worker).\n")


def prod(wanted: list[str]) -> int:
    """The Procfile's processes ``wanted`` (all by default): another host of a deployment runs
    ``web worker``, for exactly one beat runs in the whole deployment."""
    kinds = procfile()
    wanted = wanted or list(kinds)
    if unknown := [kind for kind in wanted if kind not in kinds]:
        print(f"dev.py prod runs the Procfile's processes ({', '.join(kinds)}), not {', '.join(unknown)}.",
              file=sys.stderr)
        return 2
    env = production_environment()
    if env is None:
        return 2
    run(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    run(PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity=0", env=env)
    workers = int(env.get("WORKER_PROCESSES") or 2)
    started = [f"{workers} Celery workers" if kind == "worker" else "gunicorn (its log says where it listens)"
               if kind == "web" else f"one {kind}" for kind in kinds if kind in wanted]
    return supervise(production_commands(wanted, workers=workers), env=env, banner=(
        f"\nThe production stack runs {', '.join(started)}. SIGTERM or Ctrl+C stops them all.\n"))


def production_commands(wanted: list[str], *, workers: int) -> list[list[str]]:
    """The commands of the Procfile's kinds ``wanted``, ``workers`` times the worker's."""
    commands = []
    for kind, command in procfile().items():
        if kind in wanted and kind == "worker":  # several on one host need names of their own
            commands += [[*command, f"--hostname=worker{n}@%h"] for n in range(1, workers + 1)]
        elif kind in wanted:
            commands.append(command)
    return commands


def procfile() -> dict[str, list[str]]:
    """The Procfile's commands by process kind, their programs taken from .venv/."""
    kinds = {}
    for line in PROCFILE.read_text().splitlines():
        kind, colon, command = line.partition(":")
        if colon and kind.strip() and not kind.lstrip().startswith("#"):
            program, *arguments = shlex.split(command)
            kinds[kind.strip()] = [str(BIN / program) if (BIN / program).exists() else program, *arguments]
    return kinds


# What the production stack needs, checked before anything starts: (variable, what it must be).
PRODUCTION_NEEDS = {
    "DATABASE_URL": "the PostgreSQL database, e.g. postgres://portal:password@db.example.com:5432/portal",
    "CELERY_BROKER_URL": "the Redis server Celery's tasks go through, e.g. redis://redis.example.com:6379/0",
    "CACHE_URL": ("a Redis database every process shares (rate limits and the API's request counts), "
                  "e.g. redis://redis.example.com:6379/1"),
    "SECRET_KEY": "50 or more random characters",
    "ALLOWED_HOSTS": "the site's host names, comma-separated, e.g. returns.example.com",
}


def production_refusals(environ) -> list[str]:
    """Why the production stack cannot run with ``environ`` (nothing when it can); run in the
    virtualenv, where django-environ reads the database URL as the settings do."""
    import environ as django_environ

    refusals = []
    for name, wanted in PRODUCTION_NEEDS.items():
        value = environ.get(name, "").strip()
        if name == "DATABASE_URL" and value:
            valid = "postgresql" in django_environ.Env.db_url_config(value).get("ENGINE", "")
        elif name in {"CELERY_BROKER_URL", "CACHE_URL"} and value:
            valid = value.startswith(("redis://", "rediss://"))
        else:
            valid = bool(value)
        if not valid:
            found = f" (it is a {value.split('://')[0]}:// URL)" if "://" in value and name != "SECRET_KEY" else ""
            refusals.append(f"{name} must be {wanted}{found}.")
    return refusals


def production_environment() -> dict[str, str] | None:
    """The environment of every process of the production stack: this one, with the production
    settings and the values of ENV_FILE (.env) it lacks; None, having said why, when the
    production stack cannot run with it."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": PRODUCTION_SETTINGS}
    # bandit: this checkout's own code in its virtualenv, no shell.
    checked = subprocess.run([str(PYTHON), "-c", "import dev; dev._check_production_environment()"],  # nosec B603
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    return json.loads(checked.stdout) if checked.returncode == 0 else None


def _check_production_environment() -> None:
    """In the virtualenv: print the environment as JSON, or say why the stack cannot run and exit 2."""
    from django.core.exceptions import ImproperlyConfigured

    importlib.import_module("returns_portal.settings.base")  # reads ENV_FILE into os.environ, as the settings do
    refusals = production_refusals(os.environ)
    if not refusals:
        try:  # the settings' own refusals: a weak SECRET_KEY, DEBUG on, ...
            importlib.import_module(PRODUCTION_SETTINGS)
        except ImproperlyConfigured as refusal:
            refusals.append(str(refusal))
    if refusals:
        print("The production stack cannot start:", *(f"  {refusal}" for refusal in refusals),
              "Set them in the environment or in .env (ENV_FILE); README.md, section Production, lists them.",
              sep="\n", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(dict(os.environ)))


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def supervise(commands: list[list[str]], *, env: dict[str, str] | None = None, banner: str = "",
              grace: float = 20) -> int:
    """Run ``commands`` until one ends, Ctrl+C, or SIGTERM; then stop them all. The exit
    status is 0 after a signal, else that of the command that ended (1 if it was 0 or a signal).

    Each runs in a process group of its own, so a signal sent to this process's group (Ctrl+C
    in the terminal, ``kill -TERM -<pgid>``) reaches only this supervisor. It then sends SIGTERM
    to each child alone, which stops its own children in order (a Celery worker its pool and
    beat), and after ``grace`` seconds SIGKILLs whatever is left in the child's group. A signal
    that reached a worker's pool processes along with the worker left the worker waiting for
    its dead pool, orphaned."""
    # Both stop it, even where it was started with SIGINT ignored (in the background of a script).
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    processes, ended = [], None
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
        ended = next(process for process in processes if process.poll() is not None)
        print(f"{shlex.join(ended.args)} ended with exit status {ended.returncode}: stopping the others.",
              file=sys.stderr, flush=True)
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
    return 0 if ended is None else (ended.returncode if ended.returncode > 0 else 1)


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
    if command not in {"serve", "test", "prod"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    if command in {"serve", "prod"}:
        ensure_venv(RUNTIME)
        return serve() if command == "serve" else prod(argv[1:])
    ensure_venv(TESTING)
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
