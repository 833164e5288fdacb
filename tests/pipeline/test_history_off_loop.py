"""History writes (FLAC encoding, fsync) run on a disk thread, in order, never on the loop."""

import threading
import time

import numpy as np

from app.history import HistoryStore
from app.pipeline import translate as translate_module
from app.pipeline.translate import Listener, Pipeline, PipelineOptions, wait_for_saves

from .test_history_errors import ScriptedClient  # four transcript + audio deltas, then done


class SlowStore(HistoryStore):
    """Records the thread and order of each write; slow like a disk that fsyncs."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls = []

    def _note(self, op, u):
        self.calls.append((op, threading.get_ident(), len(u.audio), u.state))
        time.sleep(0.02)

    def begin(self, u):
        self._note("begin", u)
        super().begin(u)

    def checkpoint(self, u):
        self._note("checkpoint", u)
        super().checkpoint(u)

    def save(self, u):
        self._note("save", u)
        super().save(u)


class Saved(Listener):
    def __init__(self):
        self.saved = []

    def on_saved(self, u):
        self.saved.append(threading.get_ident())


async def test_history_writes_run_in_order_off_the_loop_and_land_before_translate_returns(tmp_path, monkeypatch):
    monkeypatch.setattr(translate_module, "CHECKPOINT_EVERY_S", 0.0)
    store = SlowStore(tmp_path)
    listener = Saved()
    p = Pipeline(ScriptedClient(), store=store, listener=listener, options=PipelineOptions(autoplay=False))
    loop_thread = threading.get_ident()
    t0 = time.monotonic()
    u = await p.translate("¿Dónde está la estación?", "es", "en")
    assert time.monotonic() - t0 >= 0.02 * len(store.calls)   # it did wait for the writes
    ops = [c[0] for c in store.calls]
    assert ops[0] == "begin" and ops[-1] == "save" and ops.count("save") == 1 and ops.count("checkpoint") >= 8
    assert all(thread != loop_thread for _, thread, _, _ in store.calls)
    # each write saw the answer as it was when queued: audio grows, the last one is complete
    lengths = [n for _, _, n, _ in store.calls]
    assert lengths == sorted(lengths) and lengths[-1] == 4 * 2400 and store.calls[-1][3] == "complete"
    assert listener.saved == [loop_thread]                     # reported on the loop's thread
    back = store.get(u.id)
    assert back.state == "complete" and np.array_equal(back.audio, u.audio)


async def test_a_save_queued_when_a_request_is_stopped_still_lands(tmp_path):
    store = SlowStore(tmp_path)
    p = Pipeline(ScriptedClient(), store=store, options=PipelineOptions(autoplay=False))
    u = await p.translate("¿Dónde está la estación?", "es", "en")
    u.meta["note"] = "kept"
    p.save(u)
    u.meta["note"] = "changed after the save was queued"
    assert wait_for_saves(10.0)
    assert store.get(u.id).meta["note"] == "kept"
