"""Reading an uploaded file within the server's size limit (photos to enrol, identify or
verify): the only part of an upload that is HTTP's business, before an operation sees bytes."""

from __future__ import annotations

from fastapi import UploadFile

from facegate.server.errors import UploadTooLarge


def read_upload(file: UploadFile, max_mb: float) -> bytes:
    """The file's bytes, or `UploadTooLarge` (413) without reading more than the limit."""
    limit = int(max_mb * 1024 * 1024)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(
            f"{file.filename or 'upload'} is larger than {max_mb:g} MB; scale the photo down"
        )
    return data
