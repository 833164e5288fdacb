"""Piper's session: no CPU memory arena, alignments from a patched model kept on disk."""

import pytest

from app.tts import piper_voice

pytestmark = pytest.mark.skipif(not piper_voice.available(), reason="Piper voice not installed")


@pytest.fixture
def fresh_voice(monkeypatch, tmp_path):
    monkeypatch.setenv("VERBATIM_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.setattr(piper_voice, "_voice", None)
    monkeypatch.setattr(piper_voice, "_aligned", False)
    return tmp_path / "models"


def test_session_runs_without_the_cpu_memory_arena(fresh_voice):
    voice = piper_voice._load()
    assert voice.session.get_session_options().enable_cpu_mem_arena is False
    out = piper_voice.synthesize("Good morning to you.")
    assert out.words is not None and len(out.words) == 4     # alignments still there


def test_aligned_model_is_made_once_then_loaded_from_the_cache(fresh_voice, monkeypatch):
    piper_voice._load()
    cached = list(fresh_voice.glob("piper-aligned-*.onnx"))
    assert len(cached) == 1 and cached[0].stat().st_mode & 0o077 == 0
    assert fresh_voice.stat().st_mode & 0o077 == 0

    import onnx
    monkeypatch.setattr(piper_voice, "_voice", None)
    monkeypatch.setattr(onnx, "load", lambda *a, **k: pytest.fail("patched the model again"))
    voice = piper_voice._load()
    assert piper_voice._aligned and voice.session is not None
    assert piper_voice.synthesize("See you soon.").words is not None


def test_a_damaged_cached_model_is_rebuilt(fresh_voice, monkeypatch):
    model, _ = piper_voice._paths()
    cached = piper_voice._aligned_model_path(model)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not a model")
    piper_voice._load()
    assert piper_voice._aligned
    assert cached.stat().st_size > 1_000_000
    assert piper_voice.synthesize("All good.").words is not None


def test_a_prebuilt_aligned_voice_is_used_as_is(fresh_voice, monkeypatch, tmp_path):
    """What the bundle does: the patched voice ships beside the (absent) original."""
    model, config = piper_voice._paths()
    shipped = tmp_path / "voice" / "en_US-joe-medium.onnx"
    shipped.parent.mkdir()
    piper_voice.prebuilt_aligned_path(str(shipped)).write_bytes(piper_voice.aligned_model_bytes(model))
    assert not shipped.exists()
    monkeypatch.setattr(piper_voice, "_paths", lambda: (str(shipped), config))
    monkeypatch.setattr(piper_voice, "aligned_model_bytes", lambda m: pytest.fail("patched at run time"))
    piper_voice._load()
    assert piper_voice._aligned and not fresh_voice.exists()    # nothing made, nothing cached
    assert piper_voice.synthesize("Good morning to you.").words is not None
