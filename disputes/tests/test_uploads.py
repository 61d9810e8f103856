"""Evidence uploads are judged by their bytes: real images, real container headers, no database."""
import io
import re

import pytest
import time_machine
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile, UploadedFile
from django.utils.datastructures import MultiValueDict
from PIL import Image

from disputes.uploads import (
    HEADER_BYTES,
    MultipleFileField,
    MultipleFileInput,
    detect_media_type,
    evidence_upload_to,
    private_storage,
    validate_evidence_file,
)

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def evidence_limits(settings):
    """The project defaults, set explicitly so the tests do not depend on settings files."""
    settings.EVIDENCE_MAX_BYTES = 20 * MB
    settings.EVIDENCE_MAX_FILES = 10
    return settings


def image_bytes(image_format: str, mode: str = "RGB", size=(64, 48), **save_options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red" if mode != "L" else 128).save(buffer, image_format, **save_options)
    return buffer.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (32, 32), colour) for colour in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def ftyp(brand: bytes, compatible: bytes = b"isommp41") -> bytes:
    """A minimal ISO-BMFF ftyp box (size, 'ftyp', major brand, minor version, compatible brands)."""
    body = b"ftyp" + brand + b"\x00\x00\x02\x00" + compatible
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00\x00\x00\x08free"


def ebml_element(element_id: bytes, payload: bytes) -> bytes:
    return element_id + bytes([0x80 | len(payload)]) + payload  # one-byte size vint


def ebml_header(doc_type: bytes | None) -> bytes:
    children = ebml_element(b"\x42\x86", b"\x01")  # EBMLVersion
    children += ebml_element(b"\x42\xf7", b"\x01")  # EBMLReadVersion
    if doc_type is not None:
        children += ebml_element(b"\x42\x82", doc_type)
    children += ebml_element(b"\x42\x87", b"\x04")  # DocTypeVersion
    # The Segment element follows the header in a real file.
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(children)]) + children + b"\x18\x53\x80\x67\x01"


def upload(content: bytes, name: str = "evidence.bin", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    # The browser's content type is deliberately plausible and wrong in many cases: it is ignored.
    return SimpleUploadedFile(name, content, content_type=content_type)


JPEG = image_bytes("JPEG")
PNG = image_bytes("PNG", mode="RGBA")
WEBP = image_bytes("WEBP")
GIF = image_bytes("GIF")
MP4 = ftyp(b"isom")
WEBM = ebml_header(b"webm")

ACCEPTED = [
    pytest.param(JPEG, "image/jpeg", id="jpeg"),
    pytest.param(image_bytes("JPEG", mode="L"), "image/jpeg", id="jpeg-greyscale"),
    pytest.param(image_bytes("JPEG", mode="CMYK"), "image/jpeg", id="jpeg-cmyk"),
    pytest.param(image_bytes("JPEG", progressive=True), "image/jpeg", id="jpeg-progressive"),
    pytest.param(PNG, "image/png", id="png"),
    pytest.param(WEBP, "image/webp", id="webp"),
    pytest.param(image_bytes("WEBP", lossless=True), "image/webp", id="webp-lossless"),
    pytest.param(GIF, "image/gif", id="gif"),
    pytest.param(animated_gif(), "image/gif", id="gif-animated"),
    pytest.param(MP4, "video/mp4", id="mp4-isom"),
    pytest.param(ftyp(b"iso2"), "video/mp4", id="mp4-iso2"),
    pytest.param(ftyp(b"mp41"), "video/mp4", id="mp4-mp41"),
    pytest.param(ftyp(b"mp42"), "video/mp4", id="mp4-mp42"),
    pytest.param(ftyp(b"avc1"), "video/mp4", id="mp4-avc1"),
    pytest.param(ftyp(b"M4V "), "video/mp4", id="m4v"),
    pytest.param(ftyp(b"dash"), "video/mp4", id="mp4-dash"),
    pytest.param(ftyp(b"qt  ", b"qt  "), "video/quicktime", id="quicktime"),
    pytest.param(ftyp(b"3gp4"), "video/3gpp", id="3gp4"),
    pytest.param(ftyp(b"3gp5"), "video/3gpp", id="3gp5"),
    pytest.param(ftyp(b"3g2a"), "video/3gpp", id="3g2a"),
    pytest.param(WEBM, "video/webm", id="webm"),
    pytest.param(ebml_header(b"matroska"), "video/x-matroska", id="matroska"),
]

REFUSED = [
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", id="pdf"),
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, id="exe"),
    pytest.param(b"these are definitely photos of the broken kettle\n", id="text"),
    pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 100, id="zip"),
    pytest.param(JPEG[: len(JPEG) // 2], id="jpeg-truncated-half"),
    pytest.param(JPEG[:-10], id="jpeg-truncated-tail"),
    pytest.param(PNG[:-10], id="png-truncated"),
    pytest.param(GIF[: len(GIF) // 2], id="gif-truncated"),
    pytest.param(WEBP[:-10], id="webp-truncated"),
    pytest.param(JPEG[:2] + b"\x00" * 200, id="jpeg-magic-only"),
    pytest.param(image_bytes("BMP"), id="bmp-not-accepted"),
    pytest.param(image_bytes("TIFF"), id="tiff-not-accepted"),
    pytest.param(ftyp(b"heic", b"mif1heic"), id="heic-brand-without-plugin"),
    pytest.param(ftyp(b"M4A "), id="ftyp-audio-brand"),
    pytest.param(b"\x00\x00\x00\x04ftypisom", id="ftyp-box-too-small"),
    pytest.param(b"\x1a\x45\xdf\xa3\x00\x00", id="ebml-invalid-size"),
    pytest.param(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", id="ebml-truncated-header"),
    pytest.param(b"\x1a\x45\xdf\xa3\x84\x42\x82\x88webm", id="ebml-element-overruns-header"),
    pytest.param(b"\x1a\x45\xdf\xa3\x01\xff\xff\xff\xff\xff\xff\xff", id="ebml-unknown-size-header"),
    pytest.param(b"\x00", id="one-byte"),
    # Matroska's DocType defaults to "matroska", but every muxer writes it and filetype needs it.
    pytest.param(ebml_header(None), id="ebml-without-doctype"),
]


class CountingReader(io.BytesIO):
    """Records how many bytes were read, to prove a video is judged from its header only."""

    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


# --- detect_media_type --------------------------------------------------------------------


@pytest.mark.parametrize(("content", "media_type"), ACCEPTED)
def test_detects_photos_and_videos_by_content(content, media_type):
    file = upload(content, name="whatever.txt", content_type="application/octet-stream")

    assert detect_media_type(file) == media_type
    assert file.tell() == 0


@pytest.mark.parametrize("content", REFUSED)
def test_refuses_everything_else(content):
    file = upload(content, name="photo.jpg", content_type="image/jpeg")

    assert detect_media_type(file) is None
    assert file.tell() == 0


def test_empty_file_is_not_media():
    assert detect_media_type(io.BytesIO(b"")) is None


@pytest.mark.parametrize("content", [JPEG, MP4, b"not media"], ids=["image", "video", "refused"])
def test_reads_from_the_start_and_rewinds_whatever_the_starting_position(content):
    file = io.BytesIO(content)
    file.seek(5)

    detect_media_type(file)

    assert file.tell() == 0


def test_video_is_judged_from_its_header_without_reading_the_rest():
    file = CountingReader(MP4 + b"\x00" * (5 * MB))

    assert detect_media_type(file) == "video/mp4"
    assert file.bytes_read <= HEADER_BYTES


def test_works_on_a_temporary_uploaded_file(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    file = TemporaryUploadedFile("big.jpg", "image/jpeg", len(PNG), None)
    file.write(PNG)
    try:
        assert detect_media_type(file) == "image/png"
        assert file.tell() == 0
    finally:
        file.close()


# --- validate_evidence_file ---------------------------------------------------------------


@pytest.mark.parametrize(("content", "media_type"), [(JPEG, "image/jpeg"), (WEBM, "video/webm")])
def test_validation_returns_the_detected_type(content, media_type):
    assert validate_evidence_file(upload(content, name="x.bin")) == media_type


def test_refuses_a_file_over_the_limit_before_reading_it(settings):
    settings.EVIDENCE_MAX_BYTES = 20 * MB

    class Unreadable(io.BytesIO):
        def read(self, size=-1):
            raise AssertionError("an oversized file must not be read")

    too_big = UploadedFile(Unreadable(), name="x.bin", size=20 * MB + 1)

    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(too_big)

    assert raised.value.code == "too_large"
    assert raised.value.messages == ["“x.bin” is too large: the limit is 20 MB per file."]


def test_a_file_exactly_at_the_limit_is_accepted(settings):
    settings.EVIDENCE_MAX_BYTES = len(JPEG)

    assert validate_evidence_file(upload(JPEG)) == "image/jpeg"


def test_small_limit_is_still_reported_readably(settings):
    settings.EVIDENCE_MAX_BYTES = 100

    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(upload(JPEG, name="x.jpg"))

    assert raised.value.code == "too_large"
    assert raised.value.messages == ["“x.jpg” is too large: the limit is 100\xa0bytes per file."]


def test_fractional_megabyte_limit(settings):
    settings.EVIDENCE_MAX_BYTES = int(2.5 * MB)
    too_big = UploadedFile(io.BytesIO(), name="clip.mp4", size=3 * MB)

    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(too_big)

    assert raised.value.messages == ["“clip.mp4” is too large: the limit is 2.5 MB per file."]


def test_refuses_an_empty_file():
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(upload(b"", name="x.jpg"))

    assert raised.value.code == "empty"
    assert raised.value.messages == ["“x.jpg” is empty."]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (REFUSED[0].values[0], "x.pdf"),
        (b"plain text, named like a photo", "photo.jpg"),
        (JPEG[: len(JPEG) // 2], "truncated.jpg"),
    ],
    ids=["pdf", "text-named-jpg", "truncated-jpeg"],
)
def test_refuses_what_is_not_a_photo_or_video(content, name):
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(upload(content, name=name))

    assert raised.value.code == "not_media"
    assert raised.value.messages == [f"“{name}” is not a photo or a video."]


def test_message_names_the_file_without_its_client_path():
    with pytest.raises(ValidationError) as raised:
        validate_evidence_file(UploadedFile(io.BytesIO(b"nope"), name="C:/Users/me/x.pdf", size=4))

    assert raised.value.messages == ["“x.pdf” is not a photo or a video."]


# --- MultipleFileField --------------------------------------------------------------------


class EvidenceForm(forms.Form):
    evidence = MultipleFileField()


class OptionalEvidenceForm(forms.Form):
    evidence = MultipleFileField(required=False)


def bound(form_class, files):
    return form_class(data={}, files=MultiValueDict({"evidence": files}))


def test_widget_renders_a_multiple_file_input():
    field = MultipleFileField()

    assert isinstance(field.widget, MultipleFileInput)
    assert field.widget.allow_multiple_selected is True
    html = str(EvidenceForm()["evidence"])
    assert 'type="file"' in html
    assert "multiple" in html


def test_accepts_a_valid_list():
    files = [upload(JPEG, "a.jpg"), upload(PNG, "b.png"), upload(MP4, "c.mp4"), upload(WEBM, "d.webm")]
    form = bound(EvidenceForm, files)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["evidence"] == files
    assert all(file.tell() == 0 for file in form.cleaned_data["evidence"])


def test_collects_one_error_per_bad_file():
    files = [
        upload(JPEG, "good.jpg"),
        upload(b"%PDF-1.4\n", "invoice.pdf"),
        upload(b"", "empty.jpg"),
        upload(WEBP, "good.webp"),
        upload(b"just text", "photo.jpg"),
    ]
    form = bound(EvidenceForm, files)

    assert not form.is_valid()
    assert form.errors["evidence"] == [
        "“invoice.pdf” is not a photo or a video.",
        "“empty.jpg” is empty.",
        "“photo.jpg” is not a photo or a video.",
    ]
    assert [error.code for error in form.errors.as_data()["evidence"]] == ["not_media", "empty", "not_media"]


def test_oversized_files_are_reported_with_the_rest(settings):
    settings.EVIDENCE_MAX_BYTES = len(JPEG)
    form = bound(EvidenceForm, [upload(JPEG, "ok.jpg"), upload(PNG + b"\x00" * len(JPEG), "huge.png")])

    assert not form.is_valid()
    assert [error.code for error in form.errors.as_data()["evidence"]] == ["too_large"]


def test_refuses_too_many_files(settings):
    settings.EVIDENCE_MAX_FILES = 3
    form = bound(EvidenceForm, [upload(JPEG, f"{n}.jpg") for n in range(4)])

    assert not form.is_valid()
    assert form.errors["evidence"] == ["You can attach at most 3 files; you chose 4."]
    assert form.errors.as_data()["evidence"][0].code == "too_many"


def test_exactly_the_maximum_number_of_files_is_accepted(settings):
    settings.EVIDENCE_MAX_FILES = 3
    form = bound(EvidenceForm, [upload(JPEG, f"{n}.jpg") for n in range(3)])

    assert form.is_valid(), form.errors
    assert len(form.cleaned_data["evidence"]) == 3


@pytest.mark.parametrize("files", [None, []], ids=["field-absent", "empty-list"])
def test_required_field_needs_at_least_one_file(files):
    form = EvidenceForm(data={}, files=MultiValueDict({} if files is None else {"evidence": files}))

    assert not form.is_valid()
    assert form.errors.as_data()["evidence"][0].code == "required"


@pytest.mark.parametrize("files", [None, []], ids=["field-absent", "empty-list"])
def test_optional_field_cleans_to_an_empty_list(files):
    form = OptionalEvidenceForm(data={}, files=MultiValueDict({} if files is None else {"evidence": files}))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["evidence"] == []


def test_field_clean_accepts_a_single_file():
    file = upload(GIF, "one.gif")

    assert MultipleFileField().clean(file) == [file]


# --- storage and file names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "extension"),
    [
        ("image/jpeg", ".jpg"),
        ("image/png", ".png"),
        ("image/webp", ".webp"),
        ("image/gif", ".gif"),
        ("video/mp4", ".mp4"),
        ("video/quicktime", ".mov"),
        ("video/3gpp", ".3gp"),
        ("video/webm", ".webm"),
        ("video/x-matroska", ".mkv"),
        ("application/x-msdownload", ".bin"),
        ("", ".bin"),
        (None, ".bin"),
    ],
)
def test_upload_path_extension_follows_the_detected_type(content_type, extension):
    class Evidence:
        pass

    instance = Evidence()
    instance.content_type = content_type

    with time_machine.travel("2025-03-09 12:00:00+03:00", tick=False):
        path = evidence_upload_to(instance, "../../etc/passwd.exe")

    assert re.fullmatch(rf"disputes/2025/03/[0-9a-f]{{32}}{re.escape(extension)}", path)


def test_upload_path_without_content_type_is_bin_and_never_reuses_the_name():
    first = evidence_upload_to(object(), "holiday.jpg")
    second = evidence_upload_to(object(), "holiday.jpg")

    assert first.endswith(".bin")
    assert "holiday" not in first
    assert first != second


def test_private_storage_is_the_private_alias(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }

    storage = private_storage()

    assert isinstance(storage, FileSystemStorage)
    assert storage.location == str(tmp_path)
    name = storage.save(evidence_upload_to(object(), "x.jpg"), io.BytesIO(JPEG))
    assert (tmp_path / name).read_bytes() == JPEG
