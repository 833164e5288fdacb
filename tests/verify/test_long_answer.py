"""Long answers (issue 16): verified window by window, without holding every window's
encoder output at once. Real eSpeak speech through the real recognizer; no mocks."""

from __future__ import annotations

import weakref

import numpy as np
from corpus import long_utterance


def test_a_long_answer_holds_at_most_one_window_encoding(verifier):
    u = long_utterance(65.0)          # three 28 s windows
    audio = (np.clip(u.audio, -1, 1) * 32767).astype(np.int16)
    asr = verifier.load()
    real, alive, most = asr.encode, [], [0]

    def encode(*args, **kwargs):
        # the real encoder; only counts the outputs still alive when another one is made
        most[0] = max(most[0], sum(ref() is not None for ref in alive))
        enc, n = real(*args, **kwargs)
        alive.append(weakref.ref(enc))
        return enc, n

    asr.encode = encode
    try:
        r = verifier.verify(u.transcript, audio, u.rate, "en", "es")
    finally:
        del asr.encode
    assert len(alive) >= 3
    assert most[0] <= 1, f"{most[0]} encoder outputs held at once"
    # the later windows are still heard and scored: words timed up to the end, most said
    duration = len(audio) / u.rate
    late = [w for w in r.words if w.start_s is not None and w.start_s > duration - 20]
    assert len(late) >= 20 and sum(w.status == "ok" for w in late) >= 0.8 * len(late)
