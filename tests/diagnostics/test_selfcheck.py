import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_self_check_passes_from_source_and_reports_every_part():
    r = subprocess.run([sys.executable, "-m", "app", "--self-check", "--json"], cwd=ROOT, capture_output=True,
                       text=True, timeout=240)
    report = json.loads(r.stdout)
    names = {c["name"]: c for c in report["checks"]}
    assert set(names) == {"Qt", "Audio output", "Keyring", "Offline TTS", "Local engine", "Verifier", "History"}
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert not failed, failed
    assert r.returncode == 0 and report["ok"] is True
    # no sound card and no keyring here: reported as warnings with the fallback named
    assert "silent playback" in names["Audio output"]["detail"] or names["Audio output"]["status"] == "ok"
    assert "session only" in names["Keyring"]["detail"]
    assert "truncated sample flagged" in names["Verifier"]["detail"]
    assert "piper:joe" in names["Offline TTS"]["detail"]


def test_piper_falling_back_to_espeak_fails_the_tts_check(monkeypatch):
    from app import selfcheck
    from app.tts import piper_voice

    assert selfcheck.check_tts()[0] == "ok"
    monkeypatch.setattr(piper_voice, "available", lambda: False)   # as in a bundle that lost piper-tts
    status, detail = selfcheck.check_tts()
    assert status == "fail"
    assert "Piper" in detail and "espeak" in detail


@pytest.mark.slow
def test_a_verifier_that_always_says_match_fails_the_verifier_check(monkeypatch):
    """The real recognizer runs; only its verdict is overwritten, as a broken aligner would."""
    import dataclasses

    from app import selfcheck
    from app.verify import verifier

    status, detail = selfcheck.check_verifier()
    assert status == "ok", detail
    assert "truncated sample flagged" in detail
    real = verifier.verify

    def always_match(*args, **kwargs):
        rep = real(*args, **kwargs)
        return dataclasses.replace(rep, verdict="match",
                                   segments=[dataclasses.replace(s, status="ok") for s in rep.segments])

    monkeypatch.setattr(verifier, "verify", always_match)
    status, detail = selfcheck.check_verifier()
    assert status == "fail"
    assert "truncated sample was not flagged" in detail
