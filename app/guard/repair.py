"""Repair mode's half of a link: the gate's verdict, and the audio that makes a response right
(held sentences released or spoken anew, a missing tail appended)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

import numpy as np

from app.audio.codecs import decode

from .mend import missing_tail, to_wire, wire_deltas
from .records import GuardResponse
from .stream import Settled, plan_steps
from .tap import TappedResponse

log = logging.getLogger(__name__)

CHARS_PER_S = 14.0     # typical speaking pace, until a response shows its own
SHORT_RATIO = 0.9      # audio shorter than this share of the expected length: probably cut off


class _Busy(Exception):
    pass


@dataclass
class _Hold:
    """A response whose audio Guard holds until each sentence is verified."""
    released: int = 0                 # bytes of the original audio already released (or replaced)
    parts: list = field(default_factory=list)     # what the app received, decoded
    voiced: list[str] = field(default_factory=list)

    def add(self, wire: bytes, audio_format: str, voiced_text: str | None) -> None:
        if wire:
            self.parts.append(decode(wire, audio_format))
        if voiced_text:
            self.voiced.append(voiced_text)


class Repairs:
    """Methods of `_Link` for repair mode (its tap, holds, checks, gates and guard)."""

    async def _tail_verdict(self, resp: TappedResponse, gr: GuardResponse):
        """Verify what streaming verification has not settled: (report, its text, settled point)."""
        check = self.checks.pop(resp.response_id, None)
        settled, language = Settled(), None
        if check is not None:
            await check.finish()
            check.cancel()
            settled, language = check.settled, check.language
            gr.timings["stream_passes"] = check.passes
            gr.timings["settled_sentences"] = settled.sentences
        text = gr.transcript[settled.char:]
        report = await self.guard.verify(text, gr.audio[settled.sample:], gr.sample_rate, language)
        return report, text, settled

    async def _through_gate(self, rid: str) -> list[str]:
        """Runs while the gate is closed; returns the audio deltas to send before it."""
        resp = self.tap.responses.get(rid)
        if resp is None:
            return []
        t_gate = time.monotonic()
        extra: list[str] = []
        gr: GuardResponse | None = None
        error: str | None = None
        voiced = False
        try:
            async with asyncio.timeout(self.guard.hold_timeout):
                await self.done_events[rid].wait()
                self.tap.forget(rid)
                gr = self._record(resp)     # after response.done: the whole transcript and audio
                if resp.done and not self.upstream_gone and not resp.overflow and gr.status != "incomplete":
                    voiced = await self._decide(resp, gr, extra)
        except TimeoutError:
            log.warning("guard: response %s released unrepaired after %.1f s", rid, self.guard.hold_timeout)
            error = f"released unrepaired after {self.guard.hold_timeout:.0f} s"
        except _Busy:
            error = "the verifier was busy"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("guard: repair of %s failed", rid)
            error = f"repair failed: {exc}"
        finally:
            self.tap.forget(rid)
            check = self.checks.pop(rid, None)
            if check is not None:
                check.cancel()
        if gr is None:
            gr = self._record(resp)
        gr.error = gr.error or error
        if not resp.done:
            gr.status = "incomplete"
        hold = self.holds.pop(rid, None)
        if hold is not None:     # whatever happened, the app gets all the audio that is still held
            extra += self._deltas(resp, self._keep(resp, hold, len(resp.audio)))
            if hold.voiced:
                gr.delivered_audio = np.concatenate(hold.parts) if hold.parts else None
                gr.appended_text = " ".join(hold.voiced)
                voiced = True
        gr.timings["held_s"] = time.monotonic() - t_gate
        resp.audio = bytearray()     # released and recorded: the record has its own copy
        self.guard.spawn(self._after_repair(gr, voiced, resp.overflow_reason))
        return extra

    async def _decide(self, resp: TappedResponse, gr: GuardResponse, extra: list[str]) -> bool:
        """The verdict on what is not settled yet, and the audio that makes it right (into `extra`)."""
        t0 = time.monotonic()
        hold = self.holds.get(resp.response_id)
        # the last sentence is what truncation usually loses: when the audio looks too short
        # for the transcript, voice it while the verdict is made (not otherwise: it costs CPU)
        guess = _last_sentence(gr.transcript) if self._looks_short(resp, gr) else ""
        early = asyncio.ensure_future(self._speak(guess, resp, gr)) if guess else None
        try:
            tail, tail_text, settled = await self._tail_verdict(resp, gr)
            gr.timings["verdict_s"] = time.monotonic() - t0
            if tail is None or tail.matches:
                return False
            if hold is not None and settled.char > 0 and not await self._wrong_in_context(gr, settled.char, tail):
                return False
            fix = missing_tail(tail, tail_text)
            flagged = tail.flagged_segments
            if fix is not None and (hold is None or all(s.char_end > fix.char_start for s in flagged)):
                # the end is missing (and, with audio the app already has, nothing else can change):
                # the audio stays, the missing words follow it
                pcm24 = await early if early is not None and fix.text == guess else \
                    await self._speak(fix.text, resp, gr, tail.language)
                if hold is not None:
                    extra += self._deltas(resp, self._keep(resp, hold, len(resp.audio)))
                wire = to_wire(pcm24, resp.audio_format)
                extra += self._deltas(resp, wire)
                if hold is not None:
                    hold.add(wire, resp.audio_format, fix.text)
                else:
                    gr.appended_text = fix.text
                    gr.delivered_audio = np.concatenate([gr.audio, decode(wire, resp.audio_format)])
                return True
            if hold is None or not flagged:
                return False     # drift in audio the app already has: recorded, not repaired
            # held audio, complete now: sentences followed by speech are kept or spoken anew one by one
            steps, next_char = plan_steps(tail, tail_text, settled.sample, resp.sample_rate, set(), confirm=False)
            for step in steps:
                extra += self._deltas(resp, await self._step_wire(resp, hold, step, tail.language))
            segs = tail.segments
            rest = [s for s in segs if s.char_start >= next_char]
            wrong = [s for s in rest if s.flagged]
            if not wrong:
                return bool(hold.voiced)
            # from the first wrong one of the rest on, everything is spoken anew
            first = wrong[0]
            cut = steps[-1].sample_end if steps else settled.sample
            if first.index > rest[0].index:
                prev = segs[first.index - 1]
                if prev.end_s is not None:
                    cut_s = (prev.end_s + first.start_s) / 2 if first.start_s is not None and \
                        first.start_s > prev.end_s else prev.end_s + 0.05
                    cut = settled.sample + int(cut_s * resp.sample_rate)
            extra += self._deltas(resp, self._keep(resp, hold, cut * self._bps(resp)))
            text = tail_text[first.char_start:].strip()
            wire = to_wire(await self._speak(text, resp, gr, tail.language), resp.audio_format)
            hold.released = len(resp.audio)     # the rest of the original is not used
            hold.add(wire, resp.audio_format, text)
            extra += self._deltas(resp, wire)
            return True
        finally:
            if early is not None and not early.done():
                early.cancel()

    async def _wrong_in_context(self, gr: GuardResponse, char: int, tail) -> bool:
        """A second opinion on held sentences the tail check flagged, from the whole answer.

        Whisper hears a sentence alone less well than with the ones before it ("and your"
        heard as "in your"): audio the app has not heard yet is replaced only when the whole
        answer's check agrees that something from `char` on is wrong. That report is the record's."""
        full = await self.guard.verify(gr.transcript, gr.audio, gr.sample_rate, tail.language)
        if full is None:
            return True
        gr.report = full
        return any(s.flagged and s.char_end > char for s in full.segments)

    # --- held audio (repair with hold): released sentence by sentence ----------------------------------
    @staticmethod
    def _bps(resp: TappedResponse) -> int:
        return 1 if resp.audio_format != "pcm16" else 2

    def _keep(self, resp: TappedResponse, hold: _Hold, upto: int) -> bytes:
        """The original audio from what was released up to byte `upto`, now released."""
        upto = min(upto - upto % self._bps(resp), len(resp.audio))
        if upto <= hold.released:
            return b""
        data = bytes(resp.audio[hold.released:upto])
        hold.released = upto
        hold.add(data, resp.audio_format, None)
        return data

    def _deltas(self, resp: TappedResponse, wire: bytes) -> list[str]:
        import json

        beta = bool(self.tap.beta)
        return [json.dumps(resp.delta_event(b64, f"event_guard_{secrets.token_hex(8)}", beta))
                for b64 in wire_deltas(wire, resp.audio_format)] if wire else []

    async def _release(self, resp: TappedResponse, steps: list) -> None:
        """Streaming verification settled these sentences: send their audio (or its replacement)."""
        hold = self.holds.get(resp.response_id)
        if hold is None:
            return
        check = self.checks.get(resp.response_id)
        for step in steps:
            wire = await self._step_wire(resp, hold, step, check.language if check is not None else None)
            for m in self._deltas(resp, wire):
                await self._send(m)

    async def _step_wire(self, resp: TappedResponse, hold: _Hold, step, language: str | None) -> bytes:
        if step.kind == "keep":
            return self._keep(resp, hold, step.sample_end * self._bps(resp))
        wire = to_wire(await self.guard.speech.speak(step.text, language or self.guard.language or "en", resp.voice),
                       resp.audio_format)
        hold.released = max(hold.released, step.sample_end * self._bps(resp))
        hold.add(wire, resp.audio_format, step.text)
        return wire

    def _looks_short(self, resp: TappedResponse, gr: GuardResponse) -> bool:
        """Less audio than this voice needs for the text, judging by its pace so far."""
        check = self.checks.get(resp.response_id)
        chars_per_s = CHARS_PER_S
        if check is not None and check.settled.sample > resp.sample_rate:
            chars_per_s = check.settled.char / (check.settled.sample / resp.sample_rate)
        audio_s = len(gr.audio) / resp.sample_rate
        return audio_s < SHORT_RATIO * len(gr.transcript) / chars_per_s

    async def _speak(self, text: str, resp: TappedResponse, gr: GuardResponse, language: str | None = None):
        if language is None:
            from app.core.langid import detect_text_language

            language = self.guard.language or await asyncio.to_thread(detect_text_language, gr.transcript, "en")
        return await self.guard.speech.speak(text, language, resp.voice)

    async def _after_repair(self, gr: GuardResponse, repaired: bool, overflow: str) -> None:
        """The full verdicts for the record, once the app has its audio."""
        if gr.status != "incomplete" and gr.report is None:
            await self._judge(gr, overflow)
        elif gr.report is not None and gr.status != "incomplete":
            gr.status = gr.report.verdict
        if repaired and gr.delivered_audio is not None:
            try:
                gr.delivered_report = await self.guard.verify(gr.transcript, gr.delivered_audio, gr.sample_rate)
            except Exception as exc:   # the app already has the audio; only the record is poorer
                gr.error = f"the repaired audio could not be verified: {exc}"
            if gr.delivered_report is not None:
                gr.status = "repaired" if gr.delivered_report.matches else "mismatch"
        await self._conclude(gr)


def _last_sentence(transcript: str) -> str:
    from app.text.segments import split_sentences

    sentences = split_sentences(transcript)
    return transcript[sentences[-1].start:].strip() if len(sentences) > 1 else ""
