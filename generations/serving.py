"""Serves a mirrored file to someone allowed to see it: streamed with HTTP Range locally, signed redirect on S3."""
from __future__ import annotations

import re

from django.http import (
    FileResponse,
    Http404,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase

from .services.mirroring import generation_storage

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _iter_range(handle, start: int, length: int):
    handle.seek(start)
    remaining = length
    try:
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def serve_file(request, *, name: str, content_type: str, filename: str, attachment: bool = False) -> HttpResponseBase:
    """A response for ``name`` in the generations storage.

    Local storage: the bytes, honouring a single ``Range`` (206/416) so players can
    seek. Remote storage (S3): a redirect to a short-lived signed URL; the URL is
    minted per request for a caller this view already authorised.
    """
    if not name:
        raise Http404
    storage = generation_storage()
    try:
        path = storage.path(name)
    except NotImplementedError:
        path = None
    if path is None:
        params = {}
        if attachment:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        try:
            url = storage.url(name, parameters=params) if params else storage.url(name)
        except TypeError:  # storages without per-call parameters
            url = storage.url(name)
        response: HttpResponseBase = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = open(path, "rb")  # noqa: SIM115 (FileResponse closes it)
    except FileNotFoundError:
        raise Http404 from None
    size = storage.size(name)
    disposition = "attachment" if attachment else "inline"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and match.group(1) and match.group(2) and int(match.group(2)) < int(match.group(1)):
        match = None  # a syntactically invalid range is ignored (RFC 9110 14.2): the whole file
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start = int(first)
            end = int(last) if last else size - 1
        else:
            start = max(0, size - int(last))
            end = size - 1
        end = min(end, size - 1)
        if start > end or start >= size:
            handle.close()
            response = JsonResponse({"detail": f"The range starts beyond the end of the file ({size} bytes).",
                                     "code": "range_not_satisfiable"}, status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(_iter_range(handle, start, end - start + 1), status=206,
                                         content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
