"""Who may import whom: tasks are thin callers of the services and the sweep, so neither
imports the tasks back (they queue work by task name, ``returns_portal.jobs``)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = sorted([*ROOT.glob("disputes/services/*.py"), ROOT / "disputes/sweep.py", ROOT / "disputes/lifecycle.py",
                 ROOT / "notifications/services.py", ROOT / "notifications/messages.py"])


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):  # function-level imports included
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_never_imports_the_tasks(path):
    tasks = {name for name in imported_modules(path) if name.split(".")[-1] == "tasks"}
    assert tasks == set()


@pytest.mark.parametrize("path", [p for p in DOMAIN if "services" in p.parts and "disputes" in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_services_never_import_the_sweep(path):
    assert not {name for name in imported_modules(path) if name.split(".")[-1] == "sweep"}
