"""Reference files: checked by content and size, then sent through GMI's upload API."""
from __future__ import annotations

import hashlib
import io
from typing import Any

from .. import media
from ..client import get_client
from ..conf import app_settings
from ..exceptions import UploadRejected, UpstreamFailure
from ..gmi.errors import GMIError
from ..models import Upload
from ..policies import require_approved_account

ALLOWED_TYPES = ("jpeg", "png", "mp4", "mp3", "wav")


def upload_reference(*, user: Any, uploaded_file: Any) -> Upload:
    """Verify an uploaded file by its bytes and forward it to GMI; return the stored record.

    The type comes from the content (magic bytes), never from the name or the
    declared content type. Refused files raise ``UploadRejected`` and nothing is sent;
    accounts waiting for approval get ``AccountPending`` (the upload uses the site's key).
    """
    require_approved_account(user)
    caps = app_settings.UPLOAD_MAX_BYTES
    largest = max(caps.values())
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > largest:
        raise UploadRejected(f"The file is too large (the largest allowed is {largest // (1024 * 1024)} MB).")
    data = uploaded_file.read(largest + 1)
    if not data:
        raise UploadRejected("The file is empty.")
    file_type = media.sniff(data[:64])
    if file_type not in ALLOWED_TYPES:
        raise UploadRejected("Only JPEG, PNG, MP4, MP3 and WAV files are accepted (checked by content).")
    kind = media.KINDS[file_type]
    cap = caps.get(kind, largest)
    if len(data) > cap:
        raise UploadRejected(f"{kind.capitalize()} files may be at most {cap // (1024 * 1024)} MB.")
    try:
        media.verify(io.BytesIO(data), file_type)
    except media.MediaInvalid as exc:
        raise UploadRejected(f"The file is damaged or incomplete: {exc}") from exc
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
