"""Files the user points us at: written privately and atomically, read only when regular and
small enough (no Qt)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

_CHUNK = 1 << 20


class SymlinkTarget(OSError):
    """The path to write is a symbolic link: writing through it would overwrite its victim."""


class NotRegularFile(OSError):
    """The path to read is a device, FIFO, socket or folder: reading it may never end."""


class TooLarge(OSError):
    """The file is bigger than the cap the caller set."""


def write_private(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` as a 0600 file: a temp file beside it (O_EXCL|O_NOFOLLOW), fsync,
    then rename over `path`. A failure leaves neither a partial file nor the temp file behind."""
    path = Path(path)
    if path.is_symlink():
        raise SymlinkTarget(f"{path} is a symbolic link; refusing to write through it")
    fd, tmp = _open_temp(path)
    try:
        if hasattr(os, "fchmod"):   # explicit, whatever the umask says (Windows has no modes)
            os.fchmod(fd, 0o600)
        _write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if path.is_symlink():   # appeared meanwhile; rename would replace the link, but say so
            raise SymlinkTarget(f"{path} is a symbolic link; refusing to write through it")
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _open_temp(path: Path) -> tuple[int, Path]:
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = _write_chunk(fd, view[:_CHUNK])
        view = view[n:]


def _write_chunk(fd: int, chunk) -> int:
    return os.write(fd, chunk)


def read_capped(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Devices (/dev/zero), FIFOs and
    folders are refused before reading; the read itself stops at limit + 1, so a file that
    grows meanwhile is still refused rather than read without end."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)   # non-blocking: opening a FIFO with no writer must not hang
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise NotRegularFile(f"{path} is {kind}")
        if st.st_size > limit:
            raise TooLarge(f"{path} is {st.st_size} bytes; the limit is {limit}")
        parts, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        if total > limit:
            raise TooLarge(f"{path} is over {limit} bytes")
        return b"".join(parts)
    finally:
        os.close(fd)
