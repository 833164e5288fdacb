"""Streaming playback whose clock says what the listener is hearing right now.

The transcript highlight is driven by `Player.position_s`. That clock counts frames
actually handed to the output device, minus the stream's output latency, so it follows
the speaker and not the network: if deltas arrive late the audio underruns, the zero
fill is not counted, and the highlight waits with the voice.

Two outputs share all the logic: a sounddevice (PortAudio) callback stream, and a
silent sink that consumes frames in real time on a thread, for machines without a sound
card (CI, remote desktops). `ManualSink` lets tests step the clock by hand.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.audio.resample import StreamResampler

log = logging.getLogger(__name__)

PlayerState = Literal["idle", "playing", "paused", "buffering", "ended"]
_ACTIVE = frozenset({"playing", "buffering"})
_SCALE = np.float32(1.0 / 32768.0)   # int16 -> float in [-1, 1), exact (a power of two)


class _Track:
    """Audio at the device rate, growing while a response streams in.

    Kept as a list of chunks so an append never copies what is already there (a long
    answer stays linear), and adding a chunk is O(1) work under the player's lock.
    Conversion (int16 -> float, resampling) happens under `convert_lock`, which the
    audio callback never takes.
    """

    def __init__(self, source_rate: int, device_rate: int) -> None:
        self.source_rate = source_rate
        self.device_rate = device_rate
        self._chunks: list[np.ndarray] = []
        self._starts: list[int] = []    # device frame at which each chunk begins
        self._hint = 0                  # chunk the last read ended in (reads are mostly sequential)
        self.frames = 0
        self.finished = False
        self._stream = StreamResampler(source_rate, device_rate) if source_rate != device_rate else None
        self.source_frames = 0
        self.convert_lock = threading.Lock()

    def convert(self, pcm: np.ndarray, last: bool = False) -> np.ndarray:
        """Device-rate int16 copy of `pcm` (call with `convert_lock` held, in arrival order).
        Kept as int16, half the size of float32: the callback scales the few frames it hands over."""
        x = np.asarray(pcm).reshape(-1)
        if x.dtype == np.int16:
            x = x.copy()
        else:
            x = np.clip(np.round(np.asarray(x, np.float32) * 32768.0), -32768, 32767).astype(np.int16)
        self.source_frames += len(x)
        if self._stream is not None:
            x = self._stream(x, last=last)
        return x

    def push(self, x: np.ndarray, last: bool = False) -> None:
        """O(1): add converted frames (call with the player's lock held)."""
        if len(x):
            self._starts.append(self.frames)
            self._chunks.append(x)
            self.frames += len(x)
        if last:
            self.finished = True

    def read_into(self, out: np.ndarray, start: int, n: int) -> None:
        """Copy frames [start, start + n) into out[:n]; the range must lie inside the track."""
        i = self._hint
        if not (i < len(self._starts) and self._starts[i] <= start < self._starts[i] + len(self._chunks[i])):
            i = bisect.bisect_right(self._starts, start) - 1
        done = 0
        while done < n:
            chunk = self._chunks[i]
            off = start + done - self._starts[i]
            take = min(n - done, len(chunk) - off)
            np.multiply(chunk[off:off + take], _SCALE, out=out[done:done + take], casting="unsafe")
            done += take
            if off + take >= len(chunk):
                i += 1
        self._hint = min(i, max(0, len(self._chunks) - 1))


@dataclass(slots=True)
class PlaybackStats:
    """What the benchmark and the closing notes report."""

    first_append_t: float | None = None      # monotonic time the first samples were appended
    first_handed_t: float | None = None      # monotonic time a callback first handed them to the device
    underruns: int = 0

    @property
    def first_delta_to_device_s(self) -> float | None:
        if self.first_append_t is None or self.first_handed_t is None:
            return None
        return self.first_handed_t - self.first_append_t


class Player:
    """Plays one track at a time; thread-safe (the audio callback runs on its own thread)."""

    def __init__(self, output: Output | None = None) -> None:
        self._lock = threading.RLock()
        self.output = output or open_output()
        self.rate = self.output.sample_rate
        self._track: _Track | None = None
        self._read = 0               # next device frame of the track to hand over
        self._state: PlayerState = "idle"
        self._last_cb_t = 0.0        # monotonic time of the last callback that handed frames
        self._last_block = 0         # real (non-zero-fill) frames handed in that callback
        self.stats = PlaybackStats()
        self.on_state: Callable[[PlayerState], None] | None = None
        self.output.start(self._fill)

    # --- control (any thread) -------------------------------------------------------
    def load(self, pcm: np.ndarray | None, sample_rate: int, *, streaming: bool = False) -> None:
        """Replace the track. `streaming=True`: more audio will come through `append`."""
        track = _Track(sample_rate, self.rate)
        # convert before taking the lock: a long track must not hold up the audio callback
        has_audio = pcm is not None and len(pcm) > 0
        with track.convert_lock:
            x = track.convert(pcm, last=not streaming) if has_audio else None
            with self._lock:
                self._track = track
                self._read = 0
                self._last_block = 0
                self.stats = PlaybackStats()
                if x is not None:
                    track.push(x, last=not streaming)
                    self.stats.first_append_t = time.monotonic()
                self._set_state("paused")
        if not has_audio and not streaming:
            self._finish(track)

    def append(self, pcm: np.ndarray) -> None:
        with self._lock:
            track = self._track
            if track is None or track.finished or not len(pcm):
                return
        with track.convert_lock:
            if track.finished:
                return
            x = track.convert(pcm)
            with self._lock:   # O(1) work only: the audio callback waits on this lock
                track.push(x)
                if track is self._track:
                    if self.stats.first_append_t is None:
                        self.stats.first_append_t = time.monotonic()
                    if self._state == "buffering":
                        self._set_state("playing")

    def finish(self) -> None:
        """No more audio for this track: the end of the data is the end of the track."""
        with self._lock:
            track = self._track
        if track is not None:
            self._finish(track)

    def _finish(self, track: _Track) -> None:
        with track.convert_lock:
            if track.finished:
                return
            tail = track.convert(np.zeros(0, np.float32), last=True)
            with self._lock:
                track.push(tail, last=True)

    def play(self) -> None:
        with self._lock:
            if self._track is None:
                return
            if self._state == "ended" or (self._track.finished and self._read >= self._track.frames):
                self._read = 0
            self._last_cb_t = time.monotonic()
            self._last_block = 0
            self._set_state("playing")

    def pause(self) -> None:
        with self._lock:
            if self.is_active:
                # freeze the clock where the listener is, not where the device buffer is
                self._read = max(0, min(self._read, int(round(self.position_s * self.rate))))
                self._last_block = 0
                self._set_state("paused")

    def toggle(self) -> None:
        if self.is_active:
            self.pause()
        else:
            self.play()

    def seek(self, seconds: float) -> None:
        with self._lock:
            if self._track is None:
                return
            self._read = int(max(0.0, seconds) * self.rate)
            self._read = min(self._read, self._track.frames)
            self._last_block = 0
            self._last_cb_t = time.monotonic()
            if self._state == "ended":
                self._set_state("paused")

    def stop(self) -> None:
        with self._lock:
            self._read = 0
            self._last_block = 0
            if self._track is not None:
                self._set_state("paused")

    def close(self) -> None:
        self.output.close()

    # --- clock -----------------------------------------------------------------------
    @property
    def state(self) -> PlayerState:
        return self._state

    @property
    def is_active(self) -> bool:
        """Playing, or waiting for streamed audio to catch up: the clock is meant to run."""
        return self._state in _ACTIVE

    @property
    def duration_s(self) -> float:
        """Known length so far (grows while streaming)."""
        with self._lock:
            return self._track.frames / self.rate if self._track else 0.0

    @property
    def finished_loading(self) -> bool:
        with self._lock:
            return bool(self._track and self._track.finished)

    @property
    def position_s(self) -> float:
        """Seconds of the track the listener has heard by now."""
        with self._lock:
            if self._track is None:
                return 0.0
            handed = self._read / self.rate
            if not self.is_active:
                return handed
            latency = self.output.latency_s
            if self._last_block == 0:
                return max(0.0, handed - latency)
            # between callbacks, interpolate inside the block just handed over
            block_s = self._last_block / self.rate
            elapsed = min(block_s, max(0.0, self.output.now() - self._last_cb_t))
            return max(0.0, handed - block_s + elapsed - latency)

    # --- audio thread ----------------------------------------------------------------
    def _fill(self, out: np.ndarray, frames: int) -> None:
        """Called by the output with a float32 buffer of `frames` to fill."""
        with self._lock:
            out[:] = 0.0
            if not self.is_active or self._track is None:
                return
            track = self._track
            n = max(0, min(frames, track.frames - self._read))
            if n:
                track.read_into(out, self._read, n)
                self._read += n
                if self.stats.first_handed_t is None:
                    self.stats.first_handed_t = time.monotonic()
            self._last_cb_t = self.output.now()
            self._last_block = n
            if n < frames:
                if track.finished:
                    if self._read >= track.frames:
                        self._set_state("ended")
                else:
                    self.stats.underruns += 1
                    if self._state != "buffering":
                        self._set_state("buffering")

    def _set_state(self, state: PlayerState) -> None:
        if state != self._state:
            self._state = state
            cb = self.on_state
            if cb is not None:
                try:
                    cb(state)
                except Exception:  # a UI callback must never kill the audio thread
                    log.exception("player state callback failed")


# --- outputs ---------------------------------------------------------------------------
class Output:
    """Where frames go. `start(fill)` begins calling fill(buffer, frames) in real time."""

    sample_rate: int = 48000
    latency_s: float = 0.0
    name: str = ""
    available: bool = True     # False: no real device, playback is silent
    reason: str = ""           # why it is silent, shown to the user

    def start(self, fill: Callable[[np.ndarray, int], None]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def now(self) -> float:
        return time.monotonic()


class DeviceOutput(Output):
    """A PortAudio output stream at the device's native rate (no hidden resampling)."""

    def __init__(self, device: int | str | None = None) -> None:
        import sounddevice as sd

        info = sd.query_devices(device, kind="output")
        self.name = str(info["name"])
        self.sample_rate = int(info["default_samplerate"]) or 48000
        self._sd = sd
        self._device = device
        self._stream = None

    def start(self, fill) -> None:
        def callback(outdata, frames, time_info, status):  # audio thread
            fill(outdata[:, 0], frames)

        self._stream = self._sd.OutputStream(
            samplerate=self.sample_rate, channels=1, dtype="float32", device=self._device,
            latency="low", callback=callback)
        self._stream.start()
        self.latency_s = float(self._stream.latency)

    def now(self) -> float:
        return time.monotonic()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


class SilentOutput(Output):
    """Consumes frames in real time on a thread, so the clock moves with no sound card."""

    def __init__(self, reason: str = "", sample_rate: int = 24000, block_s: float = 0.01) -> None:
        self.sample_rate = sample_rate
        self.name = "silent"
        self.available = False
        self.reason = reason
        self._block = max(1, int(sample_rate * block_s))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, fill) -> None:
        buf = np.zeros(self._block, np.float32)

        def run() -> None:
            period = self._block / self.sample_rate
            next_t = time.monotonic()
            while not self._stop.is_set():
                fill(buf, self._block)
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                elif delay < -0.5:  # the process was suspended; don't burst to catch up
                    next_t = time.monotonic()

        self._thread = threading.Thread(target=run, name="verbatim-silent-audio", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)


class ManualSink(Output):
    """For tests: frames are consumed only when `advance(seconds)` is called."""

    def __init__(self, sample_rate: int = 24000) -> None:
        self.sample_rate = sample_rate
        self.name = "manual"
        self.available = False
        self.reason = "test clock"
        self._fill = None
        self._t = 0.0

    def start(self, fill) -> None:
        self._fill = fill

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float, block_s: float = 0.01) -> None:
        block = max(1, int(self.sample_rate * block_s))
        buf = np.zeros(block, np.float32)
        for _ in range(int(round(seconds / block_s))):
            self._t += block_s
            self._fill(buf, block)


def open_output(preference: str | None = None) -> Output:
    """The real device when there is one, else the silent sink with the reason why.

    `VERBATIM_AUDIO_OUTPUT=silent` forces the silent sink (tests, CI, screenshots).
    """
    pref = (preference or os.environ.get("VERBATIM_AUDIO_OUTPUT") or "auto").lower()
    if pref == "silent":
        return SilentOutput("audio output disabled (VERBATIM_AUDIO_OUTPUT=silent)")
    try:
        import sounddevice  # noqa: F401  (raises OSError when PortAudio is missing)

        return DeviceOutput(None if pref in ("auto", "default") else pref)
    except OSError as exc:
        return SilentOutput(f"audio output unavailable: PortAudio library not found ({exc})")
    except Exception as exc:  # sounddevice.PortAudioError: no device, device busy ...
        return SilentOutput(f"audio output unavailable: {exc or 'no output device'}")
