"""Reference files: streamed in under their kind's cap, checked by content, stripped of metadata, sent to GMI."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from .. import media
from ..client import get_client
from ..conf import app_settings
from ..exceptions import FileTooLarge, NotAllowed, ReferenceUploadFailed, UploadRejected, UpstreamFailure
from ..gmi.errors import GMIError
from ..models import Upload
from ..policies import require_approved_account
from ..types import User

ALLOWED_TYPES = ("jpeg", "png", "mp4", "mp3", "wav")
#: Room for the form around a post's files (boundaries, part headers, other fields).
FORM_OVERHEAD = 1024 * 1024
_MB = 1024 * 1024


def upload_request_max_bytes() -> int:
    """The largest body a request carrying a file may have: the largest kind's cap plus the form."""
    return max(app_settings.UPLOAD_MAX_BYTES.values()) + FORM_OVERHEAD


def _too_large(kind: str, cap: int) -> FileTooLarge:
    return FileTooLarge(f"{kind.capitalize()} files may be at most {cap // _MB} MB.")


class StreamedUploadHandler(FileUploadHandler):
    """Writes a posted file to a temporary file as it arrives and stops at its kind's cap.

    The kind is decided from the first bytes, so a 1.5 GB body claiming to be an image
    costs at most the image cap on disk, and a file that is no accepted type at all is
    refused after its first chunk. Refusals raise ``FileTooLarge`` (413) or
    ``UploadRejected`` (400); the partial file is deleted.
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file = TemporaryUploadedFile(self.file_name or "upload", self.content_type, 0, self.charset,
                                          self.content_type_extra)
        self.head = b""
        self.received = 0
        self.kind: str | None = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        caps = app_settings.UPLOAD_MAX_BYTES
        if self.kind is None and len(self.head) < media.HEAD_SIZE:
            self.head += raw_data[: media.HEAD_SIZE - len(self.head)]
            if len(self.head) >= media.HEAD_SIZE:
                file_type = media.sniff(self.head)
                if file_type not in ALLOWED_TYPES:
                    self._abandon()
                    raise UploadRejected(
                        "Only JPEG, PNG, MP4, MP3 and WAV files are accepted (checked by content).")
                self.kind = media.KINDS[file_type]
        cap = caps.get(self.kind, max(caps.values())) if self.kind else max(caps.values())
        if self.received > cap:
            self._abandon()
            raise _too_large(self.kind or "upload", cap)
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> TemporaryUploadedFile:
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def _abandon(self) -> None:
        self.file.close()  # a temporary upload deletes its file on close


def streamed_upload_handlers(request: HttpRequest) -> list[FileUploadHandler]:
    """The upload handlers of a request that posts reference files (see ``StreamedUploadHandler``)."""
    return [StreamedUploadHandler(request)]


def upload_reference(*, user: User, uploaded_file: Any) -> Upload:
    """Verify an uploaded file by its bytes and forward it to GMI; return the stored record.

    The type comes from the content (magic bytes), never from the name or the
    declared content type. Images go without their metadata (EXIF, GPS, XMP, comments:
    ``media.strip_image_metadata``); the record's size and digest are those of what was
    sent. Refused files raise ``UploadRejected`` and nothing is sent;
    accounts waiting for approval get ``AccountPending`` (the upload uses the site's key).
    """
    require_approved_account(user)
    caps = app_settings.UPLOAD_MAX_BYTES
    largest = max(caps.values())
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > largest:
        raise _too_large("upload", largest)
    data = uploaded_file.read(largest + 1)
    if not data:
        raise UploadRejected("The file is empty.")
    file_type = media.sniff(data[:64])
    if file_type not in ALLOWED_TYPES:
        raise UploadRejected("Only JPEG, PNG, MP4, MP3 and WAV files are accepted (checked by content).")
    kind = media.KINDS[file_type]
    cap = caps.get(kind, largest)
    if len(data) > cap:
        raise _too_large(kind, cap)
    try:
        media.verify(io.BytesIO(data), file_type)
    except media.MediaInvalid as exc:
        raise UploadRejected(f"The file is damaged or incomplete: {exc}") from exc
    if kind == "image":
        # Phones write where a photo was taken (EXIF GPS), the camera's serial and more:
        # none of it goes to GMI.
        try:
            data = media.strip_image_metadata(data, file_type, max_pixels=int(app_settings.UPLOAD_MAX_IMAGE_PIXELS))
        except media.MediaInvalid as exc:
            raise UploadRejected(str(exc)) from exc
    client = get_client()
    if not client.can_upload_files:
        raise UploadRejected("This site's GMI API takes no file uploads: paste a public http(s) URL instead.",
                             code="upload_not_supported")
    try:
        public_url = client.upload_file(data, file_type=file_type)
    except GMIError as exc:
        raise UpstreamFailure(f"GMI did not accept the upload: {exc}") from exc
    return Upload.objects.create(
        user=user, public_url=public_url, file_type=file_type, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), original_name=(getattr(uploaded_file, "name", "") or "")[:255],
    )


def reference_value(*, user: User, name: str, posted: Sequence[Any], existing: Any = None,
                    multiple: bool = False) -> Any:
    """The value file parameter ``name`` takes once its ``posted`` files are at GMI.

    A parameter that takes several (``multiple``) gets the URLs added to its ``existing``
    value, any other takes the first URL. A page keeps the value it gets back, so that
    should the job then be refused the files need no second upload. A refused upload
    raises ``ReferenceUploadFailed`` naming the parameter.
    """
    try:
        urls = [upload_reference(user=user, uploaded_file=f).public_url for f in posted]
    except (UploadRejected, UpstreamFailure, NotAllowed) as exc:
        raise ReferenceUploadFailed(field=name, cause=exc) from exc
    if multiple:
        existing = existing or []
        return [*(existing if isinstance(existing, list) else [existing]), *urls]
    return urls[0]
