"""Servers and clients written byte by byte, for probing Guard's handshake (127.0.0.1 only)."""

from __future__ import annotations

import asyncio


async def raw_http_server(answer):
    """A server that reads one request head and writes `answer(head)`; returns (port, heads seen, server)."""
    heads: list[bytes] = []

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        heads.append(head)
        writer.write(answer(head))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server.sockets[0].getsockname()[1], heads, server


def http(status: str, body: bytes, *extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}",
             "Connection: close", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def raw_upgrade(guard, auth: bytes) -> tuple[int, bytes]:
    """A WebSocket handshake written byte by byte (a client may send any bytes as its key)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", guard.port)
    writer.write(b"GET /v1/realtime?model=m HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n" % (guard.port, auth))
    await writer.drain()
    data = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    return int(data.split(b" ", 2)[1]), data

