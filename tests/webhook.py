"""A webhook receiver on 127.0.0.1 for the alert tests: `webhook` yields its URL and what it received."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from typing import ClassVar

import pytest


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):  # http.server API
        length = int(self.headers.get("Content-Length", 0))
        self.received.append({"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def webhook():
    """Records every POST (path, headers, body) and answers 204."""
    handler = type("Handler", (_Recorder,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/hooks/kc", received=handler.received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
