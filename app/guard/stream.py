"""Streaming verification: judge a response's sentences while its audio still arrives, so
that when `response.done` comes only the last sentence or two are left to check.

Each pass verifies the audio after the settled point against the sentences after the
settled text. Sentences that were spoken as written *and* are followed by speech of
the next sentence are settled: their audio ends in the pause before the next one, and
they are not looked at again. A flagged sentence is not settled; a later pass (or the
final check, which covers everything unsettled) judges it again. Passes never delay audio: they run beside the stream, on the
verifier's thread, one at a time per response.

When Guard holds a response's audio (repair, unless append-only), settling releases it:
sentences spoken as written go to the app as they were, a drifted or misspoken sentence
is replaced by its text spoken anew (`on_steps`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from app.audio.codecs import get_format
from app.core.report import Report
from app.text.segments import split_sentences

if TYPE_CHECKING:
    from .tap import TappedResponse

log = logging.getLogger(__name__)

STEP_S = 1.0          # new audio between passes
MIN_PAUSE_S = 0.08    # between two sentences, where the audio is cut
MAX_SPEEDUP = 8.0     # passes only while audio streams at most this much faster than real time
LEAD_S = 0.08         # a replaced sentence's audio ends this long before the next one's first word
# Held audio: a pass runs once the first unsettled sentence has probably been spoken and the
# next begun (a pass before that settles nothing and delays the one that can; the app waits)
FAST_PACE = 18.0      # chars/s: a brisk voice, until the response shows its own pace
NEXT_S = 0.5          # of the next sentence a pass needs to hear it begin


@dataclass
class Settled:
    char: int = 0          # transcript[:char] is spoken as written in audio[:sample]
    sample: int = 0        # at the wire rate
    sentences: int = 0


@dataclass
class StreamingCheck:
    resp: TappedResponse
    verify: Callable[[str, np.ndarray, int, str | None], Awaitable[Report | None]]
    language: str | None = None
    settled: Settled = field(default_factory=Settled)
    hold: bool = False            # the link holds this response's audio until it settles
    on_steps: Callable[[list[Step]], Awaitable[None]] | None = None
    task: asyncio.Task | None = None
    stopped: bool = False
    passes: int = 0
    _checked_at: int = 0
    _suspects: set[int] = field(default_factory=set)   # sentences (by char) one pass found wrong

    @property
    def bytes_per_sample(self) -> int:
        return get_format(self.resp.audio_format).bytes_per_sample

    def poke(self) -> None:
        """After new audio: start a pass when enough arrived and none is running."""
        if self.stopped or self.resp.overflow or (self.task is not None and not self.task.done()):
            return
        samples = len(self.resp.audio) // self.bytes_per_sample
        if samples - self._checked_at < STEP_S * self.resp.sample_rate and not self._first_pass_due(samples):
            return
        if self.hold and not self._next_can_settle(samples):
            return
        # audio arriving in a burst ends before a pass could help, and the pass would delay the final
        # check (audio that is held waits for passes, whatever the pace)
        streamed_s = time.monotonic() - (self.resp.first_audio or time.monotonic())
        if not self.hold and streamed_s * MAX_SPEEDUP < samples / self.resp.sample_rate:
            return
        self._checked_at = samples
        self.task = asyncio.get_running_loop().create_task(self._pass())

    def _first_pass_due(self, samples: int) -> bool:
        """Held audio waits for the first pass: run it as soon as it can settle something."""
        return self.hold and self.passes == 0 and self._next_can_settle(samples)

    def _next_can_settle(self, samples: int) -> bool:
        sentences = [s for s in split_sentences(self.resp.transcript) if s.start >= self.settled.char]
        if len(sentences) < 2:
            return False
        rate = self.resp.sample_rate
        pace = FAST_PACE if self.settled.sample < rate else max(
            FAST_PACE / 2, self.settled.char / (self.settled.sample / rate))
        need = len(sentences[0].text) / pace + NEXT_S
        return (samples - self.settled.sample) / rate >= need

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
        suspects = self._suspects if self.hold else None
        steps, next_char = plan_steps(report, text, self.settled.sample, self.resp.sample_rate, suspects,
                                      self.settled.char)
        if not steps:
            return
        if self.on_steps is not None:
            await self.on_steps(steps)
        self.settled = Settled(self.settled.char + next_char, steps[-1].sample_end,
                               self.settled.sentences + len(steps))


@dataclass
class Step:
    """A settled piece of a response's audio: its original audio up to `sample_end` is
    released as it is (`keep`), or replaced by `text` spoken anew (`revoice`)."""
    kind: str
    text: str
    sample_end: int


def plan_steps(report: Report, text: str, base_sample: int, rate: int, suspects: set[int] | None = None,
               base_char: int = 0, confirm: bool = True) -> tuple[list[Step], int]:
    """Sentences of `report` that can be settled, and the char (in `text`) where the rest begins.

    A sentence settles when the next one is under way (a word of it recognized): spoken as
    written, its audio ends in the pause before the next. With `suspects` (held audio), a
    flagged one is replaced by its text spoken anew (its audio ends just before the next
    one's first word), but only when an earlier pass found it wrong too: one misheard pass
    must not replace good audio (`confirm=False`: the audio is complete, one verdict is
    enough). New suspects are added to the set."""
    segs = report.segments
    steps: list[Step] = []
    next_char = 0
    for i, seg in enumerate(segs[:-1]):
        nxt = segs[i + 1]
        heard = [w.start_s for w in report.words if nxt.char_start <= w.char_start < nxt.char_end
                 and w.status == "ok" and w.start_s is not None]
        if not heard:
            break
        if seg.status == "ok" or seg.doubtful:     # only certain flags are ever replaced
            if seg.end_s is None or min(heard) - seg.end_s < MIN_PAUSE_S:
                break
            steps.append(Step("keep", "", base_sample + int((seg.end_s + min(heard)) / 2 * rate)))
        elif suspects is not None:
            if confirm and base_char + seg.char_start not in suspects:
                suspects.add(base_char + seg.char_start)
                break        # a second pass decides
            cut = max(0.0, min(heard) - LEAD_S)
            if steps and base_sample + int(cut * rate) <= steps[-1].sample_end:
                break
            steps.append(Step("revoice", text[seg.char_start:seg.char_end], base_sample + int(cut * rate)))
        else:
            break    # flagged (or misheard because the audio stops mid-word): a later pass decides
        next_char = nxt.char_start
    return steps, next_char
