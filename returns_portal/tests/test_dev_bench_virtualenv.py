"""The benchmark scripts run from a fresh clone with any Python 3.11+ (``python3 bench/pages.py``):
``dev.use_virtualenv`` installs the test requirements into .venv/ and runs the script again with
.venv/'s Python; inside .venv/ it does nothing."""
import sys

import dev


def test_outside_the_virtualenv_it_installs_and_runs_the_script_again_with_its_python(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(sys, "prefix", str(tmp_path))  # some other Python
    monkeypatch.setattr(dev, "ensure_venv", lambda requirements: calls.append(("ensure_venv", requirements)))
    monkeypatch.setattr(dev.os, "execv", lambda program, argv: calls.append(("execv", program, argv)))

    dev.use_virtualenv("bench/pages.py", ["--rounds", "5"])

    assert calls == [
        ("ensure_venv", dev.TESTING),
        ("execv", dev.PYTHON, [str(dev.PYTHON), "bench/pages.py", "--rounds", "5"]),
    ]


def test_inside_the_virtualenv_it_does_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(sys, "prefix", str(dev.VENV))
    monkeypatch.setattr(dev, "ensure_venv", lambda requirements: calls.append("ensure_venv"))
    monkeypatch.setattr(dev.os, "execv", lambda program, argv: calls.append("execv"))

    dev.use_virtualenv("bench/pages.py", [])

    assert calls == []
