"""Red or amber: does a flag rest on certain evidence, or only on the recognizer's doubt?

Certain (red; counts for the verdict and may start a repair):
- the audio ended before the sentence (nothing was said after it);
- another language was heard: the language check's evidence clears its bar by a margin, and
  Whisper's own ear gives that language some share there (the decoders alone, with the ear
  deaf to it, or evidence just over the bar, are only a doubt);
- a word clearly different: more than one written word ruled out by the audio, or a
  number heard as another number.

Uncertain (amber, "may differ"): what is left — one word the recognizer heard otherwise
while the audio does not rule it out clearly, or a sentence missing in the middle of speech
that goes on (a later sentence said as written). On voices it was never tuned on, Whisper base mishears a word in about one
clean answer in ten; one misheard word is the recognizer's doubt, not proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.report import CERTAIN, UNCERTAIN, SegmentResult

if TYPE_CHECKING:
    from app.verify.evidence import Word


@dataclass(frozen=True, slots=True)
class CertaintyOptions:
    # a sentence said differently is certain when at least this many of its written words
    # were heard as other words (one misheard word is the recognizer's doubt)
    misspoken_words: int = 2
    # ... each of them this unlikely as written given the audio (forced likelihood)
    misspoken_forced_p: float = 0.05
    # a drift is certain when Whisper's language ID gives the language it was found in at
    # least this share over the region the language check listened to (a drift found by
    # another path, with no such measure, stays certain). On the synthetic dev corpus, 6 of
    # 8 false drifts on clean sentences had under 0.05, and 3 of 38 true drifts did
    drift_ear: float = 0.05
    # ... and when the language check's evidence cleared the drift bar by at least this much
    # (closer, the verdict moves with the CPU: "Okay," over A-law read Spanish by 0.14 on AVX2
    # and English on GENERIC). On the dev corpus 1 of 40 true drifts cleared it by less
    drift_margin: float = 0.25


def _said_after(segments: list[SegmentResult], i: int) -> bool:
    """A whole later sentence was said as written: the audio did not end here."""
    return any(s.status == "ok" for s in segments[i + 1:])


def assign(segments: list[SegmentResult], words: list[Word], options: CertaintyOptions,
           drift_ear: dict[int, float] | None = None, drift_margin: dict[int, float] | None = None) -> None:
    """Set `confidence` on the judged sentences (in place); ok sentences stay `certain`.
    `drift_ear`: per sentence index, Whisper's language-ID share for the drift's language;
    `drift_margin`: how far the language check's evidence cleared the drift bar."""
    drift_ear, drift_margin = drift_ear or {}, drift_margin or {}
    for i, seg in enumerate(segments):
        if seg.status == "ok":
            seg.confidence = CERTAIN
        elif seg.status == "truncated":
            # the audio ended before it: certain; a gap with speech going on after it is the
            # recognizer failing to place words as likely as the audio stopping
            seg.confidence = UNCERTAIN if _said_after(segments, i) else CERTAIN
        elif seg.status == "drifted":
            ear, margin = drift_ear.get(seg.index), drift_margin.get(seg.index)
            heard = ear is None or ear >= options.drift_ear
            clear = margin is None or margin >= options.drift_margin
            seg.confidence = CERTAIN if heard and clear else UNCERTAIN
        else:
            seg.confidence = CERTAIN if _clearly_different(i, words, options) else UNCERTAIN


def _clearly_different(si: int, words: list[Word], options: CertaintyOptions) -> bool:
    said_otherwise = [w for w in words if w.seg == si and str(w.status) == "misspoken"]
    if any(w.heard_number for w in said_otherwise):
        return True     # "fifteen" for "fifty": a number is not a mishearing of another
    ruled_out = [w for w in said_otherwise if w.forced is not None and w.forced < options.misspoken_forced_p]
    return len(ruled_out) >= options.misspoken_words
