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
