"""Starts the test identity provider (accounts.tests.oidc_provider) in a process of its own on a
free local port, waits until it answers, and stops it at the end, also when the test failed."""
from __future__ import annotations

import os
import socket
import subprocess  # nosec B404 - starts this repository's own test provider
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPOSITORY = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT = 30  # seconds for the provider to answer its discovery document
SETTINGS = "accounts.tests.oidc_provider.settings"


@dataclass(frozen=True)
class Provider:
    url: str  # scheme://host:port
    issuer: str  # what the portal's SSO_SERVER_URL is set to
    client_id: str
    client_secret: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(database: Path, url: str) -> dict:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DJANGO_", "DATABASE_URL", "SSO_"))}
    environment.update(DJANGO_SETTINGS_MODULE=SETTINGS, OIDC_PROVIDER_DB=str(database), OIDC_PROVIDER_URL=url,
                       PYTHONPATH=str(REPOSITORY), ENV_FILE="")
    return environment


def _wait_until_ready(process: subprocess.Popen, discovery: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test provider exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(discovery, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)  # between polls of a server starting up, not a wait for a result
    raise RuntimeError(f"the test provider did not answer {discovery} within {READY_TIMEOUT} s: "
                       f"{log.read_text()[-2000:]}")


@contextmanager
def running_provider(redirect_uri: str, *, require_consent: bool = True,
                     client_id: str = "returns-portal", client_secret: str = "portal-secret-456") -> Iterator[Provider]:
    with tempfile.TemporaryDirectory(prefix="oidc-provider-") as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        environment = _environment(Path(folder) / "provider.sqlite3", url)
        subprocess.run(  # nosec B603 - fixed arguments, this interpreter
            [sys.executable, "-m", "accounts.tests.oidc_provider.prepare", client_id, client_secret, redirect_uri,
             "1" if require_consent else "0"],
            cwd=REPOSITORY, env=environment, check=True, timeout=120, capture_output=True)
        log = Path(folder) / "provider.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(  # nosec B603 - fixed arguments, this interpreter
                [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
                cwd=REPOSITORY, env=environment, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(process, f"{url}/openid/.well-known/openid-configuration", log)
            yield Provider(url=url, issuer=f"{url}/openid", client_id=client_id, client_secret=client_secret)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
