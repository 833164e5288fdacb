"""From typed text to verified audio, without Qt.

One `Pipeline.translate()` call: ask the Realtime session, play audio as it streams,
keep every delta in an Utterance (checkpointed to history so a crash loses nothing),
verify the audio against the transcript off the event loop, save, and hand flagged
answers to Repair. The window only listens; tests and benchmarks drive the same code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from app.core.utterance import Utterance
from app.realtime.events import AudioDelta, ResponseDone, TranscriptDelta

if TYPE_CHECKING:
    from app.repair.repairer import RepairContext

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 4000       # longer input is refused with a message, not truncated
CHECKPOINT_EVERY_S = 1.0

# History writes (audio encoding, fsync) run here, off the event loop. One thread keeps them
# in order: begin, checkpoints, then the final save, as crash recovery expects.
_DISK = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verbatim-history")


def wait_for_saves(timeout: float | None = None) -> bool:
    """Block until every history write queued so far is done (at shutdown, before the store closes)."""
    try:
        _DISK.submit(lambda: None).result(timeout)
        return True
    except Exception:
        return False


def _snapshot(u: Utterance) -> Utterance:
    """What the disk thread saves: the loop keeps changing `u` (text, meta, repairs) meanwhile.
    Audio arrays are shared: `append_audio` never rewrites a view it handed out."""
    s = dataclasses.replace(u)
    s.meta, s.timings, s.repairs = dict(u.meta), dict(u.timings), list(u.repairs)
    return s


class InputError(ValueError):
    """The typed text cannot be sent (empty, too long); the message is for the user."""


class Listener:
    """Receives pipeline progress on the event loop's thread. Override what you need."""

    def on_started(self, u: Utterance) -> None: ...
    def on_transcript(self, u: Utterance) -> None: ...
    def on_audio(self, u: Utterance, pcm: np.ndarray) -> None: ...
    def on_done(self, u: Utterance) -> None: ...
    def on_verifying(self, u: Utterance) -> None: ...
    def on_report(self, u: Utterance) -> None: ...
    def on_repair(self, u: Utterance, message: str) -> None: ...
    def on_saved(self, u: Utterance) -> None: ...
    def on_error(self, u: Utterance | None, message: str) -> None: ...
    def on_stopped(self, u: Utterance, stage: str) -> None: ...


def play_repaired_now(u) -> bool:
    """A repair just made the audio say the transcript: that is what the user should hear,
    once (replaying from history, or a later report, does not start it again)."""
    if u.status != "repaired" or u.meta.get("repair_played"):
        return False
    u.meta["repair_played"] = True
    return True


class VerifierLike(Protocol):
    def submit(self, transcript: str, audio: np.ndarray, sample_rate: int, language: str, *,
               source_language: str | None = None) -> Any: ...


@dataclass
class PipelineOptions:
    """How a Pipeline answers: what it records about the session, and what it does with the audio."""

    provider: str = "local"   # recorded on each Utterance: openai | azure | local
    model: str = ""
    voice: str = ""           # also the voice of strict mode and repair ("" = the service's default)
    audio_format: str = "pcm16"   # the wire format asked of the service
    autoplay: bool = True
    verify: bool = True
    strict: bool = False      # text from the Realtime model, speech from a TTS of that exact text


class _SentenceVoicer:
    """Strict mode: voice each transcript sentence as soon as it is complete, in order,
    so the first audio comes after one sentence of text rather than the whole answer."""

    def __init__(self, speech, language: str, voice: str | None, deliver) -> None:
        self.speech, self.language, self.voice, self.deliver = speech, language, voice, deliver
        self.queued = 0
        self.queue: asyncio.Queue = asyncio.Queue()
        self.worker = asyncio.create_task(self._work())

    def feed(self, transcript: str, final: bool = False) -> None:
        from app.text.segments import split_sentences

        sentences = split_sentences(transcript)
        ready = sentences if final else sentences[:-1]
        for s in ready[self.queued:]:
            self.queue.put_nowait(s.text)
        self.queued = max(self.queued, len(ready))

    async def finish(self, transcript: str) -> None:
        self.feed(transcript, final=True)
        self.queue.put_nowait(None)
        await self.worker

    def cancel(self) -> None:
        self.worker.cancel()

    async def _work(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                return
            self.deliver(await self.speech.speak(text, self.language, self.voice))


class _Stream:
    """One answer while it arrives: audio to the player, text to the listener, checkpoints
    to history. Lives for one `Pipeline.translate` call."""

    def __init__(self, pipeline: Pipeline, u: Utterance) -> None:
        self.p, self.u = pipeline, u
        self.t0 = self.last_checkpoint = time.monotonic()
        self.playing = False
        self.voicer: _SentenceVoicer | None = None   # strict mode: speech from the text

    def deliver(self, pcm: np.ndarray) -> None:
        if not len(pcm):
            return
        u, p = self.u, self.p
        u.timings.setdefault("first_audio_s", time.monotonic() - self.t0)
        u.append_audio(pcm)
        if p.player is not None and p.options.autoplay:
            if not self.playing:
                p.player.load(None, u.sample_rate, streaming=True)
                p.player.play()
                self.playing = True
            p.player.append(pcm)
        p.listener.on_audio(u, pcm)

    def on_event(self, ev: Any) -> None:
        match ev:
            case TranscriptDelta():
                self.u.transcript += ev.delta
                self.u.timings.setdefault("first_transcript_s", time.monotonic() - self.t0)
                self.p.listener.on_transcript(self.u)
                if self.voicer is not None:
                    self.voicer.feed(self.u.transcript)
            case AudioDelta():
                if self.voicer is None:
                    self.deliver(ev.pcm)
            case ResponseDone():
                self._done(ev)

    def _done(self, ev: ResponseDone) -> None:
        u = self.u
        u.transcript = ev.transcript or u.transcript
        u.meta["response_id"] = ev.response_id
        u.meta["status"] = ev.status
        if ev.usage:
            u.meta["usage"] = ev.usage
        if ev.transcript_language:
            u.meta["transcript_language"] = ev.transcript_language
            if ev.transcript_language != u.target_language:
                u.meta["read_back"] = True   # the engine said it spoke another language
        if ev.audio_missing and self.voicer is None:
            u.meta["audio_missing"] = True
        if ev.late_audio_deltas:
            u.meta["late_audio_deltas"] = ev.late_audio_deltas

    def checkpoint(self) -> None:
        now = time.monotonic()
        if now - self.last_checkpoint >= CHECKPOINT_EVERY_S:
            self.p._store("checkpoint", self.u)
            self.last_checkpoint = now

    def cancel(self) -> None:
        if self.voicer is not None:
            self.voicer.cancel()


def check_input(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InputError("Type a phrase to translate first.")
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(f"That is {len(text):,} characters; Verbatim translates up to "
                         f"{MAX_INPUT_CHARS:,} at a time. Split it into shorter parts.")
    return text


class Pipeline:
    def __init__(self, client, *, verifier: VerifierLike | None = None, store=None, player=None,
                 listener: Listener | None = None, options: PipelineOptions | None = None,
                 repairer=None, speech=None, can_translate=None) -> None:
        self.client = client
        # (source, target) -> bool | None: whether the session really translates that pair
        self.can_translate = can_translate
        self.verifier = verifier
        self.store = store
        self.player = player
        self.listener = listener or Listener()
        self.options = options or PipelineOptions()
        self.repairer = repairer
        self.speech = speech          # exact-text TTS for strict mode (and repair)
        self.current: Utterance | None = None
        self._pending: asyncio.Future | None = None   # the latest queued history write
        self._history_errors_said: list[str] = []     # ids of the latest answers whose save failed

    # --- one request -----------------------------------------------------------------
    async def translate(self, text: str, source: str, target: str, *,
                        metadata: dict[str, str] | None = None) -> Utterance:
        text = check_input(text)
        u = self._start(text, source, target)
        run = _Stream(self, u)
        if self.options.strict and self.speech is not None:
            u.meta["mode"] = "strict"
            run.voicer = _SentenceVoicer(self.speech, self.speech_language(text, source, target),
                                         self.options.voice or None, run.deliver)
        try:
            await self._receive(run, text, source, target, metadata)
        except asyncio.CancelledError:
            run.cancel()
            self._settle(run, "incomplete", "stopped before the answer was complete")
            self.listener.on_done(u)
            self.listener.on_stopped(u, "streaming")
            raise
        except Exception as exc:  # typed realtime errors carry partial results
            run.cancel()
            self._absorb_partial(u, exc)
            self._settle(run, "incomplete" if (u.transcript or len(u.audio)) else "failed", user_message(exc))
            self.listener.on_error(u, u.error)
            self.listener.on_done(u)
            await self.saved()
            return u
        u.timings["done_s"] = time.monotonic() - run.t0
        self._settle(run, "complete")
        self.listener.on_done(u)
        await self._check_and_repair(u)
        await self.saved()
        return u

    def _start(self, text: str, source: str, target: str) -> Utterance:
        """The new answer, recorded (history, listener) before anything is asked."""
        o = self.options
        u = Utterance(text, source, target, provider=o.provider, model=o.model,
                      voice=o.voice, audio_format=o.audio_format)
        self._mark_read_back(u)
        self.current = u
        self._store("begin", u)
        self.listener.on_started(u)
        return u

    async def _receive(self, run: _Stream, text: str, source: str, target: str,
                       metadata: dict[str, str] | None) -> None:
        """Stream the answer into run.u; strict mode asks for text only and voices it here."""
        strict = run.voicer is not None
        async for ev in self.client.translate(text, source=source, target=target, metadata=metadata,
                                              **({"text_only": True} if strict else {})):
            run.on_event(ev)
            run.checkpoint()
        if run.voicer is not None:
            await run.voicer.finish(run.u.transcript)

    def _settle(self, run: _Stream, state: str, error: str | None = None) -> None:
        """The stream is over (answered, failed or stopped): final state, player told, saved."""
        run.u.state = state
        if error is not None:
            run.u.error = error
        self._finish_player(run.playing)
        self._store("save", run.u)

    async def _check_and_repair(self, u: Utterance) -> None:
        stage = "verifying"
        try:
            if self.options.verify and self.verifier is not None:
                await self.verify(u)
            else:
                u.meta["unverified"] = "verification is off" if not self.options.verify else "no verifier"
            if self.repairer is not None and u.report is not None and not u.report.matches:
                stage = "repairing"
                await self.repairer.repair(u, self.repair_context())
        except asyncio.CancelledError:
            self._stopped_after_answer(u, stage)
            raise

    async def repair_requested(self, u: Utterance) -> bool:
        """The user asked to repair this answer: re-voice its red and amber sentences."""
        if self.repairer is None or u.report is None:
            return False
        try:
            return await self.repairer.repair(u, self.repair_context(), requested=True)
        except asyncio.CancelledError:
            u.meta["stopped"] = "repairing"
            self._store("save", u)
            raise

    def _stopped_after_answer(self, u: Utterance, stage: str) -> None:
        """Stop during the check or the repair: a final, saved state, never 'verifying' for good."""
        u.meta["stopped"] = stage
        if u.report is None:
            u.meta["unverified"] = "stopped before the audio was checked"
        else:
            u.meta["repair_stopped"] = True   # the verdict stands; the flags stay
        self._store("save", u)
        self.listener.on_stopped(u, stage)

    def _mark_read_back(self, u: Utterance) -> None:
        """When the session cannot translate this pair it reads the text back: record that
        (history shows the language actually spoken, never the requested target)."""
        if not self.reads_back(u.source_language, u.target_language):
            return
        spoken = self.speech_language(u.input_text, u.source_language, u.target_language)
        u.meta.update(read_back=True, requested_source=u.source_language, requested_target=u.target_language)
        u.source_language = u.target_language = spoken

    def reads_back(self, source: str, target: str) -> bool:
        if self.can_translate is not None:
            verdict = self.can_translate(source, target)
            if verdict is not None:
                return not verdict
        session = getattr(self.client, "session", None)
        return session is not None and not getattr(session, "translation_available", True)

    def speech_language(self, text: str, source: str, target: str) -> str:
        """Language the answer's text will be in: the target, unless the session only reads back."""
        if self.reads_back(source, target):
            if source and source != "auto":
                return source
            from app.core.langid import detect_text_language

            return detect_text_language(text, target) or target
        return target

    async def check_audio(self, u: Utterance, audio: np.ndarray):
        """Verify `audio` against u's transcript (the answer's, or a repair attempt's)."""
        future = self.verifier.submit(u.transcript, audio, u.sample_rate, self.verification_language(u),
                                      source_language=self.drift_suspect(u))
        return await (future if asyncio.isfuture(future) else asyncio.wrap_future(future))

    def drift_suspect(self, u: Utterance) -> str | None:
        """The language a drift would most likely be in: the one the user typed in."""
        src = u.source_language
        if not src or src == "auto" or src == self.verification_language(u):
            return None
        return src

    def verification_language(self, u: Utterance) -> str:
        """The transcript's language: the target, unless the engine read the input back."""
        return u.meta.get("transcript_language") or u.target_language

    async def verify(self, u: Utterance):
        if self.verifier is None:
            return None
        self.listener.on_verifying(u)
        t0 = time.monotonic()
        try:
            report = await self.check_audio(u, u.audio)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            msg = f"Could not verify the audio: {user_message(exc)}"
            u.meta["unverified"] = msg
            self.listener.on_error(u, msg)
            return None
        u.timings["verify_s"] = time.monotonic() - t0
        u.report = report
        self._store("save", u)
        self.listener.on_report(u)
        return report

    def save(self, u: Utterance) -> None:
        self._store("save", u)

    def repair_context(self) -> RepairContext:
        """The narrow view of this pipeline a Repairer works with."""
        from app.repair.repairer import RepairContext

        return RepairContext(client=self.client, check_audio=self.check_audio, save=self.save,
                             listener=self.listener, language=self.verification_language,
                             voice=self.options.voice or None)

    # --- helpers ---------------------------------------------------------------------
    def _finish_player(self, playing: bool) -> None:
        if playing and self.player is not None:
            self.player.finish()

    @staticmethod
    def _absorb_partial(u: Utterance, exc: BaseException) -> None:
        partial_text = getattr(exc, "partial_transcript", None)
        partial_audio = getattr(exc, "partial_audio", None)
        if partial_text and len(partial_text) > len(u.transcript):
            u.transcript = partial_text
        if partial_audio is not None and len(partial_audio) > len(u.audio):
            u.audio = np.asarray(partial_audio, dtype=np.int16)

    def _store(self, op: str, u: Utterance) -> None:
        """Queue a history write of `u` as it is now; on_saved / the error come back on the loop."""
        if self.store is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:     # no loop (a plain caller): write here
            self._stored(op, u, self._write(op, _snapshot(u)))
            return
        future = loop.run_in_executor(_DISK, self._write, op, _snapshot(u))
        future.add_done_callback(lambda f: self._stored(op, u, f.result()))
        self._pending = future

    async def saved(self) -> None:
        """Wait until the history writes queued so far are done (and reported)."""
        pending = self._pending
        if pending is not None and not pending.done():
            await asyncio.shield(pending)
            await asyncio.sleep(0)   # let its done callback (on_saved / the error) run

    def _write(self, op: str, snap: Utterance) -> BaseException | None:
        try:
            getattr(self.store, op)(snap)
            return None
        except Exception as exc:
            return exc

    def _stored(self, op: str, u: Utterance, exc: BaseException | None) -> None:
        if exc is None:
            if op == "save":
                self.listener.on_saved(u)
            return
        # history trouble must not stop the translation; said once per answer: a read-only or
        # full history would fail every checkpoint too
        said = self._history_errors_said
        if u.id in said:
            log.debug("history %s failed again: %s", op, exc)
            return
        said[:] = [*said[-31:], u.id]
        log.error("history %s failed", op, exc_info=exc)
        self.listener.on_error(u, f"Could not save to history: {user_message(exc)}")


def user_message(exc: BaseException) -> str:
    """A sentence for the window: the typed errors already carry one."""
    text = str(exc).strip()
    if not text:
        text = exc.__class__.__name__
    return text
