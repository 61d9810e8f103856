"""Dispute evidence uploads: photos and videos a buyer attaches to a dispute or a message.

A file is judged by its bytes, never by its name or the content type the browser sent:
both are chosen by the client and prove nothing. Images must decode with Pillow, once, and
only after their header shows at most EVIDENCE_MAX_PIXELS; videos are recognised by their
container with ``filetype`` (ISO-BMFF ``ftyp`` brands, the EBML DocType), and a video must be
in the container its name or declared video type claims.
Evidence is stored in the "private" storage (not web-served) under a random name whose
extension comes from the detected type.
"""
from __future__ import annotations

import os
import uuid
import warnings
from typing import IO

import filetype
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_FILES = 10
DEFAULT_MAX_PIXELS = 40_000_000  # about 40 Mpx: a 12-24 Mpx phone photo passes

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

# filetype's name for a video container -> media type. Its "mp4" covers the ISO-BMFF brands
# that list isom/mp41/mp42; a 3GPP major brand narrows that to video/3gpp.
VIDEO_MEDIA_TYPES = {
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
}

# A video's container family: what a name or a declared type is held to. WebM is Matroska, and
# MP4, QuickTime and 3GPP are all ISO-BMFF, so a family, not the exact type, must match.
ISO_BMFF, MATROSKA, IMAGE = "iso-bmff", "matroska", "image"
FAMILY_OF_TYPE = {
    "video/mp4": ISO_BMFF,
    "video/x-m4v": ISO_BMFF,
    "video/quicktime": ISO_BMFF,
    "video/3gpp": ISO_BMFF,
    "video/3gpp2": ISO_BMFF,
    "video/webm": MATROSKA,
    "video/x-matroska": MATROSKA,
}
FAMILY_OF_EXTENSION = {
    **dict.fromkeys([".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2"], ISO_BMFF),
    **dict.fromkeys([".webm", ".mkv"], MATROSKA),
    **dict.fromkeys([".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif"], IMAGE),
}

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


def _max_pixels() -> int:
    return getattr(settings, "EVIDENCE_MAX_PIXELS", DEFAULT_MAX_PIXELS)


# --- detection -------------------------------------------------------------------------


class TooManyPixels(Exception):
    """An image whose header declares more than EVIDENCE_MAX_PIXELS: refused before decoding."""


def _video_media_type(header: bytes) -> str | None:
    kind = filetype.guess(header)  # every kind it knows: an audio brand must not pass as video
    media_type = VIDEO_MEDIA_TYPES.get(kind.extension) if kind is not None else None
    if media_type == "video/mp4" and header[8:11] in (b"3gp", b"3g2"):
        return "video/3gpp"
    return media_type


def _image_formats() -> list[str]:
    Image.init()
    return [name for name in IMAGE_MEDIA_TYPES if name in Image.OPEN]


def _image_media_type(file: IO[bytes]) -> str | None:
    formats = _image_formats()
    try:
        # open() reads the header only: the size is known before a pixel is decoded. Pillow's
        # warning about a large image is ours to give (TooManyPixels), not the log's.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file, formats=formats)
        with image:
            image_format = image.format
            if image.width * image.height > _max_pixels():
                raise TooManyPixels
            image.verify()  # structure and checksums (PNG CRCs, truncated headers)
        # verify() leaves the image unusable, and it misses a truncated JPEG or GIF body:
        # decoding the first frame catches those. JPEG decodes at 1/8 scale to stay cheap.
        file.seek(0)
        with Image.open(file, formats=formats) as image:
            image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except TooManyPixels:
        raise
    except Image.DecompressionBombError as error:  # Pillow's own cap, met while opening
        raise TooManyPixels from error
    # Malformed input makes Pillow raise many exception types (OSError, SyntaxError,
    # struct.error...); each means "not an image we accept".
    except Exception:
        return None
    return IMAGE_MEDIA_TYPES.get(image_format)


def detect_media_type(file: IO[bytes]) -> str | None:
    """The media type of ``file`` judged by its content, or None if it is not a photo or video.

    Raises TooManyPixels for an image larger than EVIDENCE_MAX_PIXELS, judged from its header
    without decoding it. The file is read from its start and left positioned at its start.
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


def _claimed_families(file: UploadedFile) -> set[str]:
    """What the name's extension and the declared type say the file is (unknown ones say nothing).

    A declared type counts only when it names a video: clients send image/* or
    application/octet-stream for anything, but a video type is a deliberate claim.
    """
    claims = set()
    extension = os.path.splitext(_display_name(file))[1].lower()
    if extension in FAMILY_OF_EXTENSION:
        claims.add(FAMILY_OF_EXTENSION[extension])
    declared = (getattr(file, "content_type", None) or "").split(";")[0].strip().lower()
    if declared.startswith("video/"):
        claims.add(FAMILY_OF_TYPE.get(declared, declared))
    return claims


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


def _megapixels_text(pixels: int) -> str:
    megapixels = round(pixels / 1_000_000, 1)
    return number_format(int(megapixels) if megapixels.is_integer() else megapixels)


# The verdict is kept on the upload object, so the form and the service judge (and decode) a
# file once; UploadedFile objects are not rewritten after the request is parsed.
_VERDICT = "_evidence_media_type"


def validate_evidence_file(file: UploadedFile) -> str:
    """Return the detected media type of an evidence upload.

    Refused (ValidationError) when the file is larger than EVIDENCE_MAX_BYTES ("too_large"),
    empty ("empty"), an image of more than EVIDENCE_MAX_PIXELS ("too_many_pixels", from its
    header, never decoded), neither a photo nor a video by content ("not_media"), or a video
    whose container is not the one its extension or declared video type claims, or a
    non-video that claims to be a video ("type_mismatch"). The size is checked first, so an
    oversized file is never read. A file that passed is not judged again.
    """
    verdict = getattr(file, _VERDICT, None)
    if verdict is not None:
        return verdict
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
    try:
        media_type = detect_media_type(file)
    except TooManyPixels:
        raise ValidationError(
            _("“%(name)s” is too large: the limit is %(megapixels)s megapixels per photo."),
            code="too_many_pixels",
            params={"name": name, "megapixels": _megapixels_text(_max_pixels())},
        ) from None
    if media_type is None:
        raise ValidationError(
            _("“%(name)s” is not a photo or a video."), code="not_media", params={"name": name}
        )
    family = FAMILY_OF_TYPE.get(media_type, IMAGE)
    if _claimed_families(file) - {family}:
        raise ValidationError(
            _("The content of “%(name)s” does not match its file type."),
            code="type_mismatch",
            params={"name": name},
        )
    setattr(file, _VERDICT, media_type)
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


# --- serving ---------------------------------------------------------------------------


def evidence_response(attachment) -> FileResponse:
    """The one way an evidence file leaves the private storage (the page's and the API's door,
    after ``selectors.attachment_for`` has checked who asks): with its detected type, never
    sniffed; shown inline only when it is an image, downloaded otherwise; cached privately."""
    is_image = attachment.content_type in IMAGE_MEDIA_TYPES.values()
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=not is_image,
        filename=f"attachment-{attachment.pk}{EXTENSIONS.get(attachment.content_type, '.bin')}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
