"""Frames: one frame of a mirrored video, decoded with PyAV, sent to GMI as a PNG to start the next job."""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from .. import media
from ..exceptions import FramesUnavailable, InvalidInput, NoVideo, VideoUndecodable
from ..models import Generation, Upload
from ..types import User
from . import uploads
from .mirroring import generation_storage

logger = logging.getLogger("generations.frames")

LAST = "last"


@dataclass(frozen=True)
class Frame:
    """A frame sent to GMI: its upload record and its size in pixels."""

    upload: Upload
    width: int
    height: int
    at: float


def parse_at(value: Any) -> float | str:
    """``"last"`` or a non-negative number of seconds; ``InvalidInput`` otherwise."""
    if value is None or value == "" or value == LAST:
        return LAST
    if isinstance(value, bool):
        raise InvalidInput({"at": ['Give a time in seconds (e.g. 2.5) or "last".']})
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInput({"at": ['Give a time in seconds (e.g. 2.5) or "last".']}) from None
    if not (seconds >= 0) or seconds == float("inf"):
        raise InvalidInput({"at": ["The time cannot be negative."]})
    return seconds


def take_frame(*, generation: Generation, user: User, at: Any = LAST) -> Frame:
    """Decode the frame of ``generation``'s video shown at ``at`` seconds (or the last one) and upload it as PNG.

    The caller has checked that ``user`` may see the video. Raises ``NoVideo`` before the
    video is mirrored, ``InvalidInput`` for a time past its end, ``FramesUnavailable`` when
    PyAV is missing, and what ``uploads.upload_reference`` raises (the PNG goes through the
    same checks and the same GMI upload as any reference image).
    """
    moment = parse_at(at)
    if not generation.has_video or generation.is_removed:
        raise NoVideo("The video is not ready yet: take a frame once it has succeeded.")
    try:
        import av
    except ImportError:
        raise FramesUnavailable() from None
    try:
        handle = generation_storage().open(generation.video_name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise NoVideo("The video file is missing from storage.") from exc
    with handle:
        try:
            image, shown_at = _decode(av, handle, moment)
        except InvalidInput:
            raise
        except (av.FFmpegError, ValueError, IndexError, StopIteration) as exc:
            logger.warning("could not decode a frame of %s: %s", generation.pk, exc)
            raise VideoUndecodable("The video could not be decoded.") from exc
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    name = f"frame-{generation.pk}-{'last' if moment == LAST else f'{moment:.3f}'}.png"
    upload = uploads.upload_reference(
        user=user, uploaded_file=SimpleUploadedFile(name, buffer.getvalue(), content_type=media.CONTENT_TYPES["png"]))
    return Frame(upload=upload, width=image.width, height=image.height, at=shown_at)


def _decode(av: Any, handle: Any, moment: float | str) -> tuple[Any, float]:
    """The frame on screen at ``moment`` (the last frame whose time is not after it), as a Pillow image."""
    with av.open(handle, mode="r") as container:
        stream = container.streams.video[0]
        base = stream.time_base or Fraction(1, 1000)
        duration = _duration_seconds(container, stream)
        if not isinstance(moment, str):
            if duration is not None and moment > duration:
                raise InvalidInput({"at": [f"The video is {duration:.2f} s long: pick a time up to that, "
                                           'or "last".']})
            # Seeking lands on the key frame at or before the time; decode on from there.
            container.seek(int(moment / base), stream=stream, backward=True, any_frame=False)
        elif duration is not None and duration > 2:
            container.seek(int((duration - 2) / base), stream=stream, backward=True, any_frame=False)
        chosen = None
        for frame in container.decode(stream):
            time = float(frame.time) if frame.time is not None else 0.0
            if not isinstance(moment, str) and chosen is not None and time > moment + 1e-6:
                break
            chosen = (frame, time)
        if chosen is None:
            raise ValueError("no frame decoded")
        frame, time = chosen
        return frame.to_image(), time


def _duration_seconds(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None
