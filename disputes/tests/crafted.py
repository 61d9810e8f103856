"""Files crafted byte by byte, without Django: a decompression bomb and real video headers
(the tests and bench/uploads.py use them)."""
import zlib


def bomb_png(width: int = 13_000, height: int = 13_000, *, bit_depth: int = 1, colour_type: int = 0) -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels that packs to little: a decompression bomb.

    Written chunk by chunk and compressed row by row, so making it never holds the image in memory.
    The defaults (1-bit greyscale) give ~20 KiB; ``bit_depth=8, colour_type=2`` (RGB) gives the
    issue's size (~0.5 MiB) but takes a few seconds.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    channels = {0: 1, 2: 3}[colour_type]
    row = b"\x00" * (1 + (width * channels * bit_depth + 7) // 8)  # filter byte + the row's pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([bit_depth, colour_type, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# How ffmpeg starts the files it writes: an MP4 (ftyp isom, compatible isom iso2 avc1 mp41,
# then free and mdat) and a WebM (EBML header with DocType "webm", then the Segment).
MP4_HEADER = bytes.fromhex("000000206674797069736f6d0000020069736f6d69736f3261766331"
                           "6d70343100000008667265650000000c6d646174") + b"\x00" * 64
WEBM_HEADER = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d"
                            "4287810442858102185380670100000000000000") + b"\x00" * 64
