"""A history that cannot be written is reported once per answer, not at every checkpoint."""

import numpy as np

from app.core.utterance import Utterance
from app.history import HistoryStore
from app.pipeline import translate as translate_module
from app.pipeline.translate import Listener, Pipeline, PipelineOptions
from app.realtime.events import AudioDelta, ResponseDone, TranscriptDelta


class ScriptedClient:
    """Streams a fixed answer: several transcript and audio deltas, then done."""

    async def translate(self, text, *, source, target, metadata=None):
        for i, word in enumerate(["Where ", "is ", "the ", "station?"]):
            yield TranscriptDelta("r1", word)
            yield AudioDelta("r1", np.full(2400, i + 1, np.int16))
        yield ResponseDone("r1", "Where is the station?")


class Errors(Listener):
    def __init__(self):
        self.errors = []

    def on_error(self, u, message):
        self.errors.append((u.id if u else None, message))


class CountingStore(HistoryStore):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls = []

    def begin(self, u):
        self.calls.append("begin")
        super().begin(u)

    def checkpoint(self, u):
        self.calls.append("checkpoint")
        super().checkpoint(u)

    def save(self, u):
        self.calls.append("save")
        super().save(u)


async def test_a_read_only_history_is_reported_once_per_answer(tmp_path, monkeypatch):
    HistoryStore(tmp_path).save(Utterance("Hola", "es", "en"))    # a history to open read-only
    monkeypatch.setattr(translate_module, "CHECKPOINT_EVERY_S", 0.0)   # checkpoint at every event
    store = CountingStore(tmp_path, read_only=True)
    listener = Errors()
    p = Pipeline(ScriptedClient(), store=store, listener=listener, options=PipelineOptions(autoplay=False))
    first = await p.translate("¿Dónde está la estación?", "es", "en")
    second = await p.translate("¿Dónde está el tren?", "es", "en")
    assert first.state == second.state == "complete" and len(first.audio) == 4 * 2400
    assert store.calls.count("checkpoint") >= 2 * 8 and store.calls.count("save") == 2
    assert [uid for uid, _ in listener.errors] == [first.id, second.id]
    assert all(m.startswith("Could not save to history:") and "read-only" in m for _, m in listener.errors)
    p.save(first)                      # a later save of an answer already reported stays quiet
    assert len(listener.errors) == 2


async def test_pipeline_options_describe_the_session_on_each_answer(tmp_path):
    options = PipelineOptions(provider="azure", model="my-deployment", voice="verse", audio_format="g711_ulaw",
                              autoplay=False)
    store = HistoryStore(tmp_path)
    p = Pipeline(ScriptedClient(), store=store, options=options)
    u = await p.translate("¿Dónde está la estación?", "es", "en")
    saved = store.get(u.id)
    assert (saved.provider, saved.model, saved.voice, saved.audio_format) == (
        "azure", "my-deployment", "verse", "g711_ulaw")
    assert p.repair_context().voice == "verse"
