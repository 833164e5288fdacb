"""The network half of user-chosen model downloads: URL and file-name checks, the manifest,
and one file at a time within size caps, a total deadline and a minimum rate.

A server that trickles (one byte every few seconds) never trips a socket timeout, so a
watchdog thread ends the transfer by shutting its socket when the download runs past
DOWNLOAD_DEADLINE_S, or receives less than MIN_RATE_BPS x RATE_WINDOW_S bytes in any
RATE_WINDOW_S (headers and TLS handshake included). Every failure raises ModelError."""

from __future__ import annotations

import hashlib
import http.client
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.net import is_loopback

Progress = Callable[[int, int], None]

_CHUNK = 1 << 20
# Caps for user-chosen downloads (pass others to download_model/resolve_model). Whisper
# large-v3 in float16 has a 3.1 GB model.bin; a bigger file is not a speech model for us.
MAX_FILE_BYTES = 4 << 30
MAX_TOTAL_BYTES = 6 << 30
MAX_MANIFEST_BYTES = 1 << 20
MAX_FILES = 64
# Time limits for one model download (manifest and every file). 6 GB at the minimum rate
# would take days, so the deadline is what bounds a slow but steady server.
DOWNLOAD_DEADLINE_S = 3 * 3600.0
MIN_RATE_BPS = 20_000      # bytes per second, averaged over RATE_WINDOW_S
RATE_WINDOW_S = 60.0
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
_WINDOWS_DEVICES = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


class ModelError(RuntimeError):
    """The speech model cannot be found, assembled or downloaded; message is user-facing."""


def check_url(url: str) -> None:
    """Refuse a model URL that cannot be trusted: anything but https (http only to this machine)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ModelError(f"the model URL {url!r} is not a valid URL: {exc}") from exc
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and is_loopback(host):
        return
    if parts.scheme == "http":
        raise ModelError(f"refusing to download a speech model over plain http from {host}: the checksums "
                         "would come over the same unprotected connection; use an https:// URL")
    raise ModelError(f"the model URL must start with https:// (got {url[:80]!r})")


def _check_base_url(base_url: str) -> None:
    check_url(base_url)
    parts = urllib.parse.urlsplit(base_url)
    if parts.query or parts.fragment:
        raise ModelError("a model URL names a folder: it has no ?query or #fragment")


def check_file_name(name: str) -> None:
    """Only plain file names: no folders, drive letters (``D:x``), ``..``, hidden or device names."""
    if (not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name or name.startswith(".")
            or _WINDOWS_DEVICES.fullmatch(name)):
        raise ModelError(f"refusing to download a file named {name!r}: model file names are letters, "
                         "digits, '.', '_' and '-' only")


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL we would accept anyway, and never from https to anything else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old = urllib.parse.urlsplit(req.full_url).scheme
        new = urllib.parse.urlsplit(newurl).scheme
        if old == "https" and new != "https":
            raise ModelError(f"refusing a redirect from https to {new}: {newurl[:120]}")
        try:
            check_url(newurl)
        except ModelError as exc:
            raise ModelError(f"refusing a redirect to {newurl[:120]}: {exc}") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _url(base_url: str, name: str) -> str:
    return base_url.rstrip("/") + "/" + urllib.parse.quote(name)


class Watch:
    """One model download's clock: a total deadline and a minimum rate. A thread checks them
    and, when one is missed, shuts the transfer's socket so that a blocked read returns at once."""

    def __init__(self, deadline_s: float | None = None, min_rate_bps: float | None = None,
                 window_s: float | None = None) -> None:
        self.deadline_s = DOWNLOAD_DEADLINE_S if deadline_s is None else deadline_s
        self.min_rate = MIN_RATE_BPS if min_rate_bps is None else min_rate_bps
        self.window_s = RATE_WINDOW_S if window_s is None else window_s
        self.received = 0
        self.reason: str | None = None
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Watch:
        self._thread = threading.Thread(target=self._run, name="model-download-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        start = mark_t = time.monotonic()
        mark_b = 0
        tick = max(0.01, min(1.0, self.window_s / 4, self.deadline_s / 4))
        while not self._done.wait(tick):
            now = time.monotonic()
            if now - start >= self.deadline_s:
                return self._stop(f"it did not finish within {self.deadline_s:g} s")
            if now - mark_t >= self.window_s:
                got = self.received - mark_b
                if got < self.min_rate * (now - mark_t):
                    return self._stop(f"the server sent {got} bytes in {now - mark_t:.0f} s, below the "
                                      f"minimum of {self.min_rate:g} bytes/s (a stalled or very slow server)")
                mark_t, mark_b = now, self.received

    def _stop(self, reason: str) -> None:
        with self._lock:
            self.reason = reason
            socks, self._socks = self._socks, []
        for sock in socks:
            _shut(sock)

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            stopped = self.reason is not None
            if not stopped:
                self._socks = [s for s in self._socks if s.fileno() >= 0] + [sock]
        if stopped:
            _shut(sock)

    def check(self, what: str) -> None:
        """Raise the watchdog's reason, if it stopped the transfer."""
        if self.reason is not None:
            raise ModelError(f"download of {what} stopped: {self.reason}. Nothing was kept; try again "
                             "later or choose another model URL.")


def _shut(sock: socket.socket) -> None:
    try:   # the plain socket call, also on a TLS socket: wakes a reader blocked in another thread
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _watched(conn_class: type, watch: Watch):
    """A connection factory whose sockets (plain, then TLS) the watch can shut."""
    class Watched(conn_class):
        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, **kw)
            create = self._create_connection

            def created(*args, **kwargs):
                sock = create(*args, **kwargs)
                watch.track(sock)
                return sock
            self._create_connection = created

        def connect(self) -> None:
            super().connect()
            watch.track(self.sock)
    return Watched


def _open(url: str, timeout: float, watch: Watch):
    check_url(url)
    req = urllib.request.Request(url, headers={"User-Agent": "Verbatim model download"})

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_watched(http.client.HTTPConnection, watch), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(_watched(http.client.HTTPSConnection, watch), req, context=self._context)

    # a fresh default context each time: the system's (or SSL_CERT_FILE's) trusted certificates
    opener = urllib.request.build_opener(_NoDowngrade, Http(), Https(context=ssl.create_default_context()))
    try:
        return opener.open(req, timeout=timeout)  # noqa: S310 (user-chosen URL, checked above)
    except urllib.error.HTTPError as exc:
        raise ModelError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        watch.check(url)
        reason = getattr(exc, "reason", exc)
        raise ModelError(f"could not download {url}: {reason}") from exc


def _read(resp, watch: Watch, what: str) -> bytes:
    """What the server has sent so far (not waiting for a full buffer), counted for the minimum rate."""
    try:
        chunk = resp.read1(_CHUNK)
    except (OSError, http.client.HTTPException) as exc:
        watch.check(what)
        raise ModelError(f"download of {what} was interrupted: {exc}") from exc
    watch.check(what)   # a shut socket reads as the end: not a complete file
    watch.received += len(chunk)
    return chunk


def fetch_manifest(base_url: str, timeout: float = 30.0, watch: Watch | None = None) -> dict[str, str]:
    """Read ``SHA256SUMS`` at base_url: {file name: sha256}."""
    _check_base_url(base_url)
    if watch is None:
        with Watch() as own:
            return fetch_manifest(base_url, timeout, own)
    data = b""
    with _open(_url(base_url, "SHA256SUMS"), timeout, watch) as resp:
        while len(data) <= MAX_MANIFEST_BYTES and (chunk := _read(resp, watch, "SHA256SUMS")):
            data += chunk
    if len(data) > MAX_MANIFEST_BYTES:
        raise ModelError(f"the model's SHA256SUMS at {base_url} is larger than {MAX_MANIFEST_BYTES} bytes")
    text = data.decode("utf-8", "replace")
    files: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            raise ModelError(f"the model's SHA256SUMS at {base_url} has a malformed line: {line[:120]!r}")
        name = parts[1].strip()
        name = name[1:] if name.startswith("*") else name   # sha256sum's binary-mode mark
        try:
            check_file_name(name)
        except ModelError as exc:
            raise ModelError(f"the model's SHA256SUMS names an unsafe file: {name[:120]!r}") from exc
        files[name] = parts[0].lower()
        if len(files) > MAX_FILES:
            raise ModelError(f"the model's SHA256SUMS lists more than {MAX_FILES} files")
    if "model.bin" not in files:
        raise ModelError(f"the model at {base_url} lists no model.bin in its SHA256SUMS")
    return files


@dataclass(slots=True)
class Tally:
    """Bytes announced and received over one model download, and its limits."""

    progress: Progress | None
    max_file: int
    max_total: int
    total: int = 0
    known: bool = True
    done: int = 0

    def announce(self, name: str, length: int) -> None:
        if length < 0:
            self.known = False
        else:
            self.total += length
        if length > self.max_file:
            raise ModelError(f"refusing to download {name}: {length} bytes is more than the "
                             f"{self.max_file} allowed for one model file")
        if self.done + max(length, 0) > self.max_total:
            raise ModelError(f"refusing to download {name}: the model would be larger than "
                             f"{self.max_total} bytes")

    def received(self, name: str, size: int, n: int) -> None:
        self.done += n
        if size > self.max_file:   # a server that announced less, or nothing
            raise ModelError(f"download of {name} stopped: more than the {self.max_file} "
                             "bytes allowed for one model file")
        if self.done > self.max_total:
            raise ModelError(f"download stopped at {name}: the model is larger than "
                             f"{self.max_total} bytes")
        if self.progress is not None:
            self.progress(self.done, self.total if self.known else 0)


def fetch_file(url: str, name: str, sha256: str, path: Path, timeout: float, tally: Tally,
               watch: Watch) -> None:
    """One model file into `path`, within the tally's limits and the watch's, matching its checksum."""
    resp = _open(url, timeout, watch)
    try:
        length = int(resp.headers.get("Content-Length") or -1)
        tally.announce(name, length)
        h = hashlib.sha256()
        size = 0
        with open(path, "wb") as out:
            while chunk := _read(resp, watch, name):
                size += len(chunk)
                tally.received(name, size, len(chunk))
                h.update(chunk)
                out.write(chunk)
    finally:
        resp.close()
    if length >= 0 and size != length:
        raise ModelError(f"download of {name} was cut short ({size} of {length} bytes)")
    digest = h.hexdigest()
    if digest != sha256.lower():
        raise ModelError(f"downloaded {name} does not match its checksum (SHA-256 "
                         f"{digest[:12]}… instead of {sha256[:12]}…); not using it")

