"""Media file types decided by content (never by name), checks that a file is complete, and the one table of
file types: media type, kind and file extensions of each, which every other module asks (:data:`FORMATS`)."""
from __future__ import annotations

import io
import os
import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Union

from .exceptions import GenerationError

__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "KINDS",
    "FileFormat",
    "MediaInvalid",
    "accepted",
    "accepted_of_kind",
    "extension",
    "sniff",
    "sniff_file",
    "strip_image_metadata",
    "verify",
]

PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]



@dataclass(frozen=True)
class FileFormat:
    """A file type the site takes, stores or sends: ``extensions`` start with the one files are saved under."""

    media_type: str
    kind: str  # image, video or audio
    extensions: tuple[str, ...]


#: Every file type by the name :func:`sniff` gives it (``jpg``: GMI's other name for ``jpeg``).
#: The order is the one lists shown to people follow (images, then video, then audio).
FORMATS: dict[str, FileFormat] = {
    "png": FileFormat("image/png", "image", (".png",)),
    "jpeg": FileFormat("image/jpeg", "image", (".jpg", ".jpeg")),
    "jpg": FileFormat("image/jpeg", "image", (".jpg", ".jpeg")),
    "mp4": FileFormat("video/mp4", "video", (".mp4",)),
    "mp3": FileFormat("audio/mpeg", "audio", (".mp3",)),
    "wav": FileFormat("audio/wav", "audio", (".wav",)),
}

#: File type → media type (``Content-Type``).
CONTENT_TYPES: dict[str, str] = {name: fmt.media_type for name, fmt in FORMATS.items()}

#: File type → kind (image, video, audio).
KINDS: dict[str, str] = {name: fmt.kind for name, fmt in FORMATS.items()}


def extension(file_type: str) -> str:
    """The extension (without the dot) a file of ``file_type`` is saved under: ``jpeg`` → ``jpg``."""
    return FORMATS[file_type].extensions[0].lstrip(".")


def accepted(file_type: str) -> tuple[str, ...]:
    """Media type and extensions of ``file_type``, as an HTML ``accept`` attribute lists them; () if unknown."""
    fmt = FORMATS.get(file_type)
    return (fmt.media_type, *fmt.extensions) if fmt else ()


def accepted_of_kind(kind: str) -> tuple[str, ...]:
    """Every media type, then every extension, of the file types of ``kind`` (image, video, audio)."""
    formats = [fmt for fmt in FORMATS.values() if fmt.kind == kind]
    media_types = dict.fromkeys(fmt.media_type for fmt in formats)
    extensions = dict.fromkeys(ext for fmt in formats for ext in fmt.extensions)
    return (*media_types, *extensions)

# Enough for every signature below, including an ID3 header.
HEAD_SIZE = 64

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_JPEG_SOI = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"

# A real MP4 has a handful of top-level boxes; a fragmented one a few thousand.
# The cap keeps a hostile file of millions of 8-byte boxes from pinning a worker.
_MAX_TOP_LEVEL_BOXES = 100_000
# The index of even a long video is a few MB; bigger than this is not worth reading.
_MAX_MOOV_BYTES = 64 << 20
# Boxes on the path from moov to the chunk-offset tables.
_MP4_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl"})

# MPEG audio layer III bitrates (kbit/s) by version, and sample rates by version.
_MP3_BITRATES = {
    "1": (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    "2": (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# Encoders sometimes pad between the ID3 tag and the first frame with zeros.
_MP3_MAX_PADDING = 4096


class MediaInvalid(GenerationError, ValueError):
    """A file is not a complete, well-formed file of the expected type.

    The message is meant for people (admin, logs, a generation's error text). Still a
    ValueError, as it always was, for callers that treat it as a bad value.
    """

    code = "invalid_media"


def sniff(head: bytes) -> str | None:
    """Return the media type of a file from its first bytes, or None if unknown.

    One of ``"jpeg"``, ``"png"``, ``"mp4"``, ``"mp3"``, ``"wav"``. Pass at least
    ``HEAD_SIZE`` bytes when available; fewer may not be enough to decide.
    """
    if head.startswith(_JPEG_SOI):
        return "jpeg"
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    # Any brand: isom, mp41, mp42, avc1, dash, iso5, M4V ... all share the ftyp box.
    if len(head) >= 8 and head[4:8] == b"ftyp" and struct.unpack(">I", head[:4])[0] >= 8:
        return "mp4"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"ID3") or _mp3_frame_length(head[:4]) is not None:
        return "mp3"
    return None


def sniff_file(source: PathOrFile) -> str | None:
    """Like :func:`sniff`, reading the head of a path or a seekable binary file.

    A file object's position is left where it was.
    """
    with _opened(source) as f:
        f.seek(0)
        return sniff(f.read(HEAD_SIZE))


def verify(source: PathOrFile, expected: str) -> None:
    """Raise MediaInvalid unless ``source`` is a complete, well-formed ``expected`` file.

    ``source`` is a path or a seekable binary file object (its position is left
    where it was). ``expected`` is a key of ``KINDS``; an unknown value is a
    programming error and raises a plain ValueError. The file is read with seeks
    and small reads only, so its size does not matter.

    What is checked: the content matches ``expected`` (by signature, not by name);
    MP4 — top-level boxes (64-bit sizes included) run exactly to the end of the file,
    ``ftyp`` and ``moov`` are present and every chunk offset of the index points into
    an ``mdat`` box; JPEG — starts with SOI, ends with EOI; PNG — signature, IHDR
    first, IEND last; MP3 — a complete first MPEG layer III frame after an optional
    ID3v2 tag; WAV — the RIFF size matches the file and the ``fmt `` and ``data``
    chunks are present and complete.
    """
    kind = "jpeg" if expected == "jpg" else expected
    checker = _CHECKERS.get(kind)
    if checker is None:
        raise ValueError(f"unknown media type {expected!r}; expected one of {sorted(KINDS)}")
    with _opened(source) as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            raise MediaInvalid("The file is empty.")
        f.seek(0)
        found = sniff(f.read(HEAD_SIZE))
        if found != kind:
            looks = f"looks like {found.upper()}" if found else "is not a recognised media file"
            raise MediaInvalid(f"Expected a {kind.upper()} file, but the content {looks}.")
        checker(f, size)


@contextmanager
def _opened(source: PathOrFile) -> Iterator[IO[bytes]]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            yield f
        return
    position = source.tell()
    try:
        yield source
    finally:
        source.seek(position)


def _read_at(f: IO[bytes], offset: int, length: int) -> bytes:
    f.seek(offset)
    return f.read(length)


# --- Image metadata ----------------------------------------------------------

# JPEG application segments that describe how to decode the pixels, kept: JFIF (APP0),
# the colour profile (APP2 "ICC_PROFILE") and Adobe's colour transform (APP14). Every other
# segment (EXIF with GPS and camera serials, XMP, IPTC, maker notes) and comments go.
_JPEG_KEPT_SEGMENTS = {("APP0", b"JFIF"), ("APP2", b"ICC_PROFILE"), ("APP14", b"Adobe")}
# PNG chunks that only describe the file (text, EXIF, XMP, time of writing); colour chunks stay.
_PNG_INFO_KEYS = frozenset({"exif", "xmp", "XML:com.adobe.xmp", "comment"})


def strip_image_metadata(data: bytes, file_type: str, *, max_pixels: int) -> bytes:
    """``data`` (a complete JPEG or PNG) without EXIF, XMP, IPTC, comments or text chunks.

    A file that carries none comes back unchanged, byte for byte. Otherwise it is
    re-encoded by Pillow with its colour profile and with its EXIF orientation applied
    to the pixels (the picture looks as it did; the tag that said how to turn it goes
    with the rest). Raises MediaInvalid for a file Pillow cannot read or one of more
    than ``max_pixels`` pixels (a few KB can announce a picture that takes gigabytes
    to decode).
    """
    # Local: only an image upload needs Pillow; everything else here reads bytes itself.
    from PIL import Image, ImageOps

    kind = "jpeg" if file_type == "jpg" else file_type
    if kind not in ("jpeg", "png"):
        raise ValueError(f"not an image type: {file_type!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind.upper()])
            width, height = image.size
            if width * height > max_pixels:
                raise MediaInvalid(f"The image is {width} × {height} pixels; at most {max_pixels:,} pixels "
                                   "are accepted.")
            if not _has_metadata(image, kind):
                return data
            icc = image.info.get("icc_profile")
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if kind == "jpeg":
                if upright.mode not in ("RGB", "L", "CMYK"):
                    upright = upright.convert("RGB")
                upright.save(out, format="JPEG", quality=95, icc_profile=icc, exif=b"", comment="")
            else:
                upright.save(out, format="PNG", icc_profile=icc)
            return out.getvalue()
    except MediaInvalid:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaInvalid(f"The image could not be read: {exc}") from exc


def _has_metadata(image: Any, kind: str) -> bool:
    if image.getexif():
        return True
    if kind == "jpeg":
        segments = getattr(image, "applist", [])
        kept = all(any(marker == name and body.startswith(prefix) for name, prefix in _JPEG_KEPT_SEGMENTS)
                   for marker, body in segments)
        return not kept or bool(image.info.get("comment"))
    return bool(getattr(image, "text", None)) or any(key in image.info for key in _PNG_INFO_KEYS)


# --- MP4 -------------------------------------------------------------------


def _verify_mp4(f: IO[bytes], size: int) -> None:
    offset = 0
    boxes: list[tuple[bytes, int, int, int]] = []  # (type, start, payload start, end)
    while offset < size:
        if len(boxes) >= _MAX_TOP_LEVEL_BOXES:
            raise MediaInvalid(f"MP4 has more than {_MAX_TOP_LEVEL_BOXES} top-level boxes.")
        remaining = size - offset
        if remaining < 8:
            raise MediaInvalid(f"MP4 is truncated: {remaining} stray bytes after the last box.")
        header = _read_at(f, offset, 16)
        box_size, box_type = struct.unpack(">I4s", header[:8])
        header_size = 8
        if box_size == 1:
            if remaining < 16:
                raise MediaInvalid("MP4 is truncated inside a box header.")
            (box_size,) = struct.unpack(">Q", header[8:16])
            header_size = 16
        elif box_size == 0:
            # ISO/IEC 14496-12: size 0 means "this box runs to the end of the file".
            box_size = remaining
        if not _is_box_type(box_type) or box_size < header_size:
            raise MediaInvalid(f"MP4 has a malformed box at byte {offset}.")
        if box_size > remaining:
            raise MediaInvalid(
                f"MP4 is truncated: the {_box_name(box_type)} box at byte {offset} needs "
                f"{box_size} bytes but only {remaining} remain."
            )
        boxes.append((box_type, offset, offset + header_size, offset + box_size))
        offset += box_size

    types = {box[0] for box in boxes}
    if b"ftyp" not in types:
        raise MediaInvalid("MP4 has no ftyp box.")
    if b"moov" not in types:
        raise MediaInvalid("MP4 has no moov box (the index), so it cannot be played.")
    media = [(start, end) for box_type, _, start, end in boxes if box_type == b"mdat"]
    for box_type, _, start, end in boxes:
        if box_type != b"moov" or end - start > _MAX_MOOV_BYTES:
            continue
        for chunk_offset in _chunk_offsets(_read_at(f, start, end - start)):
            if not any(lo <= chunk_offset < hi for lo, hi in media):
                if not media:
                    raise MediaInvalid("MP4 refers to media data but has no mdat box.")
                raise MediaInvalid(
                    f"MP4 index points at byte {chunk_offset}, outside the media data."
                )


def _is_box_type(box_type: bytes) -> bool:
    # Printable ASCII, plus the copyright sign that QuickTime metadata uses.
    return all(0x20 <= b <= 0x7E or b == 0xA9 for b in box_type)


def _box_name(box_type: bytes) -> str:
    return box_type.decode("latin-1")


def _chunk_offsets(payload: bytes) -> Iterator[int]:
    """Yield the chunk offsets (stco/co64 entries) found in a moov payload."""
    view = memoryview(payload)
    position = 0
    while position + 8 <= len(view):
        box_size, box_type = struct.unpack_from(">I4s", view, position)
        header_size = 8
        if box_size == 1:
            if position + 16 > len(view):
                raise MediaInvalid("MP4 index (moov) is malformed.")
            (box_size,) = struct.unpack_from(">Q", view, position + 8)
            header_size = 16
        elif box_size == 0:
            box_size = len(view) - position
        if box_size < header_size or position + box_size > len(view):
            raise MediaInvalid("MP4 index (moov) is malformed.")
        body = view[position + header_size : position + box_size]
        if box_type in _MP4_CONTAINERS:
            yield from _chunk_offsets(bytes(body))
        elif box_type in (b"stco", b"co64"):
            width = 4 if box_type == b"stco" else 8
            if len(body) < 8:
                raise MediaInvalid("MP4 chunk offset table is malformed.")
            (count,) = struct.unpack_from(">I", body, 4)
            if len(body) < 8 + count * width:
                raise MediaInvalid("MP4 chunk offset table is truncated.")
            table = body[8 : 8 + count * width]
            for (chunk_offset,) in struct.iter_unpack(">I" if width == 4 else ">Q", table):
                yield chunk_offset
        position += box_size


# --- JPEG and PNG ------------------------------------------------------------


def _verify_jpeg(f: IO[bytes], size: int) -> None:
    if size < 4 or _read_at(f, size - 2, 2) != _JPEG_EOI:
        raise MediaInvalid("JPEG has no end-of-image marker: the file is probably cut short.")


def _verify_png(f: IO[bytes], size: int) -> None:
    if _read_at(f, 8, 8) != b"\x00\x00\x00\x0dIHDR":
        raise MediaInvalid("PNG does not start with an IHDR chunk.")
    if size < 8 + 25 + 12 or _read_at(f, size - 12, 12) != _PNG_IEND:
        raise MediaInvalid("PNG has no IEND chunk at the end: the file is probably cut short.")


# --- Audio -------------------------------------------------------------------


def _mp3_frame_length(header: bytes) -> int | None:
    """Length in bytes of the MPEG layer III frame starting with ``header``.

    None if ``header`` is not a layer III frame header; 0 for a valid free-format
    frame, whose length cannot be known from its header.
    """
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0b11  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
    layer = (header[1] >> 1) & 0b11  # 1: layer III; others are not "mp3" (0: AAC/ADTS)
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0b11
    if version == 1 or layer != 1 or bitrate_index == 0xF or rate_index == 3:
        return None
    if bitrate_index == 0:
        return 0
    bitrate = _MP3_BITRATES["1" if version == 3 else "2"][bitrate_index] * 1000
    sample_rate = _MP3_SAMPLE_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    samples_factor = 144 if version == 3 else 72
    return samples_factor * bitrate // sample_rate + padding


def _verify_mp3(f: IO[bytes], size: int) -> None:
    offset = 0
    head = _read_at(f, 0, 10)
    if head.startswith(b"ID3"):
        if len(head) < 10 or any(b & 0x80 for b in head[6:10]):
            raise MediaInvalid("MP3 has a malformed ID3 tag.")
        tag_size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        has_footer = head[5] & 0x10
        offset = 10 + tag_size + (10 if has_footer else 0)
        if offset >= size:
            raise MediaInvalid("MP3 is truncated: the ID3 tag runs past the end of the file.")
        window = _read_at(f, offset, _MP3_MAX_PADDING + 4)
        offset += len(window) - len(window.lstrip(b"\x00"))
    frame_length = _mp3_frame_length(_read_at(f, offset, 4))
    if frame_length is None:
        raise MediaInvalid("MP3 has no MPEG audio frame where the audio should start.")
    if offset + max(frame_length, 4) > size:
        raise MediaInvalid("MP3 is truncated inside its first audio frame.")


def _verify_wav(f: IO[bytes], size: int) -> None:
    (riff_size,) = struct.unpack("<I", _read_at(f, 4, 4))
    riff_end = riff_size + 8
    # A writer may or may not count the pad byte of an odd-sized last chunk.
    if size not in (riff_end, riff_end + 1):
        raise MediaInvalid(
            f"WAV header announces {riff_end} bytes but the file has {size}: "
            "the file is probably cut short."
        )
    offset = 12
    seen: set[bytes] = set()
    while offset + 8 <= riff_end:
        chunk_id, chunk_size = struct.unpack("<4sI", _read_at(f, offset, 8))
        chunk_end = offset + 8 + chunk_size
        if chunk_end > riff_end:
            raise MediaInvalid(f"WAV chunk {chunk_id!r} runs past the end of the file.")
        seen.add(chunk_id)
        offset = chunk_end + (chunk_size & 1)
    if offset < riff_end:
        raise MediaInvalid("WAV has stray bytes after its last chunk.")
    if b"fmt " not in seen or b"data" not in seen:
        raise MediaInvalid("WAV lacks a 'fmt ' or 'data' chunk.")


_CHECKERS: dict[str, Callable[[IO[bytes], int], None]] = {
    "jpeg": _verify_jpeg,
    "png": _verify_png,
    "mp4": _verify_mp4,
    "mp3": _verify_mp3,
    "wav": _verify_wav,
}
