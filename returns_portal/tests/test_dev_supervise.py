"""``dev.py serve`` stops everything it started on SIGTERM as well as on Ctrl+C (SIGINT), even
when the signal goes to its whole process group, and a child that ignores SIGTERM is killed
after the grace period: nothing is left running. Tested on ``dev.supervise`` with children that
stand in for the web server and a worker with a process of its own."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A stand-in worker: a main process with a child of its own, which quits on SIGTERM after
# stopping its child (as Celery's main process stops its pool), or ignores SIGTERM.
CHILD = """
import os, signal, subprocess, sys, time
kind, folder, name = sys.argv[1], sys.argv[2], sys.argv[3]
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(os.path.join(folder, name + ".pids"), "w").write(f"{os.getpid()} {grandchild.pid}")
if kind == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    def stop(signum, frame):
        grandchild.terminate(); grandchild.wait(); sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.1)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("kinds", [("polite", "polite"), ("polite", "stubborn")])
def test_a_signal_to_the_whole_group_stops_every_process_it_started(tmp_path, signum, kinds):
    children = [[sys.executable, "-c", CHILD, kind, str(tmp_path), f"child{n}"] for n, kind in enumerate(kinds)]
    supervisor = subprocess.Popen(
        [sys.executable, "-c", f"import dev, sys; sys.exit(dev.supervise({children!r}, grace=2))"],
        cwd=ROOT, start_new_session=True)
    try:
        pids = []
        deadline = time.monotonic() + 30
        while len(pids) < 2 * len(kinds) and time.monotonic() < deadline:
            pids = [int(pid) for n in range(len(kinds)) if (tmp_path / f"child{n}.pids").exists()
                    for pid in (tmp_path / f"child{n}.pids").read_text().split()]
            time.sleep(0.05)
        assert len(pids) == 2 * len(kinds), "the children did not start"

        os.killpg(supervisor.pid, signum)  # as Ctrl+C or `kill -TERM -<pgid>` would

        assert supervisor.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in pids if alive(pid)] == []
    finally:
        for pid in pids if "pids" in locals() else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if supervisor.poll() is None:
            supervisor.kill()


def test_a_child_that_ends_by_itself_stops_the_others_and_gives_its_exit_status(tmp_path):
    """As when gunicorn cannot bind its address: the workers and the beat are stopped too, and
    the status tells the service manager that the stack failed."""
    failing = f"import os, time\nwhile not os.path.exists({str(tmp_path / 'child0.pids')!r}): time.sleep(0.05)\nraise SystemExit(3)"
    children = [[sys.executable, "-c", CHILD, "polite", str(tmp_path), "child0"], [sys.executable, "-c", failing]]
    supervisor = subprocess.Popen(
        [sys.executable, "-c", f"import dev, sys; sys.exit(dev.supervise({children!r}, grace=2))"],
        cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = supervisor.communicate(timeout=30)

        assert supervisor.returncode == 3
        assert stderr.endswith(" ended with exit status 3: stopping the others.\n")
        assert "SystemExit(3)" in stderr
        pids = [int(pid) for pid in (tmp_path / "child0.pids").read_text().split()]
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in pids if alive(pid)] == []
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
        for pid in [int(p) for p in (tmp_path / "child0.pids").read_text().split()] \
                if (tmp_path / "child0.pids").exists() else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
