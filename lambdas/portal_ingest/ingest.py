"""Pull the portal's CSV export into the raw bucket, only when it changed, never partially.

One code path for the scheduled Lambda and `dap ingest --from-portal`:

1. Ask the portal when the dataset's data last changed; if that is the date recorded on the current raw
   copy, stop: nothing is downloaded or written ("unchanged").
2. Stream the export through the portal-CSV check (:mod:`portal_ingest.csv_check`) into a multipart
   upload to a *temporary* key outside the watched raw prefix. A failed check, an HTTP error or a cut
   body aborts the upload: nothing partial is ever visible, and the pipeline is not started.
3. If the content's SHA-256 equals the current raw copy's, delete the temporary object ("unchanged").
   Otherwise copy it to the raw key with SSE-KMS and the checksum and portal date as object metadata;
   that one copy is the `Object Created` event that starts the state machine. Then delete the temporary
   object.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from portal_ingest.csv_check import DELIMITER, ENCODING, PortalCsvStream
from portal_ingest.portal import PortalSettings, RetryableError, dataset_modified, export_body, with_retries

PART_BYTES = 8 * 2**20  # S3 multipart parts: at least 5 MiB except the last
META_MODIFIED = "portal-modified"  # object metadata (x-amz-meta-*) of the raw copy
META_SHA256 = "sha256"
META_SOURCE = "source-url"


@dataclass(frozen=True)
class Target:
    """Where the export goes: the raw key the pipeline watches, and the temporary key outside it."""

    bucket: str
    key: str  # e.g. raw/business_licences/business-licences.csv
    staging_key: str  # e.g. incoming/business_licences/business-licences.csv
    kms_key_arn: str


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # "uploaded" or "unchanged"
    uri: str
    reason: str
    bytes_read: int = 0
    data_rows: int = 0
    sha256: str = ""
    portal_modified: str | None = None


class _MultipartUpload:
    """A multipart upload that exists only once written to, and is aborted unless completed."""

    def __init__(self, s3: Any, bucket: str, key: str, kms_key_arn: str) -> None:
        self.s3, self.bucket, self.key, self.kms_key_arn = s3, bucket, key, kms_key_arn
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= PART_BYTES:
            self._send(bytes(self.buffer[:PART_BYTES]))
            del self.buffer[:PART_BYTES]

    def _send(self, body: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = self.s3.create_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self.kms_key_arn,
                ContentType="text/csv",
            )["UploadId"]
        number = len(self.parts) + 1
        etag = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )["ETag"]
        self.parts.append({"ETag": etag, "PartNumber": number})

    def complete(self) -> None:
        if self.buffer or not self.parts:
            self._send(bytes(self.buffer))
            self.buffer.clear()
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )
        self.upload_id = None

    def abort(self) -> None:
        if self.upload_id is not None:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            self.upload_id = None


def _current_copy(s3: Any, target: Target) -> dict[str, str]:
    """The raw copy's metadata, or {} when there is none yet."""
    try:
        return s3.head_object(Bucket=target.bucket, Key=target.key).get("Metadata", {})
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return {}
        raise


def ingest_from_portal(
    s3: Any,
    settings: PortalSettings,
    target: Target,
    expected_columns: Sequence[str],
    *,
    delimiter: str = DELIMITER,
    encoding: str = ENCODING,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> IngestResult:
    """Download the export into ``target`` unless it is unchanged (``force`` downloads anyway)."""
    uri = f"s3://{target.bucket}/{target.key}"
    current = {} if force else _current_copy(s3, target)
    modified = dataset_modified(settings, log=log, sleep=sleep)
    if current and modified and current.get(META_MODIFIED) == modified:
        reason = f"the portal says the data last changed {modified}, the date of the copy at {uri}"
        log(f"unchanged: {reason}; nothing downloaded")
        return IngestResult("unchanged", uri, reason, portal_modified=modified)

    def attempt() -> tuple[int, int, str]:
        upload = _MultipartUpload(s3, target.bucket, target.staging_key, target.kms_key_arn)
        stream = PortalCsvStream(
            f"portal export {settings.dataset_id}", expected_columns, delimiter=delimiter, encoding=encoding
        )
        digest = hashlib.sha256()
        read = 0
        try:
            with export_body(settings) as (_status, chunks):
                try:
                    for chunk in chunks:
                        read += len(chunk)
                        digest.update(chunk)
                        upload.write(stream.feed(chunk))
                        if progress:
                            progress(read)
                except RetryableError as error:
                    error.bytes_read = read
                    raise
            rows = stream.finish().data_rows
            upload.write(stream.tail())
            upload.complete()
        except BaseException:
            upload.abort()
            raise
        return read, rows, digest.hexdigest()

    read, rows, sha256 = with_retries(settings, settings.export_url, attempt, log=log, sleep=sleep)
    staging = {"Bucket": target.bucket, "Key": target.staging_key}
    try:
        if current.get(META_SHA256) == sha256:
            reason = f"the export is byte-identical to the copy at {uri} (sha256 {sha256[:12]}…)"
            log(f"unchanged: {reason}; nothing written")
            return IngestResult("unchanged", uri, reason, read, rows, sha256, modified)
        metadata = {META_SHA256: sha256, META_SOURCE: settings.export_url}
        if modified:
            metadata[META_MODIFIED] = modified
        s3.copy_object(
            Bucket=target.bucket,
            Key=target.key,
            CopySource=staging,
            MetadataDirective="REPLACE",
            Metadata=metadata,
            ContentType="text/csv",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=target.kms_key_arn,
        )
    finally:
        s3.delete_object(**staging)
    reason = f"{read:,} bytes, {rows:,} data rows, portal date {modified or 'not given'}"
    log(f"uploaded {uri}: {reason}")
    return IngestResult("uploaded", uri, reason, read, rows, sha256, modified)
