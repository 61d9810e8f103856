"""Decompression bombs posted as evidence (issue 12): time and peak memory of the refusal.

Each case runs in a fresh process on its own SQLite file and private folder (never ``.env``'s
database): set-up (migrations, a buyer with a delivered order line), then one POST of the
dispute-opening form with N bombs of 13,000 x 13,000 RGB pixels (~0.5 MiB each, the issue's
size class). Printed per case: the status, the refusal's message, the POST's wall time, and
the process's peak RSS before and after the POST (``ru_maxrss``): flat memory means the two
peaks are equal. ``--control`` adds one ordinary 32 x 24 photo, which is accepted.

    .venv/bin/python bench/uploads.py [--bombs 1 10]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
# bandit: the benchmark runs each case in a child Python of its own, fixed arguments.
import subprocess  # nosec B404
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOMB_FILE = Path(tempfile.gettempdir()) / "returns-portal-bench-bomb-13000-rgb.png"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(count: int, control: bool) -> dict:
    """In the child: set up, POST, measure."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "returns_portal.settings.test",
                       "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
                       "PRIVATE_MEDIA_ROOT": str(workdir / "private")})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    call_command("migrate", verbosity=0)
    from disputes.models import DisputeAttachment
    from disputes.tests.factories import PNG, disputable_line
    from accounts.tests.factories import BuyerFactory

    buyer = BuyerFactory(country="RU")
    line = disputable_line(buyer=buyer, warehouse_country=None)
    client = Client()
    client.force_login(buyer)
    bomb = BOMB_FILE.read_bytes()
    files = [SimpleUploadedFile(f"bomb{n}.png", bomb, content_type="image/png") for n in range(count)]
    if control:
        files = [SimpleUploadedFile("photo.png", PNG, content_type="image/png")]
    data = {"kind": "return", "route": "international", "amount": str(line.unit_price),
            "reason": "not_as_expected", "description": "Bench.", "evidence": files}
    url = reverse("disputes:dispute_open", args=[line.pk])
    client.get(url)  # warm: templates, translations, Pillow's plugins
    before = peak_rss_mib()
    started = time.perf_counter()
    response = client.post(url, data)
    elapsed = time.perf_counter() - started
    after = peak_rss_mib()
    form = response.context["form"] if response.status_code == 422 else None
    location = Path(DisputeAttachment._meta.get_field("file").storage.location)
    stored = [p for p in location.rglob("*") if p.is_file()] if location.exists() else []
    # The refusal itself, without the request around it (parsing the upload, rendering the page).
    from django.core.exceptions import ValidationError
    from disputes.uploads import validate_evidence_file

    judged = SimpleUploadedFile("bomb.png", bomb, content_type="image/png")
    started = time.perf_counter()
    try:
        validate_evidence_file(judged)
    except ValidationError:
        pass
    judge_ms = (time.perf_counter() - started) * 1000
    return {"bombs": count, "control": control, "status": response.status_code, "ms": round(elapsed * 1000, 1),
            "peak_before_mib": round(before, 1), "peak_after_mib": round(after, 1),
            "message": form.errors["evidence"][0] if form is not None else "",
            "attachments": DisputeAttachment.objects.count(), "files_stored": len(stored),
            "bomb_bytes": len(bomb), "judge_ms": round(judge_ms, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bombs", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--control", action="store_true", help="also post one ordinary photo")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        count, control = json.loads(args.case)
        print(json.dumps(run_case(count, control)))
        return
    if not BOMB_FILE.exists():
        sys.path.insert(0, str(ROOT))
        from disputes.tests.crafted import bomb_png

        BOMB_FILE.write_bytes(bomb_png(bit_depth=8, colour_type=2))
    cases = [(count, False) for count in args.bombs] + ([(0, True)] if args.control else [])
    print(f"{'case':<10}{'status':>7}{'POST ms':>9}{'peak RSS before':>17}{'after POST':>12}  rows/files  message")
    for count, control in cases:
        # bandit: this same script with its own arguments, no shell.
        child = subprocess.run([sys.executable, __file__, "--case", json.dumps([count, control])],  # nosec B603
                               capture_output=True, text=True, check=True, cwd=ROOT)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        name = "1 photo" if control else f"{count} bomb{'s' if count != 1 else ''}"
        print(f"{name:<10}{result['status']:>7}{result['ms']:>9}{result['peak_before_mib']:>13} MiB"
              f"{result['peak_after_mib']:>8} MiB  {result['attachments']}/{result['files_stored']:<9} "
              f"{result['message']}")
    print(f"one bomb judged alone (validate_evidence_file): {result['judge_ms']} ms")
    print(f"bomb: 13,000 x 13,000 RGB PNG, {BOMB_FILE.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
