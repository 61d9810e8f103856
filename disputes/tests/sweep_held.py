"""The deadline sweep in a process of its own, held inside a batch (for test_fault_sweep_killed).

Not product code and not a test module: the test starts it with the test database in
``DATABASE_URL``. Each batch's outcome is applied through the real services; then, still inside
the batch's transaction, the script prints ``batch <n>: <dispute pks>`` and, from batch
``SWEEP_HOLD_AT_BATCH`` on, sleeps until it is killed, its transaction open and its rows locked.
"""
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "returns_portal.settings.local")

import django  # noqa: E402

django.setup()

from disputes.services import expiry  # noqa: E402
from disputes.sweep import enforce_deadlines  # noqa: E402

HOLD_AT = int(os.environ["SWEEP_HOLD_AT_BATCH"])
batches = 0


def held(apply):
    def apply_then_report(disputes, now):
        global batches
        counts = apply(disputes, now)
        batches += 1
        print(f"batch {batches}: {' '.join(str(d.pk) for d in disputes)}", flush=True)
        while batches >= HOLD_AT:
            time.sleep(1)
        return counts
    return apply_then_report


for name, outcome in list(expiry.OUTCOMES.items()):
    expiry.OUTCOMES[name] = replace(outcome, apply=held(outcome.apply))

enforce_deadlines(batch_size=int(os.environ["SWEEP_BATCH"]))
print("sweep finished", flush=True)
