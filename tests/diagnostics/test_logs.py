import logging
import stat
import subprocess
import sys

import pytest

from app.diagnostics import logs


@pytest.mark.parametrize("raw,secret", [
    ("connecting with sk-proj-AbC123xyz789LONGKEY", "AbC123xyz789LONGKEY"),
    ("headers {'api-key': '0123456789abcdef0123456789abcdef'}", "0123456789abcdef0123456789abcdef"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9"),
])
def test_redact_removes_keys(raw, secret):
    assert secret not in logs.redact(raw)


def test_redact_removes_audio_payloads_but_keeps_event_type():
    raw = '{"type": "response.output_audio.delta", "delta": "' + "QUJD" * 100 + '"}'
    out = logs.redact(raw)
    assert "QUJDQUJD" not in out and "response.output_audio.delta" in out


def test_formatter_redacts_tracebacks():
    try:
        raise RuntimeError("auth with sk-live-SECRETSECRET123 failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    line = logs.RedactingFormatter("%(message)s").format(record)
    assert "RuntimeError" in line and "SECRETSECRET123" not in line


def test_log_file_is_private_and_never_contains_the_key(tmp_path):
    # a fresh interpreter: no other handler may pre-format the record for us
    code = (
        "import logging\n"
        "from app.diagnostics import logs\n"
        "p = logs.setup_logging()\n"
        "logging.getLogger('openai').warning('request failed for key %s', 'sk-live-SECRETSECRET123')\n"
        "try:\n"
        "    raise RuntimeError('auth with sk-live-SECRETSECRET123 failed')\n"
        "except RuntimeError:\n"
        "    logging.getLogger('x').exception('boom')\n"
        "print(p)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "VERBATIM_LOG_DIR": str(tmp_path)})
    path = tmp_path / "verbatim.log"
    assert out.stdout.strip() == str(path)
    text = path.read_text()
    assert "SECRETSECRET123" not in text
    assert "boom" in text and "RuntimeError" in text and "request failed" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_native_crash_leaves_a_report_the_next_start_finds(tmp_path):
    import subprocess
    import sys

    crash = ("from pathlib import Path; from app.diagnostics.logs import enable_native_crash_log as e; "
             f"e(Path({str(tmp_path)!r})); import faulthandler; faulthandler._sigsegv()")
    proc = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    report = tmp_path / "native-crash.log"
    assert "Fatal Python error" in report.read_text()
    assert report.stat().st_mode & 0o777 == 0o600
    again = ("from pathlib import Path; from app.diagnostics.logs import enable_native_crash_log as e; "
             f"print(repr(e(Path({str(tmp_path)!r}))))")
    proc = subprocess.run([sys.executable, "-c", again], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Segmentation fault" in proc.stdout
    assert (tmp_path / "native-crash.previous.log").exists()
    assert report.read_text() == ""      # the new run starts a clean report


@pytest.mark.parametrize("raw,secret", [
    ("Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.myguardkey123, x", "myguardkey123"),
    ("Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
    ("upstream ws://alice:hunter2secret@10.0.0.5:9/v1 unreachable", "hunter2secret"),
    ("proxy https://token123@example.com/x", "token123"),
    ("the key was sk-abc1234 (too short?)", "abc1234"),
])
def test_redact_removes_subprotocol_keys_basic_credentials_userinfo_and_bare_keys(raw, secret):
    out = logs.redact(raw)
    assert secret not in out and "***" in out


def test_redact_keeps_urls_without_credentials():
    assert logs.redact("wss://api.openai.com/v1/realtime?model=m") == "wss://api.openai.com/v1/realtime?model=m"


def _console_line(capsys, log_call) -> str:
    handler = logs.console_logging()
    try:
        log_call(logging.getLogger("probe"))
    finally:
        logging.getLogger().removeHandler(handler)
    return capsys.readouterr().err


def test_console_logging_redacts_arguments_and_tracebacks(capsys):
    def emit(log):
        log.warning("upstream %s refused %s", "ws://bob:pw-SECRET9@h/v1", "Bearer tok-SECRET9")
        try:
            raise RuntimeError("auth with sk-live-SECRET9 failed")
        except RuntimeError:
            log.exception("boom")

    err = _console_line(capsys, emit)
    assert "WARNING probe: upstream ws://***@h/v1" in err and "RuntimeError" in err and "boom" in err
    assert "SECRET9" not in err


def test_a_redacted_record_stays_redacted_for_other_handlers(capsys):
    # the filter rewrites the record itself: a handler with a plain formatter sees the redacted text
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "key %s", ("sk-live-SECRET9",), None)
    assert logs.RedactingFilter().filter(record)
    assert "SECRET9" not in logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize("module,argv", [
    ("app.engine.command", ["--port", "70000"]),
    ("app.guard.command", ["--upstream", "ws://127.0.0.1:1/v1", "--port", "70000"]),
])
def test_serve_and_guard_log_to_stderr_through_the_redaction(capsys, module, argv):
    import argparse
    import importlib

    cmd = importlib.import_module(module)
    p = argparse.ArgumentParser()
    cmd.add_arguments(p)
    root = logging.getLogger()
    before = set(root.handlers)
    assert cmd.run(p.parse_args(argv)) == 2
    added = [h for h in root.handlers if h not in before]
    try:
        assert added, "the command installs its stderr handler"
        logging.getLogger("app.probe").warning("upstream ws://u:pw-SECRET9@h/v1, key sk-live-SECRET9")
        err = capsys.readouterr().err
        assert "WARNING app.probe" in err and "SECRET9" not in err
    finally:
        for h in added:
            root.removeHandler(h)
