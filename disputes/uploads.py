"""Dispute evidence uploads: photos and videos a buyer attaches to a dispute or a message.

A file is judged by its bytes, never by its name or the content type the browser sent:
both are chosen by the client and prove nothing. Images must decode with Pillow; videos
are recognised by their container signature (ISO-BMFF ``ftyp`` brand, EBML doc type).
Evidence is stored in the "private" storage (not web-served) under a random name whose
extension comes from the detected type.
"""
from __future__ import annotations

import os
import uuid
from typing import IO

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_FILES = 10

# Enough for every container signature we recognise (the EBML header is ~40 bytes).
HEADER_BYTES = 1024

# Pillow format name -> media type. HEIF only counts when a plugin (pillow-heif) registers it.
IMAGE_MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "HEIF": "image/heif",
}

# ISO-BMFF major brand (bytes 8-12) -> media type.
ISO_BMFF_BRANDS = {
    b"isom": "video/mp4",
    b"iso2": "video/mp4",
    b"mp41": "video/mp4",
    b"mp42": "video/mp4",
    b"avc1": "video/mp4",
    b"M4V ": "video/mp4",
    b"dash": "video/mp4",
    b"qt  ": "video/quicktime",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3g2a": "video/3gpp",
}

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
EBML_DOCTYPE_ID = 0x4282

# Stored file extension per detected media type; anything else is stored as ".bin".
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/heif": ".heic",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/3gpp": ".3gp",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
}


def _max_bytes() -> int:
    return getattr(settings, "EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES)


def _max_files() -> int:
    return getattr(settings, "EVIDENCE_MAX_FILES", DEFAULT_MAX_FILES)


# --- detection -------------------------------------------------------------------------


def _read_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """Read an EBML variable-length integer at ``pos``; return (value, next_pos) or None."""
    if pos >= len(data) or data[pos] == 0:
        return None
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _ebml_media_type(header: bytes) -> str | None:
    """WebM or Matroska from the EBML header's DocType; None when the header is malformed."""
    size = _read_vint(header, len(EBML_MAGIC), keep_marker=False)
    if size is None:
        return None
    pos = size[1]
    end = pos + size[0]
    if end > len(header):  # truncated, or absurdly large for a header
        return None
    while pos < end:
        element_id = _read_vint(header, pos, keep_marker=True)
        if element_id is None:
            return None
        element_size = _read_vint(header, element_id[1], keep_marker=False)
        if element_size is None:
            return None
        start, length = element_size[1], element_size[0]
        if start + length > end:
            return None
        if element_id[0] == EBML_DOCTYPE_ID:
            doc_type = header[start : start + length].rstrip(b"\x00")
            return "video/webm" if doc_type == b"webm" else "video/x-matroska"
        pos = start + length
    return "video/x-matroska"  # DocType absent: Matroska is the EBML default


def _video_media_type(header: bytes) -> str | None:
    if len(header) >= 12 and header[4:8] == b"ftyp":
        box_size = int.from_bytes(header[0:4], "big")
        # size 1 means a 64-bit size follows; otherwise the box must at least hold its brand.
        if box_size == 1 or box_size >= 12:
            return ISO_BMFF_BRANDS.get(header[8:12])
        return None
    if header.startswith(EBML_MAGIC):
        return _ebml_media_type(header)
    return None


def _image_formats() -> list[str]:
    Image.init()
    return [name for name in IMAGE_MEDIA_TYPES if name in Image.OPEN]


def _image_media_type(file: IO[bytes]) -> str | None:
    formats = _image_formats()
    try:
        with Image.open(file, formats=formats) as image:
            image_format = image.format
            image.verify()  # structure and checksums (PNG CRCs, truncated headers)
        # verify() leaves the image unusable, and it misses a truncated JPEG or GIF body:
        # decoding the first frame catches those. JPEG decodes at 1/8 scale to stay cheap.
        file.seek(0)
        with Image.open(file, formats=formats) as image:
            image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    # Malformed input makes Pillow raise many exception types (OSError, SyntaxError,
    # struct.error, DecompressionBombError...); each means "not an image we accept".
    except Exception:
        return None
    return IMAGE_MEDIA_TYPES.get(image_format)


def detect_media_type(file: IO[bytes]) -> str | None:
    """The media type of ``file`` judged by its content, or None if it is not a photo or video.

    The file is read from its start and left positioned at its start.
    """
    try:
        file.seek(0)
        header = file.read(HEADER_BYTES)
        if not header:
            return None
        media_type = _video_media_type(header)
        if media_type is not None:
            return media_type
        file.seek(0)
        return _image_media_type(file)
    finally:
        file.seek(0)


# --- validation ------------------------------------------------------------------------


def _display_name(file: IO[bytes]) -> str:
    return os.path.basename(getattr(file, "name", None) or "") or _("file")


def _limit_text(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    if megabytes < 1:
        return filesizeformat(limit)
    megabytes = round(megabytes, 1)
    shown = number_format(int(megabytes) if megabytes.is_integer() else megabytes)
    return _("%(megabytes)s MB") % {"megabytes": shown}


def validate_evidence_file(file: UploadedFile) -> str:
    """Return the detected media type of an evidence upload.

    Refused (ValidationError) when the file is larger than EVIDENCE_MAX_BYTES ("too_large"),
    empty ("empty"), or neither a photo nor a video by content ("not_media"). The size is
    checked first, so an oversized file is never read.
    """
    name = _display_name(file)
    limit = _max_bytes()
    if file.size > limit:
        raise ValidationError(
            _("“%(name)s” is too large: the limit is %(limit)s per file."),
            code="too_large",
            params={"name": name, "limit": _limit_text(limit)},
        )
    if not file.size:
        raise ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": name})
    media_type = detect_media_type(file)
    if media_type is None:
        raise ValidationError(
            _("“%(name)s” is not a photo or a video."), code="not_media", params={"name": name}
        )
    return media_type


# --- form field ------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several evidence files in one ``<input type=file multiple>``; cleans to a list.

    Every file is validated and every bad file gets its own message, so the buyer can fix
    them all at once. More than EVIDENCE_MAX_FILES is refused as a whole ("too_many").
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        # validate_evidence_file reports an empty file with its name; let it speak.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            uploads = [upload for upload in data if upload not in self.empty_values]
        elif data in self.empty_values or data is False:
            uploads = []
        else:
            uploads = [data]

        if not uploads:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []

        max_files = _max_files()
        if len(uploads) > max_files:
            raise ValidationError(
                ngettext(
                    "You can attach at most %(max)d file; you chose %(count)d.",
                    "You can attach at most %(max)d files; you chose %(count)d.",
                    max_files,
                ),
                code="too_many",
                params={"max": max_files, "count": len(uploads)},
            )

        single_file_clean = super().clean
        cleaned, errors = [], []
        for upload in uploads:
            try:
                upload = single_file_clean(upload, None)
                validate_evidence_file(upload)
            except ValidationError as error:
                errors.extend(error.error_list)
            else:
                cleaned.append(upload)
        if errors:
            raise ValidationError(errors)
        return cleaned


# --- storage ---------------------------------------------------------------------------


def private_storage() -> Storage:
    """The storage for evidence: outside static and media, never served by the web server.

    Pass the function itself (``FileField(storage=private_storage)``) so migrations record
    a reference, not a resolved storage.
    """
    return storages["private"]


def evidence_upload_to(instance, filename: str) -> str:
    """``disputes/<yyyy>/<mm>/<uuid hex><ext>``; the buyer's file name is never used.

    The extension follows the instance's detected ``content_type``; ".bin" when unknown.
    """
    extension = EXTENSIONS.get(getattr(instance, "content_type", None) or "", ".bin")
    today = timezone.localdate()
    return f"disputes/{today:%Y}/{today:%m}/{uuid.uuid4().hex}{extension}"
