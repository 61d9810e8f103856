"""Evidence uploads under attack (issue 12): a decompression bomb is refused from its header, an
image is decoded once per request, a video must be in the container it claims, files of a
rolled-back transaction are swept, and every file is served by one rule."""
import os
import tracemalloc
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from PIL import ImageFile

from disputes.models import DisputeAttachment
from disputes.services._base import save_attachments
from disputes.services.evidence import evidence_storage, evidence_sweep_orphans
from disputes.tasks import sweep_orphan_evidence
from disputes.tests.crafted import MP4_HEADER, WEBM_HEADER, bomb_png
from disputes.tests.factories import JPEG, PNG, DisputeFactory
from disputes.tests import test_pages as pages
from disputes.tests.test_pages import NOTHING, file_url, international_return, open_url, rows
from disputes.uploads import validate_evidence_file
from returns_portal.errors import DomainError

pytestmark = pytest.mark.django_db

# The pages' fixtures: a signed-in buyer in Russia and a T-shirt received yesterday, at a fixed time.
clock, store, buyer, line = pages.clock, pages.store, pages.buyer, pages.line

BOMB = bomb_png()  # 13,000 x 13,000 = 169 Mpx in ~20 KiB
BOMB_EN = "“bomb.png” is too large: the limit is 40 megapixels per photo."
BOMB_RU = "Файл «bomb.png» слишком большой: максимум 40 Мп на фото."  # Мп agrees with any number
MISMATCH_EN = "The content of “clip.mp4” does not match its file type."
MISMATCH_RU = "Содержимое файла «clip.mp4» не соответствует его типу."


@pytest.fixture(autouse=True)
def evidence_settings(settings, tmp_path, monkeypatch):
    """The documented defaults, and a private storage of the test's own to count files in (the
    field resolved its storage when the model loaded: swap it there)."""
    settings.EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
    settings.EVIDENCE_MAX_FILES = 10
    settings.EVIDENCE_MAX_PIXELS = 40_000_000
    settings.EVIDENCE_ORPHAN_HOURS = 6
    monkeypatch.setattr(DisputeAttachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))
    return settings


def stored_files() -> list[str]:
    root = evidence_storage().location
    return sorted(os.path.relpath(os.path.join(folder, name), root)
                  for folder, _dirs, names in os.walk(root) for name in names)


def written_now() -> None:
    """Date every stored file at the test's clock (the disk dates them at the real time)."""
    now = timezone.now().timestamp()
    for name in stored_files():
        os.utime(evidence_storage().path(name), (now, now))


def bomb(name="bomb.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, BOMB, content_type="image/png")


@pytest.fixture
def no_decoding(monkeypatch):
    """Decoding any image fails the test: the refusal must come from the header alone."""
    def refuse(*args, **kwargs):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "verify", refuse)


@pytest.fixture
def decodes(monkeypatch):
    """Counts full decodes (``ImageFile.load``) of evidence images."""
    calls = []
    original = ImageFile.ImageFile.load

    def counting(image):
        calls.append(image.size)
        return original(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting)
    return calls


# --- the pixel cap ---------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(no_decoding):
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(bomb())

    assert raised.value.code == "too_many_pixels"
    assert raised.value.messages == [BOMB_EN]


def test_the_bomb_message_in_russian():
    with translation.override("ru"), pytest.raises(ValidationError) as raised:
        validate_evidence_file(bomb())

    assert raised.value.messages == [BOMB_RU]


def test_refusing_a_bomb_keeps_memory_flat():
    """tracemalloc sees Python's allocations only; the no-decoding test covers Pillow's C buffers."""
    upload = bomb()
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError):
            validate_evidence_file(upload)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2 * 1024 * 1024


def test_an_image_exactly_at_the_cap_is_accepted_and_one_pixel_more_is_refused(settings):
    settings.EVIDENCE_MAX_PIXELS = 32 * 24  # the factories' PNG

    assert validate_evidence_file(SimpleUploadedFile("ok.png", PNG)) == "image/png"
    settings.EVIDENCE_MAX_PIXELS = 32 * 24 - 1
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(SimpleUploadedFile("big.png", PNG))
    assert raised.value.messages == ["“big.png” is too large: the limit is 0 megapixels per photo."]


def test_the_cap_is_shown_with_a_decimal_when_it_has_one(settings):
    settings.EVIDENCE_MAX_PIXELS = 12_500_000

    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(bomb())

    assert raised.value.messages == ["“bomb.png” is too large: the limit is 12.5 megapixels per photo."]


def test_a_bomb_beyond_pillows_own_limit_gets_the_same_message(settings, no_decoding):
    settings.EVIDENCE_MAX_PIXELS = 10**12  # Pillow refuses 2 x 89 Mpx when opening: same answer
    huge = SimpleUploadedFile("bomb.png", bomb_png(20_000, 20_000))

    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(huge)

    assert raised.value.code == "too_many_pixels"


# --- decoded once ---------------------------------------------------------------------------


def test_the_form_and_the_service_decode_an_image_once(client, line, decodes):
    response = client.post(open_url(line), international_return(
        evidence=SimpleUploadedFile("photo.png", PNG, content_type="image/png")))

    assert response.status_code == 302
    assert DisputeAttachment.objects.get().content_type == "image/png"
    assert decodes == [(32, 24)]


def test_a_service_called_without_a_form_still_judges_the_file(decodes):
    dispute = DisputeFactory()
    DisputeAttachment.objects.all().delete()

    with pytest.raises(DomainError) as raised:
        save_attachments(dispute=dispute, uploader=dispute.buyer, files=[bomb()])

    assert raised.value.message == BOMB_EN
    assert decodes == []
    assert not DisputeAttachment.objects.exists()


# --- pages: 422, nothing stored --------------------------------------------------------------


def test_a_bomb_posted_as_evidence_is_refused_on_the_page(client, line, no_decoding):
    response = client.post(open_url(line), international_return(evidence=[bomb(), bomb("bomb2.png")]))

    assert response.status_code == 422
    assert response.context["form"].errors["evidence"] == [
        BOMB_EN, BOMB_EN.replace("bomb.png", "bomb2.png")]
    assert BOMB_EN in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert rows() == NOTHING
    assert stored_files() == []


def test_the_page_refuses_in_russian(client, line):
    client.post(reverse("accounts:language_set"), {"language": "ru", "next": "/"})

    response = client.post(open_url(line), international_return(evidence=bomb()))

    assert response.status_code == 422
    assert response.context["form"].errors["evidence"] == [BOMB_RU]
    assert rows() == NOTHING


def test_a_message_with_a_bomb_is_refused_and_stores_nothing(client, buyer, line):
    dispute = DisputeFactory(order_line=line, buyer=buyer)
    before = rows()
    files_before = stored_files()

    response = client.post(reverse("disputes:dispute_message", args=[dispute.pk]),
                           {"body": "See the photo.", "files": [bomb()]})

    assert response.status_code == 422
    assert response.context["message_form"].errors["files"] == [BOMB_EN]
    assert rows() == before
    assert stored_files() == files_before


# --- videos: the container they claim -----------------------------------------------------------


@pytest.mark.parametrize(("content", "name", "content_type", "media_type"), [
    (MP4_HEADER, "clip.mp4", "video/mp4", "video/mp4"),
    (MP4_HEADER, "clip.MOV", "video/quicktime", "video/mp4"),  # one family: ISO-BMFF
    (MP4_HEADER, "VID_0001", "application/octet-stream", "video/mp4"),  # no claim
    (WEBM_HEADER, "clip.webm", "video/webm", "video/webm"),
    (WEBM_HEADER, "clip.mkv", "video/x-matroska", "video/webm"),  # WebM is Matroska
    (PNG, "photo.png", "image/png", "image/png"),
    (JPEG, "photo.png", "image/png", "image/jpeg"),  # images are not held to their name
], ids=["mp4", "mp4-named-mov", "mp4-unnamed", "webm", "webm-named-mkv", "png", "jpeg-named-png"])
def test_a_real_video_header_in_the_container_it_claims_is_accepted(content, name, content_type, media_type):
    upload = SimpleUploadedFile(name, content + b"\x00" * 4096, content_type=content_type)

    assert validate_evidence_file(upload) == media_type


@pytest.mark.parametrize(("content", "name", "content_type"), [
    (WEBM_HEADER, "clip.mp4", "video/mp4"),
    (MP4_HEADER, "clip.mp4", "video/webm"),  # the declared type is a claim too
    (PNG, "clip.mp4", "video/mp4"),  # a photo renamed as a video
    (PNG, "clip.mp4", "image/png"),
    (MP4_HEADER, "clip.mp4", "video/x-msvideo"),
], ids=["webm-as-mp4", "mp4-declared-webm", "png-as-mp4", "png-named-mp4", "mp4-declared-avi"])
def test_a_file_in_another_container_than_it_claims_is_refused(content, name, content_type):
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(SimpleUploadedFile(name, content, content_type=content_type))

    assert raised.value.code == "type_mismatch"
    assert raised.value.messages == [MISMATCH_EN]
    with translation.override("ru"), pytest.raises(ValidationError) as in_russian:
        validate_evidence_file(SimpleUploadedFile(name, content, content_type=content_type))
    assert in_russian.value.messages == [MISMATCH_RU]


def test_a_video_renamed_as_a_photo_is_refused():
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(SimpleUploadedFile("photo.jpg", MP4_HEADER, content_type="image/jpeg"))

    assert raised.value.messages == ["The content of “photo.jpg” does not match its file type."]


def test_a_renamed_non_video_is_not_a_photo_or_a_video():
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(SimpleUploadedFile("clip.mp4", b"%PDF-1.7\n" * 50, content_type="video/mp4"))

    assert raised.value.code == "not_media"
    assert raised.value.messages == ["“clip.mp4” is not a photo or a video."]


def test_a_mismatched_video_on_the_page_is_a_422_and_stores_nothing(client, line):
    response = client.post(open_url(line), international_return(
        evidence=SimpleUploadedFile("clip.mp4", WEBM_HEADER, content_type="video/mp4")))

    assert response.status_code == 422
    assert response.context["form"].errors["evidence"] == [MISMATCH_EN]
    assert rows() == NOTHING
    assert stored_files() == []


# --- files of a rolled-back transaction ------------------------------------------------------


def test_a_failed_row_removes_the_files_already_written(monkeypatch):
    dispute = DisputeFactory()
    DisputeAttachment.objects.all().delete()
    original, calls = DisputeAttachment.save, []

    def second_row_fails(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise RuntimeError("database error")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DisputeAttachment, "save", second_row_fails)
    with pytest.raises(RuntimeError), transaction.atomic():
        save_attachments(dispute=dispute, uploader=dispute.buyer,
                         files=[SimpleUploadedFile("a.png", PNG), SimpleUploadedFile("b.png", PNG)])

    assert stored_files() == []
    assert not DisputeAttachment.objects.exists()


def test_the_sweep_removes_the_files_of_a_rolled_back_transaction_and_keeps_committed_ones(time_machine):
    dispute = DisputeFactory()
    DisputeAttachment.objects.all().delete()
    save_attachments(dispute=dispute, uploader=dispute.buyer, files=[SimpleUploadedFile("kept.png", PNG)])
    kept = DisputeAttachment.objects.get().file.name
    with pytest.raises(RuntimeError), transaction.atomic():
        save_attachments(dispute=dispute, uploader=dispute.buyer, files=[SimpleUploadedFile("lost.png", PNG)])
        raise RuntimeError("the transition failed after the files were written")
    written_now()
    assert len(stored_files()) == 2  # the rolled-back one is still on disk
    assert DisputeAttachment.objects.count() == 1

    assert evidence_sweep_orphans() == 0  # too young: its transaction might still commit
    assert evidence_sweep_orphans(now=timezone.now() + timedelta(hours=6, seconds=1)) == 1
    assert stored_files() == [kept]
    assert evidence_sweep_orphans(now=timezone.now() + timedelta(hours=6, seconds=1)) == 0  # twice: nothing
    assert stored_files() == [kept]
    assert DisputeAttachment.objects.get().file.read() == PNG


def test_the_sweep_task_runs_the_sweep(time_machine):
    DisputeAttachment.objects.all().delete()
    evidence_storage().save("disputes/2025/01/orphan.png", SimpleUploadedFile("x", PNG))
    written_now()
    time_machine.move_to(timezone.now() + timedelta(hours=7))

    assert sweep_orphan_evidence() == 1
    assert stored_files() == []


def test_the_sweep_is_scheduled():
    from returns_portal.celery import app

    assert app.conf.beat_schedule["sweep-orphan-evidence"]["task"] == "disputes.tasks.sweep_orphan_evidence"


# --- serving: one rule ----------------------------------------------------------------------------


def test_a_video_is_downloaded_and_an_image_shown_both_never_sniffed(client, buyer, line):
    dispute = DisputeFactory(order_line=line, buyer=buyer)
    save_attachments(dispute=dispute, uploader=buyer, files=[
        SimpleUploadedFile("photo.png", PNG), SimpleUploadedFile("clip.mp4", MP4_HEADER, content_type="video/mp4")])
    image = dispute.attachments.get(content_type="image/png")
    video = dispute.attachments.get(content_type="video/mp4")

    shown, downloaded = client.get(file_url(image)), client.get(file_url(video))

    assert shown["Content-Disposition"] == f'inline; filename="attachment-{image.pk}.png"'
    assert downloaded["Content-Disposition"] == f'attachment; filename="attachment-{video.pk}.mp4"'
    assert shown["X-Content-Type-Options"] == downloaded["X-Content-Type-Options"] == "nosniff"
    assert (shown["Content-Type"], downloaded["Content-Type"]) == ("image/png", "video/mp4")
    assert b"".join(downloaded.streaming_content) == MP4_HEADER
