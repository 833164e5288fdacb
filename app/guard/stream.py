"""Streaming verification: judge a response's sentences while its audio still arrives, so
that when `response.done` comes only the last sentence or two are left to check.

Each pass verifies the audio after the settled point against the complete sentences after
the settled text. Sentences that were spoken as written *and* are followed by speech of
the next sentence are settled: their audio ends in the pause before the next one, and
neither is looked at again. A flagged sentence stops settling (the final check then covers
everything from it on). Passes never delay audio: they run beside the stream, on the
verifier's thread, one at a time per response.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable

import numpy as np

from app.audio.codecs import get_format
from app.text.segments import split_sentences
from app.verify.report import Report

if TYPE_CHECKING:
    from .tap import TappedResponse

log = logging.getLogger(__name__)

STEP_S = 1.5          # new audio between passes


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
        # complete sentences only: the last one may still be arriving
        sentences = [s for s in split_sentences(text_all) if s.start >= self.settled.char][:-1]
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
            nxt = segs[i + 1]
            if seg.status != "ok":
                self.stopped = True      # a sentence went wrong here: judge the rest as a whole
                break
            if seg.end_s is None or nxt.start_s is None or nxt.start_s < seg.end_s:
                break
            cut_s, next_char, count = (seg.end_s + nxt.start_s) / 2, nxt.char_start, i + 1
        if cut_s is not None and next_char is not None:
            self.settled = Settled(self.settled.char + next_char,
                                   self.settled.sample + int(cut_s * self.resp.sample_rate),
                                   self.settled.sentences + count)
