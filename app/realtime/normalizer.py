"""One normalizer for both event namings.

GA:   response.output_audio.delta, response.output_audio_transcript.delta|done,
      response.output_text.delta|done
beta: response.audio.delta,        response.audio_transcript.delta|done,
      response.text.delta|done
Everything becomes TranscriptDelta / AudioDelta / ResponseDone / ErrorEvent, tracked per
response id. Control tokens (<|…|>) are removed even when split across deltas."""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.audio.codecs import decode, get_format
from app.audio.resample import StreamResampler
from app.text.segments import strip_control_tokens

from .events import AudioDelta, ErrorEvent, ResponseDone, TranscriptDelta

log = logging.getLogger(__name__)

OUTPUT_RATE = 24000

AUDIO_DELTA = {"response.output_audio.delta", "response.audio.delta"}
AUDIO_DONE = {"response.output_audio.done", "response.audio.done"}
TRANSCRIPT_DELTA = {"response.output_audio_transcript.delta", "response.audio_transcript.delta"}
TRANSCRIPT_DONE = {"response.output_audio_transcript.done", "response.audio_transcript.done"}
TEXT_DELTA = {"response.output_text.delta", "response.text.delta"}
TEXT_DONE = {"response.output_text.done", "response.text.done"}

_OPEN_TOKEN = re.compile(r"<(\|[^>]{0,64})?$")   # a token that may still be arriving


@dataclass
class ResponseState:
    response_id: str
    request_tag: str | None = None
    raw_transcript: str = ""
    emitted: str = ""
    final_transcript: str | None = None
    text_only: bool = False
    audio_samples: int = 0
    audio_done: bool = False
    done: bool = False
    late: int = 0
    upsampler: Any = None


class Normalizer:
    def __init__(self, audio_format: str = "pcm16") -> None:
        self.format = get_format(audio_format)
        self.responses: dict[str, ResponseState] = {}

    def state(self, response_id: str) -> ResponseState:
        st = self.responses.get(response_id)
        if st is None:
            st = self.responses[response_id] = ResponseState(response_id)
        return st

    def forget(self, response_id: str) -> None:
        self.responses.pop(response_id, None)

    def feed(self, ev: dict[str, Any]) -> list[Any]:
        """Turn one server event (a decoded JSON object) into internal events."""
        kind = ev.get("type")
        if kind == "error":
            err = ev.get("error") or {}
            return [ErrorEvent(message=str(err.get("message") or "unknown error"), code=err.get("code"),
                               type=err.get("type"), event_id=err.get("event_id"), raw=ev)]
        if kind == "response.created":
            resp = ev.get("response") or {}
            st = self.state(str(resp.get("id")))
            st.request_tag = (resp.get("metadata") or {}).get("verbatim_request")
            return []
        rid = ev.get("response_id")
        if kind == "response.done":
            resp = ev.get("response") or {}
            st = self.state(str(resp.get("id")))
            return self._flush_upsampler(st) + [self._done(st, resp)]
        if rid is None:
            return []
        st = self.state(str(rid))
        if kind in AUDIO_DELTA:
            return self._audio(st, ev.get("delta") or "")
        if kind in AUDIO_DONE:
            st.audio_done = True
            return self._flush_upsampler(st)
        if kind in TRANSCRIPT_DELTA or kind in TEXT_DELTA:
            if kind in TEXT_DELTA:
                st.text_only = True
            st.raw_transcript += ev.get("delta") or ""
            return self._emit_text(st)
        if kind in TRANSCRIPT_DONE or kind in TEXT_DONE:
            full = ev.get("transcript") if kind in TRANSCRIPT_DONE else ev.get("text")
            if isinstance(full, str):
                st.final_transcript = strip_control_tokens(full)
            return self._emit_text(st, final=True)
        return []

    # --- pieces -----------------------------------------------------------------------------
    def _audio(self, st: ResponseState, b64: str) -> list[Any]:
        try:
            data = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            log.warning("undecodable audio delta for %s ignored", st.response_id)
            return []
        if self.format.bytes_per_sample == 2 and len(data) % 2:
            data = data[:-1]
        pcm = decode(data, self.format)
        if self.format.sample_rate != OUTPUT_RATE:
            if st.upsampler is None:
                # G.711 arrives at 8 kHz; every AudioDelta is 24 kHz
                st.upsampler = StreamResampler(self.format.sample_rate, OUTPUT_RATE)
            pcm = st.upsampler(pcm)
        late = st.audio_done or st.done
        if late:
            st.late += 1
        st.audio_samples += len(pcm)
        return [AudioDelta(st.response_id, pcm, late=late)] if len(pcm) else []

    def _flush_upsampler(self, st: ResponseState) -> list[Any]:
        if st.upsampler is None:
            return []
        tail = st.upsampler(np.zeros(0, np.int16), last=True)
        st.upsampler = None
        st.audio_samples += len(tail)
        return [AudioDelta(st.response_id, tail)] if len(tail) else []

    def _emit_text(self, st: ResponseState, final: bool = False) -> list[Any]:
        raw = st.raw_transcript
        if final and st.final_transcript is not None and len(st.final_transcript) >= len(strip_control_tokens(raw)):
            clean = st.final_transcript
        else:
            # hold back a control token that may still be arriving
            hold = None if final else _OPEN_TOKEN.search(raw)
            clean = _strip_keep_spacing(raw[: hold.start()] if hold else raw)
        if clean.startswith(st.emitted):
            delta = clean[len(st.emitted):]
            st.emitted = clean
            return [TranscriptDelta(st.response_id, delta)] if delta else []
        # the cleaned text changed behind us (a token was removed); the final event carries it
        return []

    def _done(self, st: ResponseState, resp: dict[str, Any]) -> ResponseDone:
        st.done = True
        transcript = st.final_transcript if st.final_transcript is not None else _strip_keep_spacing(st.raw_transcript)
        transcript = transcript.strip()
        if not transcript:
            transcript = _transcript_from_output(resp)
        details = resp.get("status_details")
        meta = resp.get("metadata") or {}
        return ResponseDone(
            response_id=st.response_id, transcript=transcript, status=str(resp.get("status") or "completed"),
            status_details=details, usage=resp.get("usage"),
            audio_missing=st.audio_samples == 0, late_audio_deltas=st.late,
            transcript_language=meta.get("verbatim_transcript_language") if isinstance(meta, dict) else None,
            audio_samples=st.audio_samples)


def _strip_keep_spacing(text: str) -> str:
    cleaned = strip_control_tokens(text)
    # strip_control_tokens trims; keep a trailing space so the next delta joins correctly
    if cleaned != text and text.endswith(" ") and not cleaned.endswith(" "):
        cleaned += " "
    return cleaned


def _transcript_from_output(resp: dict[str, Any]) -> str:
    """Some servers put the transcript only in response.output[].content[]."""
    parts = []
    for item in resp.get("output") or []:
        for c in (item or {}).get("content") or []:
            t = c.get("transcript") or c.get("text")
            if isinstance(t, str):
                parts.append(t)
    return strip_control_tokens(" ".join(parts)).strip()
