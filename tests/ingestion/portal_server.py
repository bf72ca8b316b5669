"""A stand-in for the City's Opendatasoft portal on 127.0.0.1: a real HTTP server (standard library)
that serves the dataset metadata and the CSV export the way the portal does, plus the failures the
ingestion must survive. Loopback only; it stops with its context manager.

Each request takes the next scripted reply for its path (the last one repeats):

* ``("csv", bytes)``: 200, ``text/csv``, chunked like the portal's streamed exports;
* ``("json", obj)``: 200, ``application/json``;
* ``("status", code)``: that status with a short HTML body;
* ``("html", text)``: 200, ``text/html`` (an error page served as a success);
* ``("truncated", bytes)``: 200 with a Content-Length for all of ``bytes`` but only half sent, then the
  connection is closed.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

API = "/api/explore/v2.1"


@dataclass
class Portal:
    base_url: str = ""
    replies: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # path?query of every request, in order
    _served: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def metadata_path(self, dataset: str) -> str:
        return f"{API}/catalog/datasets/{dataset}"

    def export_path(self, dataset: str) -> str:
        return f"{API}/catalog/datasets/{dataset}/exports/csv"

    def serve(self, dataset: str, *, modified: str | None, export: list[tuple[str, Any]]) -> None:
        metas = {"default": {"modified": modified, "data_processed": modified}} if modified else {}
        self.replies[self.metadata_path(dataset)] = [("json", {"dataset_id": dataset, "metas": metas})]
        self.replies[self.export_path(dataset)] = list(export)
        self._served.clear()

    def exports_requested(self, dataset: str) -> int:
        return sum(1 for r in self.requests if urlsplit(r).path == self.export_path(dataset))

    def next_reply(self, path: str) -> tuple[str, Any]:
        replies = self.replies.get(path) or [("status", 404)]
        index = min(self._served[path], len(replies) - 1)
        self._served[path] += 1
        return replies[index]


def _handler(portal: Portal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            portal.requests.append(self.path)
            kind, value = portal.next_reply(urlsplit(self.path).path)
            if kind == "csv":
                self._chunked(value, "text/csv; charset=utf-8")
            elif kind == "json":
                self._whole(200, json.dumps(value).encode(), "application/json")
            elif kind == "html":
                self._whole(200, value.encode(), "text/html; charset=utf-8")
            elif kind == "status":
                self._whole(value, f"<html><body>Error {value}</body></html>".encode(), "text/html")
            elif kind == "truncated":
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(value)))
                self.end_headers()
                self.wfile.write(value[: len(value) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:  # pragma: no cover - a typo in a test's script
                raise ValueError(kind)

        def _whole(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _chunked(self, body: bytes, content_type: str, size: int = 64 * 1024) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), size):
                part = body[start : start + size]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

    return Handler


@contextmanager
def running_portal() -> Iterator[Portal]:
    portal = Portal()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(portal))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    portal.base_url = f"http://127.0.0.1:{server.server_address[1]}{API}"
    try:
        yield portal
    finally:
        server.shutdown()
        server.server_close()
