"""What the engine said into a conversation: an answer's transcript, its audio, and what a
truncation left of them."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np

from .protocol import Shape, ToolCall
from .speech import to_wire

MAX_RETRIEVED_AUDIO = 4 << 20  # base64 audio in one conversation.item.retrieved (clients cap frames at 8 MB)


@dataclass
class Said:
    """An answer the engine gave into the conversation: what it sent, and what the listener heard
    (a truncation keeps only the audio before `audio_end_ms` and the words spoken in it)."""
    item_id: str
    audio: bool
    audio_format: str
    status: str = "in_progress"
    transcript: str = ""            # the whole planned transcript
    sent: int = 0                   # characters of it sent as deltas so far
    pcm: list[np.ndarray] = dc_field(default_factory=list)   # 24 kHz pieces, in order
    samples: int = 0
    marks: list[tuple[int, int, int, int]] = dc_field(default_factory=list)  # (sample0, sample1, char0, char1)
    heard: tuple[int, int] | None = None   # (samples, characters) kept by a truncation
    tool_call: ToolCall | None = None
    forgotten: bool = False         # its audio went past the session's budget: no longer kept

    def add_audio(self, pcm: np.ndarray) -> None:
        if self.heard is None and not self.forgotten:
            self.pcm.append(pcm)
            self.samples += len(pcm)

    def forget_audio(self) -> None:
        self.pcm, self.samples, self.forgotten = [], 0, True

    def mark(self, sample0: int, sample1: int, char0: int, char1: int) -> None:
        if self.heard is None:
            self.marks.append((sample0, sample1, char0, char1))

    def chars_heard(self, samples: int) -> int:
        """Characters of the transcript spoken in the first `samples`, ending on a word boundary."""
        end = 0
        for s0, s1, c0, c1 in self.marks:
            if samples >= s1:
                end = c1
                continue
            if samples > s0:
                end = c0 + int((c1 - c0) * (samples - s0) / max(1, s1 - s0))
                cut = self.transcript.rfind(" ", c0, end + 1)
                end = cut if cut > c0 else c0
            break
        return end

    def truncate(self, samples: int) -> None:
        self.heard = (samples, self.chars_heard(samples))
        pcm = np.concatenate(self.pcm) if self.pcm else np.zeros(0, np.int16)
        self.pcm, self.samples = [pcm[:samples]], min(samples, len(pcm))

    def text(self) -> str:
        return self.transcript[:self.heard[1]].rstrip() if self.heard else self.transcript[:self.sent]

    def item(self, shape: Shape, with_audio: bool = False) -> dict[str, Any]:
        if self.tool_call is not None:
            c = self.tool_call
            return shape.function_call_item(self.item_id, self.status, c.call_id, c.name,
                                             c.arguments if self.status != "in_progress" else "")
        b64 = None
        if with_audio and self.audio and self.pcm:
            wire = to_wire(np.concatenate(self.pcm), self.audio_format)
            if len(wire) * 4 // 3 <= MAX_RETRIEVED_AUDIO:
                b64 = base64.b64encode(wire).decode("ascii")
        return shape.assistant_item(self.item_id, self.status, self.audio, self.text(), b64)

