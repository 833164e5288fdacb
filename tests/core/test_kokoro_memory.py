"""Kokoro's session runs without onnxruntime's CPU memory arena, as Piper's does: with it, the
activations of the longest sentence so far stayed reserved (~60 MB of the session's peak in
bench/footprint_bench.py's seed cases)."""

import pytest

from app.tts import kokoro_voice

pytestmark = pytest.mark.skipif(not kokoro_voice.available(), reason="Kokoro voice not installed")


def test_kokoro_session_runs_without_the_cpu_memory_arena(monkeypatch):
    monkeypatch.setattr(kokoro_voice, "_kokoro", None)
    voice = kokoro_voice._load()
    assert voice.sess.get_session_options().enable_cpu_mem_arena is False
    out = kokoro_voice.synthesize("Hola, ¿cómo estás?", "es")
    assert out.sample_rate == 24000 and out.duration_s > 0.5


def test_espeak_keeps_its_word_events_after_kokoro_spoke():
    """Kokoro's phonemizer loads its own libespeak-ng (same soname, other data, phoneme-only
    callback); ours must stay a separate instance or it loses its word events."""
    from app.tts import espeak

    kokoro_voice.synthesize("Hola, ¿cómo estás?", "es")
    out = espeak.synthesize("Where is the station?", "en-us", language="en")
    assert out.words and len(out.words) == 4
    assert out.sample_rate == espeak._get_library().rate
