"""A drift must not spill into the sentence after it.

After a sentence said in another language, Whisper's picture of the answer is off: the
transcript-so-far no longer matches the audio, the language check's region around the next
sentence's words reaches back into the foreign speech, and a sentence said as written is
flagged too. Here every flagged sentence right after a drifted one is scored again on the
audio after that drift alone: when its written words are likely as written there, it was
said as written.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.core.report import SegmentResult
from app.verify.speech import SR

if TYPE_CHECKING:
    from app.verify.evidence import Word


@dataclass(frozen=True, slots=True)
class AfterDriftOptions:
    # a written word this likely on the audio after the drift is said there (the bar a misheard
    # word needs to be rescued, rule 3) ...
    word_p: float = 0.3
    # ... and at least this share of the sentence's words are (a first word, or one the
    # transcript writes without its accents, "uniran", often scores low) ...
    said_share: float = 0.66
    # ... and the words average this (a sentence said as written scores 0.6-0.8 here, one
    # really said in another language under 0.1)
    mean_p: float = 0.5
    # the audio looked at starts this long before the drifted sentence's last word ends
    # (its end time is approximate)
    overlap_s: float = 0.05


def recheck(segments: list[SegmentResult], words: list[Word], x: np.ndarray, asr, lock: threading.Lock,
            lang: str, options: AfterDriftOptions) -> None:
    """Clear flags that only a preceding drift explains (in place)."""
    from app.verify.evidence import Status  # evidence -> options -> here: imported when used

    duration = len(x) / SR
    for i in range(1, len(segments)):
        seg, prev = segments[i], segments[i - 1]
        if seg.status not in ("drifted", "misspoken") or prev.status != "drifted" or prev.end_s is None:
            continue
        mine = [w for w in words if w.seg == i]
        if not mine or any(str(w.status) == "missing" for w in mine):
            continue
        later = [s.start_s for s in segments[i + 1:] if s.start_s is not None]
        a = max(0.0, prev.end_s - options.overlap_s)
        b = later[0] if later else duration
        if b - a < 0.2:
            continue
        with lock:
            enc, n = asr.encode(x[int(a * SR): int(b * SR)])
            scored = asr.force(enc, n, lang, [w.written or w.span.text for w in mine], offset=a)
        probs = [f.prob for f in scored]
        said = sum(p >= options.word_p for p in probs)
        if len(probs) != len(mine) or said < options.said_share * len(probs) or float(np.mean(probs)) < options.mean_p:
            continue
        for w, f in zip(mine, scored, strict=True):
            w.status, w.forced, w.start, w.end = Status.OK, f.prob, f.start, f.end
        seg.status, seg.heard, seg.heard_language = "ok", "", None
        seg.start_s, seg.end_s = scored[0].start, scored[-1].end
