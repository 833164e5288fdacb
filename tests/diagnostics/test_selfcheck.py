import json
import subprocess
import sys
from pathlib import Path

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
