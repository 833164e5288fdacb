"""Suite-wide isolation: no test may touch the real user's data, settings or keyring,
open a real window system, or reach the network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before any app or Qt import: user dirs go to a throwaway folder.
_ROOT = Path(tempfile.mkdtemp(prefix="verbatim-tests-"))
for var, sub in [("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                 ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state"), ("HOME", "home")]:
    (_ROOT / sub).mkdir(parents=True, exist_ok=True)
    os.environ[var] = str(_ROOT / sub)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never read or write the real OS keyring from tests.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
# Reproducible voices: Piper's VITS noise made verdict-dependent tests pass or fail by chance.
os.environ["VERBATIM_STEADY_VOICES"] = "1"
os.environ["VERBATIM_AUDIO_OUTPUT"] = os.environ.get("VERBATIM_AUDIO_OUTPUT", "silent")
# The verifier model is assembled once per machine into the real cache, not per run.
os.environ.setdefault("VERBATIM_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "verbatim-model-cache"))
for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(proxy, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("AZURE_OPENAI_API_KEY", None)
