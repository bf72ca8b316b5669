"""The City of Vancouver open-data portal (Opendatasoft Explore API v2.1): metadata and CSV export.

Standard library only (urllib), so the Lambda needs no layer. Requests that fail on a timeout, a
dropped connection, a truncated body or an HTTP 5xx are retried a bounded number of times with
exponential backoff; anything else (4xx, a body that is not the expected CSV) fails at once with the
HTTP status, the URL and the bytes read.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = "vancouver-dap-portal-ingest/1 (+https://opendata.vancouver.ca)"
CHUNK_BYTES = 1 << 20


class PortalError(RuntimeError):
    """A portal request failed for good; the message names the status, the URL and the bytes read."""

    def __init__(self, message: str, *, url: str, status: int | None = None, bytes_read: int = 0) -> None:
        super().__init__(message)
        self.url, self.status, self.bytes_read = url, status, bytes_read


class RetryableError(Exception):
    """A failure worth another attempt: timeout, dropped connection, truncated body, HTTP 5xx."""

    def __init__(self, message: str, *, status: int | None = None, bytes_read: int = 0) -> None:
        super().__init__(message)
        self.status, self.bytes_read = status, bytes_read


@dataclass(frozen=True)
class PortalSettings:
    """Where the dataset is and how to export it (the stage config's ``ingestion`` section)."""

    base_url: str  # e.g. https://opendata.vancouver.ca/api/explore/v2.1
    dataset_id: str  # e.g. business-licences
    where: str | None = None  # an ODSQL filter, e.g. "folderyear >= '24'"
    timeout_seconds: float = 60.0  # per socket operation, not for the whole download
    attempts: int = 4
    backoff_seconds: float = 2.0  # 2, 4, 8 s between attempts
    export_parameters: dict[str, str] = field(
        default_factory=lambda: {"delimiter": ";", "lang": "en", "timezone": "America/Vancouver"}
    )

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/catalog/datasets/{urllib.parse.quote(self.dataset_id)}"

    @property
    def export_url(self) -> str:
        parameters = dict(self.export_parameters)
        if self.where:
            parameters["where"] = self.where
        return f"{self.metadata_url}/exports/csv?{urllib.parse.urlencode(parameters)}"


def _open(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code >= 500:
            raise RetryableError(f"HTTP {error.code}", status=error.code) from None
        raise PortalError(
            f"HTTP {error.code} {error.reason} from {url}", url=url, status=error.code
        ) from None
    except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
        raise RetryableError(f"{type(error).__name__}: {error}") from None


def with_retries(
    settings: PortalSettings,
    url: str,
    attempt: Callable[[], Any],
    *,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Run ``attempt`` until it succeeds, retrying :class:`RetryableError` with exponential backoff."""
    for number in range(1, settings.attempts + 1):
        try:
            return attempt()
        except RetryableError as error:
            if number == settings.attempts:
                raise PortalError(
                    f"{error} from {url} (gave up after {settings.attempts} attempts, "
                    f"{error.bytes_read:,} bytes read in the last)",
                    url=url,
                    status=error.status,
                    bytes_read=error.bytes_read,
                ) from None
            pause = settings.backoff_seconds * 2 ** (number - 1)
            log(f"portal: attempt {number} of {settings.attempts} failed ({error}); retrying in {pause:g} s")
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def dataset_modified(settings: PortalSettings, **retry: Any) -> str | None:
    """When the dataset's data last changed, as the portal says (``metas.default.data_processed``,
    else ``modified``), or None when it does not say."""
    url = settings.metadata_url

    def attempt() -> dict[str, Any]:
        with _open(url, settings.timeout_seconds) as response:
            try:
                return json.loads(response.read())
            except (http.client.IncompleteRead, ConnectionError, TimeoutError) as error:
                raise RetryableError(f"{type(error).__name__} reading the metadata") from None
            except json.JSONDecodeError:
                raise PortalError(f"metadata at {url} is not JSON", url=url, status=response.status) from None

    metadata = with_retries(settings, url, attempt, **retry)
    default = (metadata.get("metas") or {}).get("default") or {}
    return default.get("data_processed") or default.get("modified")


@contextmanager
def export_body(settings: PortalSettings) -> Iterator[tuple[int, Iterator[bytes]]]:
    """One attempt at the export: (HTTP status, the body in chunks). Reading errors surface as
    :class:`RetryableError` from the iterator, with the bytes read so far."""
    url = settings.export_url
    response = _open(url, settings.timeout_seconds)

    def chunks() -> Iterator[bytes]:
        read = 0
        try:
            while chunk := response.read(CHUNK_BYTES):
                read += len(chunk)
                yield chunk
        except (http.client.IncompleteRead, ConnectionError, TimeoutError) as error:
            raise RetryableError(f"body cut short ({type(error).__name__})", bytes_read=read) from None
        # http.client's read(n) returns short at an early close instead of raising IncompleteRead
        # (it does raise for chunked bodies): compare with the announced length ourselves.
        announced = response.getheader("Content-Length")
        if announced is not None and read < int(announced):
            raise RetryableError(f"body cut short ({read:,} of {int(announced):,} bytes)", bytes_read=read)

    try:
        yield response.status, chunks()
    finally:
        response.close()
