"""The simulated bucket under ``/storage/``: signed, expiring outcome files and upload URLs, with Range."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from urllib.parse import quote

from .calls import Answer, Call
from .media import Clip, aspect_of, padded_mp4, render_clip
from .state import Job, Upload

OUTPUTS = "gmi-outputs"
UPLOADS = "gmi-uploads"


def storage_error(status: int, code: str, message: str) -> Answer:
    # Shaped like Google Cloud Storage's XML errors, as GMI's outcome URLs are on GCS.
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Answer(status, body.encode(), "application/xml; charset=UTF-8")


def clip_of(job: Job) -> Clip:
    """The video and thumbnail of a job's outcome, in the aspect ratio it asked for."""
    return render_clip(job.variant, aspect_of(job.payload.get("aspect_ratio") or job.payload.get("aspectRatio")))


def outcome_urls(call: Call, job: Job) -> tuple[str, str]:
    """Signed URLs of a finished job's video and thumbnail."""
    # Signed afresh on every answer, valid for url_ttl: a client holding an expired link
    # gets a working one by asking for the job again. The expired-URLs fault signs
    # every link in the past, so asking again never helps.
    state = call.state
    now = state.now()
    expires = int(job.ends_at) - 60 if job.expired_urls else int(max(now, job.ends_at) + state.url_ttl)
    urls = []
    for name in ("video.mp4", "thumbnail.jpg"):
        path = f"/storage/{OUTPUTS}/{quote(job.request_id)}/{name}"
        urls.append(f"{call.origin}{path}?expires={expires}&sig={state.sign(path, expires)}")
    return urls[0], urls[1]


def upload_urls(call: Call, upload: Upload) -> tuple[str, str]:
    """The signed URL to PUT an upload to, and the public URL it is read from afterwards."""
    path = f"/storage/{UPLOADS}/{upload.token}.{upload.file_type}"
    signature = call.state.sign(path, upload.expires)
    return f"{call.origin}{path}?expires={upload.expires}&sig={signature}", f"{call.origin}{path}"


def _signed(call: Call, path: str) -> Answer | None:
    """None when the query string signs ``path`` and has not expired, else the 403 to send."""
    query = call.query
    if not call.state.signature_valid(path, query.get("expires", ""), query.get("sig", "")):
        return storage_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
    if int(query["expires"]) < call.state.now():
        return storage_error(403, "AccessDenied", f"Request has expired: {query['expires']}")
    return None


def media(call: Call, request_id: str, name: str) -> Answer:
    refusal = _signed(call, f"/storage/{OUTPUTS}/{quote(request_id)}/{name}")
    if refusal is not None:
        return refusal
    job = call.state.job(None, request_id)
    if job is None or job.phase(call.state.now())[0] != "success" or name not in ("video.mp4", "thumbnail.jpg"):
        return storage_error(404, "NoSuchKey", "The specified key does not exist.")
    clip = clip_of(job)
    if name == "thumbnail.jpg":
        return _file(call, clip.thumbnail, "image/jpeg")
    return _file(call, clip.video, "video/mp4", size=call.simulator.video_bytes)


def upload(call: Call, name: str) -> Answer:
    upload = call.state.upload(name.partition(".")[0])
    if upload is None or name != f"{upload.token}.{upload.file_type}":
        return storage_error(404, "NoSuchUpload", "The upload URL is unknown.")
    refusal = _signed(call, f"/storage/{UPLOADS}/{name}")
    if refusal is not None:
        return refusal
    sent_type = (call.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if sent_type != upload.content_type:
        # Pre-signed URLs sign the content type: another one breaks the signature.
        return storage_error(
            403, "SignatureDoesNotMatch", f"Content-Type must be {upload.content_type}, got {sent_type or 'none'}."
        )
    upload.data = call.raw
    return Answer(200, b"", "text/plain", {"ETag": f'"{hashlib.md5(call.raw).hexdigest()}"'})


def uploaded_file(call: Call, name: str) -> Answer:
    upload = call.state.upload(name.partition(".")[0])
    if upload is None or upload.data is None or name != f"{upload.token}.{upload.file_type}":
        return storage_error(404, "NoSuchKey", "The specified key does not exist.")
    return _file(call, upload.data, upload.content_type)


def _file(call: Call, data: bytes, content_type: str, *, size: int = 0) -> Answer:
    """Serve ``data`` (an MP4 grown to ``size`` bytes when that is larger: streamed,
    never built in memory) with single-range support."""
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    padded = padded_mp4(data, size) if size > len(data) else None
    size = padded.size if padded else len(data)

    def whole(status: int = 200, start: int = 0, stop: int = size, extra: dict[str, str] | None = None) -> Answer:
        answer = Answer(status, b"" if padded else data[start:stop], content_type, {**headers, **(extra or {})})
        if padded:
            answer.stream, answer.span = padded, (start, stop)
        return answer

    wanted = call.headers.get("Range", "")
    if not wanted.startswith("bytes=") or "," in wanted:
        return whole()
    first, _, last = wanted[6:].partition("-")
    try:
        start, end = (size - int(last), size - 1) if not first else (int(first), int(last) if last else size - 1)
    except ValueError:
        return whole()
    start, end = max(start, 0), min(end, size - 1)
    if start > end:
        return Answer(416, b"", content_type, {**headers, "Content-Range": f"bytes */{size}"})
    return whole(206, start, end + 1, {"Content-Range": f"bytes {start}-{end}/{size}"})


#: (method, endpoint, path pattern after ``/storage/``; None matches any segment, handler).
ROUTES: list[tuple[str, str, tuple[str | None, ...], Callable[..., Answer]]] = [
    ("GET", "media", (OUTPUTS, None, None), media),
    ("HEAD", "media", (OUTPUTS, None, None), media),
    ("PUT", "upload", (UPLOADS, None), upload),
    ("GET", "uploaded_file", (UPLOADS, None), uploaded_file),
    ("HEAD", "uploaded_file", (UPLOADS, None), uploaded_file),
]
