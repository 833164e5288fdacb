"""Repair for audio that passes through Guard: find what the audio left unsaid at its end
and voice it in the response's own format, ready to be sent as extra audio deltas.

Strategy implemented: offline TTS (`app.repair.speech.LocalSpeech`, or any `Speech` such
as the cloud TTS) of the exact missing tail text, in the session's voice name, encoded in
the session's wire format. The original audio is never touched; the missing words are
appended after a short pause.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from app.audio.codecs import encode, get_format
from app.audio.resample import resample
from app.core.report import Report

SPEECH_RATE = 24000
PAUSE_S = 0.15            # between the cut-off original and the appended words
DELTA_S = 0.2             # audio per appended delta, like the services send


@dataclass
class TailFix:
    text: str             # the transcript's missing tail, exactly as written
    char_start: int


def missing_tail(report: Report, transcript: str) -> TailFix | None:
    """The words after the last one the audio spoke, when all of them are missing."""
    words = report.words
    if not words or report.matches:
        return None
    spoken = [i for i, w in enumerate(words) if w.status != "missing"]
    first = (spoken[-1] + 1) if spoken else 0
    if first >= len(words):
        return None
    start = words[first].char_start
    # start at the beginning of its sentence when none of that sentence was spoken
    for seg in report.segments:
        if seg.char_start <= start < seg.char_end:
            seg_words = [w for w in words if seg.char_start <= w.char_start < seg.char_end]
            if seg.doubtful:
                return None          # only certain flags get audio appended
            if all(w.status == "missing" for w in seg_words):
                start = seg.char_start
            break
    text = transcript[start:].strip()
    return TailFix(text, start) if text else None


def to_wire(pcm24: np.ndarray, audio_format: str, *, pause_s: float = PAUSE_S) -> bytes:
    """24 kHz int16 speech -> the session's wire format, with a lead-in pause."""
    fmt = get_format(audio_format)
    pcm = np.asarray(pcm24, dtype=np.int16)
    if fmt.sample_rate != SPEECH_RATE:
        pcm = resample(pcm, SPEECH_RATE, fmt.sample_rate)
    pause = np.zeros(int(fmt.sample_rate * pause_s), np.int16)
    return encode(np.concatenate([pause, pcm]), fmt)


def wire_deltas(data: bytes, audio_format: str, seconds: float = DELTA_S) -> list[str]:
    fmt = get_format(audio_format)
    step = max(fmt.bytes_per_sample, int(fmt.sample_rate * seconds) * fmt.bytes_per_sample)
    return [base64.b64encode(data[i:i + step]).decode("ascii") for i in range(0, len(data), step)]
