"""The Russian catalog is complete and shipped compiled (a machine with only Python has no
msgfmt): every message of ours translated, nothing fuzzy, placeholders kept, the ``.mo``
compiled from the ``.po`` as it is, and the ``.po`` holding every message the sources have."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "ru" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


@pytest.fixture(scope="module")
def catalog() -> polib.POFile:
    return polib.pofile(str(PO))


def entries(catalog):
    return [entry for entry in catalog if not entry.obsolete]


def test_every_message_is_translated_and_none_is_fuzzy(catalog):
    assert [e.msgid for e in catalog.untranslated_entries()] == []
    assert [e.msgid for e in catalog.fuzzy_entries()] == []
    assert len(entries(catalog)) > 500


def test_every_translation_keeps_its_placeholders(catalog):
    wrong = []
    for entry in entries(catalog):
        if entry.msgid_plural:
            wanted = set(PLACEHOLDER.findall(entry.msgid_plural))
            translations = entry.msgstr_plural.values()
        else:
            wanted = set(PLACEHOLDER.findall(entry.msgid))
            translations = [entry.msgstr]
        wrong += [(entry.msgid, text) for text in translations if set(PLACEHOLDER.findall(text)) != wanted]
    assert wrong == []


def test_russian_plurals_have_the_four_forms_django_uses(catalog):
    assert catalog.metadata["Plural-Forms"].startswith("nplurals=4;")
    assert [e.msgid for e in entries(catalog) if e.msgid_plural and len(e.msgstr_plural) != 4] == []


def test_the_shipped_mo_is_compiled_from_the_po_as_it_is(catalog):
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural)) for e in polib.mofile(str(MO))}
    source = {(e.msgctxt, e.msgid): (e.msgstr, {int(k): v for k, v in e.msgstr_plural.items()})
              for e in entries(catalog)}
    compiled = {key: (text, {int(k): v for k, v in plural.items()}) for key, (text, plural) in compiled.items()}
    stale = sorted(str(key) for key in source if compiled.get(key) != source[key])
    extra = sorted(str(key) for key in compiled if key not in source and key[1])
    assert (stale, extra) == ([], []), "run: python manage.py compilemessages -l ru --ignore=.venv"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext) to read the sources")
def test_the_po_holds_every_message_of_the_sources(catalog, tmp_path):
    # makemessages writes beside the sources: run it on a copy, never on the working tree.
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".env", "var", "staticfiles", "node_modules", "__pycache__", "*.mo", "bench"))
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "ru", "--no-obsolete", "--ignore=.venv",
                    "--ignore=staticfiles", "--ignore=bench"], cwd=copy, check=True, capture_output=True,
                   env={"DJANGO_SETTINGS_MODULE": "returns_portal.settings.test", "PATH": "/usr/bin:/bin",
                        "VAR_DIR": str(tmp_path / "var")})
    fresh = polib.pofile(str(copy / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    missing = sorted({e.msgid for e in entries(fresh)} - {e.msgid for e in entries(catalog)})
    assert missing == [], "run: make messages, translate, then compilemessages"
