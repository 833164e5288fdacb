"""Streaming verification: judge a response's sentences while its audio still arrives, so
that when `response.done` comes only the last sentence or two are left to check.

Each pass verifies the audio after the settled point against the complete sentences after
the settled text. Sentences that were spoken as written *and* are followed by speech of
the next sentence are settled: their audio ends in the pause before the next one, and
they are not looked at again. A flagged sentence is not settled; a later pass (or the
final check, which covers everything unsettled) judges it again. Passes never delay audio: they run beside the stream, on the
verifier's thread, one at a time per response.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable

import numpy as np

from app.audio.codecs import get_format
from app.text.segments import split_sentences
from app.verify.report import Report

if TYPE_CHECKING:
    from .tap import TappedResponse

log = logging.getLogger(__name__)

STEP_S = 1.0          # new audio between passes
MIN_PAUSE_S = 0.08    # between two sentences, where the audio is cut
MAX_SPEEDUP = 8.0     # passes only while audio streams at most this much faster than real time


@dataclass
class Settled:
    char: int = 0          # transcript[:char] is spoken as written in audio[:sample]
    sample: int = 0        # at the wire rate
    sentences: int = 0


@dataclass
class StreamingCheck:
    resp: "TappedResponse"
    verify: Callable[[str, np.ndarray, int, str | None], Awaitable[Report | None]]
    language: str | None = None
    settled: Settled = field(default_factory=Settled)
    task: asyncio.Task | None = None
    stopped: bool = False
    passes: int = 0
    _checked_at: int = 0

    @property
    def bytes_per_sample(self) -> int:
        return get_format(self.resp.audio_format).bytes_per_sample

    def poke(self) -> None:
        """After new audio: start a pass when enough arrived and none is running."""
        if self.stopped or self.resp.overflow or (self.task is not None and not self.task.done()):
            return
        samples = len(self.resp.audio) // self.bytes_per_sample
        if samples - self._checked_at < STEP_S * self.resp.sample_rate:
            return
        # audio arriving in a burst ends before a pass could help, and the pass would delay the final check
        streamed_s = time.monotonic() - (self.resp.first_audio or time.monotonic())
        if streamed_s * MAX_SPEEDUP < samples / self.resp.sample_rate:
            return
        self._checked_at = samples
        self.task = asyncio.get_running_loop().create_task(self._pass())

    async def finish(self) -> None:
        """Wait for a running pass (its settling makes the final check shorter)."""
        if self.task is not None:
            try:
                await self.task
            except Exception:
                pass

    def cancel(self) -> None:
        self.stopped = True
        if self.task is not None:
            self.task.cancel()

    async def _pass(self) -> None:
        text_all = self.resp.transcript
        # the last sentence may still be arriving: it only serves to show where the one before ends
        sentences = [s for s in split_sentences(text_all) if s.start >= self.settled.char]
        if len(sentences) < 2:
            return
        end = sentences[-1].end
        text = text_all[self.settled.char:end]
        bps = self.bytes_per_sample
        pcm = self.resp.pcm_from(self.settled.sample * bps)
        try:
            report = await self.verify(text, pcm, self.resp.sample_rate, self.language)
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # busy or failed: the final check covers everything
            log.debug("guard: streaming pass skipped: %s", exc)
            return
        self.passes += 1
        if report is None:
            return
        self.language = self.language or report.language
        segs = report.segments
        cut_s, next_char, count = None, None, 0
        for i, seg in enumerate(segs[:-1]):
            if seg.status != "ok":
                break    # flagged (or misheard because the audio stops mid-word): a later pass decides
            nxt = segs[i + 1]
            # the next sentence must really be under way (a word of it recognized), after a pause
            heard = [w.start_s for w in report.words if nxt.char_start <= w.char_start < nxt.char_end
                     and w.status == "ok" and w.start_s is not None]
            if seg.end_s is None or not heard or min(heard) - seg.end_s < MIN_PAUSE_S:
                break
            cut_s, next_char, count = (seg.end_s + min(heard)) / 2, nxt.char_start, i + 1
        if cut_s is not None and next_char is not None:
            self.settled = Settled(self.settled.char + next_char,
                                   self.settled.sample + int(cut_s * self.resp.sample_rate),
                                   self.settled.sentences + count)
