"""The bundle leaves PyAV out; its runtime hook's stand-in must keep the verifier working."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "packaging" / "hooks" / "rthook_av_shim.py"

# Run as in the bundle: `av` cannot be found, then the runtime hook runs, then the app.
PRELUDE = f"""
import importlib.abc, importlib.util, runpy, sys
class HideAV(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "av" or name.startswith("av."):
            raise ModuleNotFoundError("No module named 'av'", name="av")
        return None
sys.meta_path.insert(0, HideAV())
runpy.run_path({str(HOOK)!r})
"""


def run(code: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", PRELUDE + code, *args], capture_output=True, text=True,
                          env=env, cwd=str(ROOT), timeout=300)


def test_faster_whisper_imports_and_file_decoding_says_why():
    r = run("""
import faster_whisper, av
assert type(av).__name__ == "_AbsentAV", type(av)
try:
    faster_whisper.decode_audio("nothing.wav")
except ImportError as exc:
    print("refused:", exc)
""")
    assert r.returncode == 0, r.stderr
    assert "refused:" in r.stdout and "not part of this build" in r.stdout


def test_check_verifies_speech_without_pyav(tmp_path):
    from app.audio.wavfile import write_wav
    from app.tts.voices import synthesize

    text = "The train station is on the left, next to the bank."
    s = synthesize(text, "en", "piper:joe")
    wav = tmp_path / "speech.wav"
    write_wav(wav, s.samples, s.sample_rate)
    r = run("""
import sys, av
assert type(av).__name__ == "_AbsentAV"
from app.cli import main
sys.argv = ["verbatim", "check", sys.argv[1], "--transcript", sys.argv[2], "--json"]
raise SystemExit(main())
""", str(wav), text)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["verdict"] == "match" and "whisper" in json.dumps(out["engine"]).lower()
    assert all(w["start_s"] is not None for w in out["words"])   # really heard, word by word


def test_real_pyav_is_left_alone_when_present():
    r = subprocess.run([sys.executable, "-c", f"import runpy, sys; runpy.run_path({str(HOOK)!r}); "
                        "import av; print(type(av).__name__, hasattr(av, 'open'))"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["module", "True"]
