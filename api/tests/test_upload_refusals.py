"""The API's POSTs with files (reject/, inspection/, messages/) refuse a decompression bomb and a
video in another container than it claims with a 400 in the error shape, in the pages' words,
writing nothing and leaving no file."""
import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ImageFile

from api.tests import test_write_api as write_api
from api.tests.test_write_api import APPAREL_CODES, api, url
from disputes.models import DisputeAttachment
from disputes.services import dispute_send_instructions, dispute_ship
from disputes.tests.crafted import WEBM_HEADER, bomb_png

from .world import snapshot

pytestmark = pytest.mark.django_db

# The write tests' world: a store with an API key, a buyer's dispute, a refund-only dispute.
clock, store, warehouse, seller, key, buyer, line, dispute, refund_only = (
    write_api.clock, write_api.store, write_api.warehouse, write_api.seller, write_api.key, write_api.buyer,
    write_api.line, write_api.dispute, write_api.refund_only)

BOMB = bomb_png()
BOMB_EN = "“bomb.png” is too large: the limit is 40 megapixels per photo."
MISMATCH_EN = "The content of “clip.mp4” does not match its file type."


@pytest.fixture(autouse=True)
def storage(settings, tmp_path, monkeypatch):
    settings.EVIDENCE_MAX_PIXELS = 40_000_000
    storage = FileSystemStorage(location=tmp_path)
    monkeypatch.setattr(DisputeAttachment._meta.get_field("file"), "storage", storage)
    return tmp_path


@pytest.fixture(autouse=True)
def no_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def bomb() -> SimpleUploadedFile:
    return SimpleUploadedFile("bomb.png", BOMB, content_type="image/png")


def mismatched() -> SimpleUploadedFile:
    return SimpleUploadedFile("clip.mp4", WEBM_HEADER, content_type="video/mp4")


def assert_refused(response, field: str, messages: list[str], before, storage) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "invalid"
    assert body["fields"] == {field: messages}
    assert snapshot() == before
    assert [path for path in storage.rglob("*") if path.is_file()] == []


@pytest.mark.parametrize(("upload", "message"), [(bomb, BOMB_EN), (mismatched, MISMATCH_EN)], ids=["bomb", "mismatch"])
def test_reject_with_a_refused_file(key, refund_only, storage, upload, message):
    before = snapshot()
    response = api(key).post(url(refund_only, "reject"), {"reason": "Used.", "evidence": [upload()]})
    assert_refused(response, "evidence", [message], before, storage)


@pytest.mark.parametrize(("upload", "message"), [(bomb, BOMB_EN), (mismatched, MISMATCH_EN)], ids=["bomb", "mismatch"])
def test_a_message_with_a_refused_file(key, dispute, storage, upload, message):
    before = snapshot()
    response = api(key).post(url(dispute, "messages"), {"body": "See.", "files": [upload()]})
    assert_refused(response, "files", [message], before, storage)


def test_an_inspection_with_a_bomb(key, dispute, seller, buyer, warehouse, storage):
    dispute_send_instructions(dispute=dispute, seller=seller, warehouse=warehouse, method="drop_off",
                              carrier="Russian Post")
    dispute_ship(dispute=dispute, buyer=buyer, carrier="Russian Post", tracking_number="RR123456785RU")
    before = snapshot()
    answers = {f"answers.{code}": "meets" for code in APPAREL_CODES}
    response = api(key).post(url(dispute, "inspection"), {**answers, "photos": [bomb(), bomb()]})
    assert_refused(response, "photos", [BOMB_EN, BOMB_EN], before, storage)
