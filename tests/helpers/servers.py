"""Tiny servers on 127.0.0.1 for connection tests, each on its own thread so both asyncio
tests and Qt tests (whose loop is not asyncio's) can use them."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
from collections.abc import Iterator


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


@contextlib.contextmanager
def http_answer(status: int, body: dict | None = None) -> Iterator[int]:
    """Answers every request (a WebSocket handshake included) with `status` and a JSON body,
    as Azure does for a deployment it does not have (404) or an API version it lacks (400)."""
    data = json.dumps(body or {}).encode()
    reason = {400: "Bad Request", 404: "Not Found", 401: "Unauthorized"}.get(status, "Error")
    seen: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            buf = b""
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                buf += chunk
            seen.append(buf)
            self.request.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                                 f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)

    with _running(Handler) as port:
        yield port


@contextlib.contextmanager
def silent() -> Iterator[int]:
    """Accepts connections and never answers (a firewall that swallows packets, a hung proxy)."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            stop.wait(30)

    try:
        with _running(Handler) as port:
            yield port
    finally:
        stop.set()


@contextlib.contextmanager
def _running(handler) -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
