"""Logging to a rotating file in the user log directory, with secrets scrubbed.

Whatever any library logs passes the redaction filter: API keys (OpenAI `sk-…`, Azure
32-hex keys, `api-key`/`Authorization` headers, Bearer and Basic credentials, browser
`openai-insecure-api-key.<key>` subprotocols), the user:password of URLs and base64 audio
payloads never reach the file, even at DEBUG level. `console_logging` gives the
command-line servers (`serve`, `guard`) the same filter on stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path

from app import APP_NAME

_PATTERNS = [
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{3,}"), "sk-***"),
    (re.compile(r"(?i)(openai-insecure-api-key\.)[^\s\"',;]+"), r"\1***"),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]+"), r"\1\2***"),
    (re.compile(r"(?i)([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@"), r"\1***@"),    # URL userinfo
    (re.compile(r"(?i)(api[-_]?key|authorization)([\"']?\s*[:=]\s*[\"']?)((?:bearer|basic)\s+)?[^\s\"',}]+"),
     r"\1\2\3***"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "***"),                       # Azure keys
    (re.compile(r"(\"(?:delta|audio)\"\s*:\s*\")[A-Za-z0-9+/=]{64,}"), r"\1<audio>"),
    (re.compile(r"[A-Za-z0-9+/]{400,}={0,2}"), "<base64>"),          # any long base64 blob
]


def redact(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Redacts a record before any handler formats it: the message with its arguments and the
    traceback become redacted text (for handlers whose formatter is not ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the finished line, tracebacks included (a filter would run too early)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_dir() -> Path:
    override = os.environ.get("VERBATIM_LOG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, APP_NAME))


_configured: Path | None = None


def setup_logging(level: int = logging.INFO, *, console: bool = False) -> Path:
    """Idempotent; returns the log file path."""
    global _configured
    if _configured is not None:
        return _configured
    directory = log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(directory, 0o700)
    except OSError:
        pass
    path = directory / "verbatim.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.WARNING)
        stream.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    for noisy in ("websockets", "httpx", "httpcore", "openai", "faster_whisper"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass
    _configured = path
    return path


def console_logging(level: int = logging.WARNING) -> logging.Handler:
    """Warnings and errors to stderr, redacted (for `serve` and `guard`, which run in terminals
    and service logs); without it Python's last-resort handler prints them unredacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return handler


_native_crash_file = None


def enable_native_crash_log(directory: Path | None = None) -> str | None:
    """Have faulthandler write native crashes (segfaults, Python's own fatal errors such as
    none_dealloc) to `native-crash.log`: they kill the process before any Python handler
    runs, so without this they leave no trace. Returns the previous run's crash report,
    if it left one, after logging it."""
    global _native_crash_file
    import faulthandler

    directory = directory or log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "native-crash.log"
    previous = None
    try:
        if path.stat().st_size > 0:
            with open(path, encoding="utf-8", errors="replace") as f:
                previous = f.read(64_000)
            os.replace(path, directory / "native-crash.previous.log")
            logging.getLogger(__name__).error("the previous run ended in a native crash:\n%s", previous)
    except FileNotFoundError:
        pass
    except OSError:
        logging.getLogger(__name__).exception("could not read the previous crash report")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if _native_crash_file is not None:
        _native_crash_file.close()
    _native_crash_file = os.fdopen(fd, "w", encoding="utf-8")
    faulthandler.enable(file=_native_crash_file, all_threads=True)
    return previous

