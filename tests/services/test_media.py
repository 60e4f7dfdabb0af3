"""Tests for content sniffing and completeness checks of media files."""
from __future__ import annotations

import io
import struct
import tracemalloc
import wave
from pathlib import Path

import pytest
from PIL import Image

from generations import media
from generations.media import MediaInvalid, sniff, sniff_file, verify

# --- Fixtures built by hand --------------------------------------------------


def box(box_type: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), box_type) + payload


def full_box(box_type: bytes, payload: bytes) -> bytes:
    return box(box_type, b"\x00\x00\x00\x00" + payload)


def make_mp4(*, media_data: bytes = b"\x00" * 64, with_moov: bool = True) -> bytes:
    """ftyp, moov (one track whose stco points into mdat), mdat."""
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")
    mdat_offset = len(ftyp)

    def moov_for(chunk_offset: int) -> bytes:
        stco = full_box(b"stco", struct.pack(">II", 1, chunk_offset))
        stbl = box(b"stbl", stco)
        trak = box(b"trak", box(b"mdia", box(b"minf", stbl)))
        mvhd = full_box(b"mvhd", b"\x00" * 96)
        return box(b"moov", mvhd + trak)

    mdat = box(b"mdat", media_data)
    if not with_moov:
        return ftyp + mdat
    # moov last, as most encoders write it: the data starts right after the mdat header.
    return ftyp + mdat + moov_for(mdat_offset + 8)


def make_image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def make_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    return buffer.getvalue()


MP3_FRAME_HEADER = b"\xff\xfb\x90\x00"  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
MP3_FRAME_LENGTH = 417


def make_mp3(*, id3: bool = True, frames: int = 3) -> bytes:
    frame = MP3_FRAME_HEADER + b"\x00" * (MP3_FRAME_LENGTH - 4)
    tag = b""
    if id3:
        body = b"TIT2\x00\x00\x00\x05\x00\x00\x03test"
        size = len(body)
        syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
        tag = b"ID3\x04\x00\x00" + syncsafe + body
    return tag + frame * frames


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- Sniffing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (make_image("JPEG"), "jpeg"),
        (make_image("PNG"), "png"),
        (make_mp4(), "mp4"),
        (make_mp3(), "mp3"),
        (make_mp3(id3=False), "mp3"),
        (make_wav(), "wav"),
        (b"<html><body>Access denied</body></html>", None),
        (b"", None),
        (b"\xff\xf1\x50\x80", None),  # AAC/ADTS shares the sync bits, but is not MP3
    ],
)
def test_sniff_decides_type_from_content(data: bytes, expected: str | None) -> None:
    assert sniff(data[: media.HEAD_SIZE]) == expected


def test_mp4_with_any_brand_is_sniffed() -> None:
    for brand in (b"isom", b"mp42", b"dash", b"M4V ", b"qt  ", b"zzzz"):
        assert sniff(box(b"ftyp", brand + b"\x00\x00\x00\x00")) == "mp4"


def test_type_is_decided_by_content_regardless_of_extension(tmp_path: Path) -> None:
    png_named_mp4 = write(tmp_path, "video.mp4", make_image("PNG"))
    mp4_named_jpg = write(tmp_path, "thumb.jpg", make_mp4())

    assert sniff_file(png_named_mp4) == "png"
    assert sniff_file(mp4_named_jpg) == "mp4"
    verify(png_named_mp4, "png")
    verify(mp4_named_jpg, "mp4")
    with pytest.raises(MediaInvalid, match="Expected a MP4 file, but the content looks like PNG"):
        verify(png_named_mp4, "mp4")


def test_content_types_and_kinds_cover_every_sniffed_type() -> None:
    for kind in ("jpeg", "png", "mp4", "mp3", "wav"):
        assert kind in media.CONTENT_TYPES and kind in media.KINDS
    assert media.CONTENT_TYPES["jpg"] == "image/jpeg"
    assert media.CONTENT_TYPES["mp3"] == "audio/mpeg"
    assert media.KINDS["mp4"] == "video" and media.KINDS["wav"] == "audio"


# --- Verification: valid files -----------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (make_image("JPEG"), "jpeg"),
        (make_image("JPEG"), "jpg"),
        (make_image("PNG"), "png"),
        (make_mp4(), "mp4"),
        (make_mp3(), "mp3"),
        (make_mp3(id3=False), "mp3"),
        (make_wav(), "wav"),
    ],
)
def test_complete_files_verify(tmp_path: Path, data: bytes, kind: str) -> None:
    verify(write(tmp_path, "f", data), kind)


def test_verify_accepts_a_file_object_and_keeps_its_position() -> None:
    stream = io.BytesIO(make_mp4())
    stream.seek(5)
    verify(stream, "mp4")
    assert stream.tell() == 5


def test_mp4_with_64_bit_box_size_verifies(tmp_path: Path) -> None:
    data = make_mp4()
    ftyp_length = struct.unpack(">I", data[:4])[0]
    mdat_length = struct.unpack(">I", data[ftyp_length : ftyp_length + 4])[0]
    payload = data[ftyp_length + 8 : ftyp_length + mdat_length]
    large_mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + len(payload)) + payload
    # The stco entry moves by the 8 extra header bytes.
    moov = bytearray(data[ftyp_length + mdat_length :])
    old = struct.pack(">I", ftyp_length + 8)
    moov[moov.rindex(old) : moov.rindex(old) + 4] = struct.pack(">I", ftyp_length + 16)
    verify(write(tmp_path, "large.mp4", data[:ftyp_length] + large_mdat + bytes(moov)), "mp4")


def test_huge_sparse_mp4_is_verified_without_reading_it_into_memory(tmp_path: Path) -> None:
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00")
    mdat_size = 600 << 20
    mdat_header = struct.pack(">I4sQ", 1, b"mdat", mdat_size)
    stco = full_box(b"stco", struct.pack(">II", 1, len(ftyp) + 16))
    moov = box(b"moov", box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", stco)))))
    path = tmp_path / "huge.mp4"
    with open(path, "wb") as f:
        f.write(ftyp + mdat_header)
        f.seek(len(ftyp) + mdat_size)  # a hole: no disk used, 600 MB of zeros when read
        f.write(moov)

    tracemalloc.start()
    try:
        verify(path, "mp4")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


# --- Verification: broken files ----------------------------------------------


def test_truncated_mp4_fails(tmp_path: Path) -> None:
    data = make_mp4()
    for cut in (len(data) - 1, len(data) - 40, len(data) // 2, 30):
        with pytest.raises(MediaInvalid, match="truncated"):
            verify(write(tmp_path, "cut.mp4", data[:cut]), "mp4")


def test_mp4_without_moov_fails(tmp_path: Path) -> None:
    with pytest.raises(MediaInvalid, match="no moov"):
        verify(write(tmp_path, "nomoov.mp4", make_mp4(with_moov=False)), "mp4")


def test_mp4_whose_index_points_outside_media_data_fails(tmp_path: Path) -> None:
    data = make_mp4()
    ftyp = data[: struct.unpack(">I", data[:4])[0]]
    moov_start = data.index(b"moov") - 4
    without_mdat = ftyp + data[moov_start:]
    with pytest.raises(MediaInvalid, match="no mdat"):
        verify(write(tmp_path, "nomdat.mp4", without_mdat), "mp4")


def test_mp4_with_trailing_garbage_fails(tmp_path: Path) -> None:
    with pytest.raises(MediaInvalid):
        verify(write(tmp_path, "junk.mp4", make_mp4() + b"<html>oops</html>"), "mp4")


def test_jpeg_without_end_of_image_fails(tmp_path: Path) -> None:
    data = make_image("JPEG")
    assert data.endswith(b"\xff\xd9")
    with pytest.raises(MediaInvalid, match="end-of-image"):
        verify(write(tmp_path, "cut.jpg", data[:-2]), "jpeg")
    with pytest.raises(MediaInvalid, match="end-of-image"):
        verify(write(tmp_path, "half.jpg", data[: len(data) // 2]), "jpeg")


def test_png_without_iend_fails(tmp_path: Path) -> None:
    data = make_image("PNG")
    with pytest.raises(MediaInvalid, match="IEND"):
        verify(write(tmp_path, "cut.png", data[:-12]), "png")


def test_wav_with_inconsistent_riff_size_fails(tmp_path: Path) -> None:
    data = make_wav()
    with pytest.raises(MediaInvalid, match="cut short"):
        verify(write(tmp_path, "cut.wav", data[:-100]), "wav")


def test_mp3_without_audio_frame_after_tag_fails(tmp_path: Path) -> None:
    tag_only = make_mp3(frames=0) + b"not audio at all"
    with pytest.raises(MediaInvalid, match="no MPEG audio frame"):
        verify(write(tmp_path, "tag.mp3", tag_only), "mp3")


def test_mp3_cut_inside_first_frame_fails(tmp_path: Path) -> None:
    data = make_mp3(id3=False, frames=1)[:100]
    with pytest.raises(MediaInvalid, match="truncated"):
        verify(write(tmp_path, "cut.mp3", data), "mp3")


def test_empty_file_fails(tmp_path: Path) -> None:
    with pytest.raises(MediaInvalid, match="empty"):
        verify(write(tmp_path, "empty.mp4", b""), "mp4")


def test_html_error_page_fails_as_mp4(tmp_path: Path) -> None:
    page = write(tmp_path, "video.mp4", b"<Error><Code>AccessDenied</Code></Error>")
    with pytest.raises(MediaInvalid, match="not a recognised media file"):
        verify(page, "mp4")


def test_unknown_expected_type_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as excinfo:
        verify(write(tmp_path, "f", make_mp4()), "gif")
    assert not isinstance(excinfo.value, MediaInvalid)


# --- The file-type table -------------------------------------------------------


def test_every_sniffed_type_has_a_media_type_a_kind_and_an_extension() -> None:
    for file_type in ("jpeg", "png", "mp4", "mp3", "wav"):
        assert file_type in media.FORMATS
    assert media.CONTENT_TYPES == {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "mp4": "video/mp4",
                                   "mp3": "audio/mpeg", "wav": "audio/wav"}
    assert media.KINDS["jpeg"] == media.KINDS["png"] == "image" and media.KINDS["mp4"] == "video"
    assert [media.extension(t) for t in ("jpeg", "jpg", "png", "mp4", "mp3", "wav")] == [
        "jpg", "jpg", "png", "mp4", "mp3", "wav"]


def test_accept_lists_come_from_the_table() -> None:
    assert media.accepted("jpeg") == ("image/jpeg", ".jpg", ".jpeg")
    assert media.accepted("gif") == ()
    assert media.accepted_of_kind("image") == ("image/png", "image/jpeg", ".png", ".jpg", ".jpeg")
    assert media.accepted_of_kind("audio") == ("audio/mpeg", "audio/wav", ".mp3", ".wav")


def test_an_invalid_file_is_an_error_of_the_app_and_still_a_value_error() -> None:
    from generations.exceptions import GenerationError

    with pytest.raises(MediaInvalid) as caught:
        verify(io.BytesIO(b""), "png")
    assert isinstance(caught.value, GenerationError) and isinstance(caught.value, ValueError)
    assert caught.value.message == str(caught.value) == "The file is empty."
