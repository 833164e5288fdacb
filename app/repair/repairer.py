"""Make the audio say exactly the transcript, and prove it by verifying again.

Strategies, tried in order within a bounded number of attempts:
  revoice  a new out-of-band Realtime response told to read the transcript word for word
  tts      text-to-speech of the exact transcript (OpenAI/Azure TTS, or offline voices)
  patch    keep the original audio, re-speak only the flagged sentences and splice them in
An attempt is accepted only when the verifier says its audio matches. The original audio
and report are kept for comparison; every attempt is recorded on the Utterance.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.utterance import RepairAttempt, Utterance
from app.realtime.events import AudioDelta
from app.repair.patch import flagged_fraction, patch_audio
from app.repair.speech import LocalSpeech, Speech

log = logging.getLogger(__name__)

STRATEGIES = ("revoice", "tts", "patch")
LABEL = {"revoice": "re-voicing through the Realtime session",
         "tts": "speaking the exact transcript",
         "patch": "re-speaking only the flagged sentences"}
PATCH_MAX_FRACTION = 0.5   # beyond this, patching would change the voice for most of it


@dataclass
class RepairOptions:
    policy: str = "automatic"                 # off | ask | automatic
    attempts: int = 2
    order: tuple[str, ...] = field(default=STRATEGIES)


@dataclass(frozen=True)
class RepairContext:
    """What a repair may use of the pipeline that produced the answer, and nothing more."""

    client: Any                                              # speaks verbatim if it can (`speak_verbatim`)
    check_audio: Callable[[Utterance, np.ndarray], Awaitable[Any]]   # -> Report
    save: Callable[[Utterance], None]
    listener: Any                                            # on_repair / on_report
    language: Callable[[Utterance], str]                     # the transcript's language
    voice: str | None = None


class Repairer:
    def __init__(self, options: RepairOptions | None = None, speech: Speech | None = None,
                 ask: Callable[[Utterance], Awaitable[bool]] | None = None) -> None:
        self.options = options or RepairOptions()
        self.speech = speech or LocalSpeech()
        self.ask = ask

    def plan(self, u: Utterance, client=None, requested: bool = False) -> list[str]:
        """The strategies this utterance will get, in order, within the attempt budget."""
        out = []
        for name in self.options.order:
            if name == "revoice" and (client is None or not hasattr(client, "speak_verbatim")):
                continue
            if name == "patch" and (u.report is None or not len(u.audio)
                                    or flagged_fraction(u.report, requested) > PATCH_MAX_FRACTION):
                continue
            out.append(name)
        return out[: max(0, self.options.attempts)]

    async def repair(self, u: Utterance, ctx: RepairContext, requested: bool = False) -> bool:
        """Returns True when delivered audio now matches. Never raises for a failed attempt.

        On its own (`requested` False) it repairs only certain flags, as the policy says; a
        repair the user asked for also re-voices the sentences that only may differ (amber)."""
        if u.report is None:
            return False
        if requested:
            if not u.report.differing_segments:
                return False
        else:
            if self.options.policy == "off" or u.report.matches:
                return False
            if self.options.policy == "ask" and (self.ask is None or not await self.ask(u)):
                return False
        plan = self.plan(u, ctx.client, requested)
        if not plan:
            ctx.listener.on_repair(u, "No repair strategy is available; the flags stay.")
            return False
        if u.original_audio is None:
            u.original_audio = u.audio.copy()
            u.original_report = u.report
        language = ctx.language(u)
        base_audio, base_report = u.original_audio, u.original_report
        for number, strategy in enumerate(plan, 1):
            ctx.listener.on_repair(u, f"Repairing — attempt {number} of {len(plan)}: {LABEL[strategy]}")
            t0 = time.monotonic()
            attempt = RepairAttempt(number, strategy, "error")
            try:
                audio = await self._produce(strategy, u, ctx, language, base_audio, base_report, requested)
                attempt.audio = audio
                report = await ctx.check_audio(u, audio)
                attempt.report = report
                attempt.verdict = "match" if report.matches else "mismatch"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("repair attempt %d (%s) failed: %s", number, strategy, exc)
                attempt.error = str(exc) or exc.__class__.__name__
            attempt.elapsed_s = time.monotonic() - t0
            u.repairs.append(attempt)
            if attempt.verdict == "match":
                u.audio = attempt.audio
                u.report = attempt.report
                u.meta["repaired_by"] = strategy
                ctx.save(u)
                ctx.listener.on_report(u)
                return True
            ctx.save(u)
        u.meta["repair_failed"] = True
        ctx.save(u)
        ctx.listener.on_repair(u, f"Repair failed after {len(plan)} attempt{'s' if len(plan) != 1 else ''}; "
                                  "the red sentences are still not spoken as written.")
        ctx.listener.on_report(u)
        return False

    async def _produce(self, strategy: str, u: Utterance, ctx: RepairContext, language: str,
                       base_audio: np.ndarray, base_report, requested: bool = False) -> np.ndarray:
        if strategy == "revoice":
            chunks = []
            async for ev in ctx.client.speak_verbatim(u.transcript, language, voice=ctx.voice):
                if isinstance(ev, AudioDelta) and len(ev.pcm):
                    chunks.append(ev.pcm)
            if not chunks:
                raise RuntimeError("the Realtime session answered without audio")
            return np.concatenate(chunks).astype(np.int16)
        if strategy == "tts":
            return await self.speech.speak(u.transcript, language, ctx.voice)
        if strategy == "patch":
            return await patch_audio(base_audio, base_report, u.transcript, self.speech, language,
                                     ctx.voice, include_doubtful=requested)
        raise ValueError(f"unknown repair strategy {strategy!r}")

