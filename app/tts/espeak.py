"""espeak-ng through its C library, for the word events (exact word start samples).

The command line cannot report where each word lands in the audio; the library's
synthesis callback can. espeak-ng keeps global state, so every call holds one lock.
Falls back to the `espeak-ng` command (no word times) when only the binary exists.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading

import numpy as np

from app.tts.base import Synthesis, TTSError, WordMark, trim_word_ends

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_EV_LIST_TERMINATED, _EV_WORD = 0, 1
_RATE, _PITCH = 1, 3


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


def _library_path() -> str:
    """The system libespeak-ng by its full path. Loaded by bare name, dlopen hands back any
    copy already loaded under the same soname, such as the private one Kokoro's phonemizer
    loads with its own data and a phoneme-only callback: our synthesis then lost its word
    events and voices."""
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    if os.sep in name:
        return name
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=5,
                             env={**os.environ, "PATH": os.environ.get("PATH", "") + ":/sbin:/usr/sbin"}).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        if line.strip().startswith(name + " ") and "=>" in line:
            path = line.split("=>", 1)[1].strip()
            if os.path.isfile(path):
                return path
    for folder in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                   "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return name


class _Library:
    def __init__(self) -> None:
        self.lib = ctypes.CDLL(_library_path())
        self.lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_DONT_EXIT)
        if self.rate <= 0:
            raise OSError("espeak_Initialize failed (espeak-ng-data missing?)")
        self._chunks: list[bytes] = []
        self._events: list[tuple[int, int, int]] = []
        self._callback = _CALLBACK(self._on_synth)  # kept alive: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, count, events) -> int:
        if count > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EV_WORD and ev.length > 0:
                self._events.append((ev.text_position - 1, ev.length, ev.sample))
            i += 1
        return 0

    def synth(self, text: str, voice: str, wpm: int, pitch: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise TTSError(f"espeak-ng has no voice {voice!r}")
        self.lib.espeak_SetParameter(_RATE, int(wpm), 0)
        self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)
        self.lib.espeak_Synth(buf, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        pcm = np.frombuffer(b"".join(self._chunks), dtype=np.int16).copy()
        return pcm, list(self._events)


_lock = threading.Lock()
_library: _Library | None = None
_library_error: str | None = None


def _get_library() -> _Library | None:
    global _library, _library_error
    if _library is None and _library_error is None:
        try:
            _library = _Library()
        except OSError as exc:
            _library_error = str(exc)
    return _library


def available() -> bool:
    with _lock:
        return _get_library() is not None or shutil.which("espeak-ng") is not None


def synthesize(text: str, voice: str = "en-us", *, speed: float = 1.0, pitch: int = 50,
               language: str = "") -> Synthesis:
    """Speak `text`; word marks index `text` itself."""
    wpm = max(80, min(450, round(165 * speed)))
    with _lock:
        lib = _get_library()
        if lib is not None:
            pcm, events = lib.synth(text, voice, wpm, pitch)
            rate = lib.rate
        else:
            pcm, events, rate = _synth_cli(text, voice, wpm, pitch), [], 22050
    words = None
    if events:
        starts = [max(0, s) / rate for _, _, s in events]
        ends = trim_word_ends(pcm, rate, starts, len(pcm) / rate)
        words = [WordMark(p, min(len(text), p + n), st, en)
                 for (p, n, _), st, en in zip(events, starts, ends, strict=False)]
    return Synthesis(pcm, rate, words, voice=f"espeak:{voice}", language=language)


def _synth_cli(text: str, voice: str, wpm: int, pitch: int) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise TTSError("espeak-ng is not installed (apt install espeak-ng)")
    # The text goes in on stdin, never as an argument: "-f/some/file" would be read as an option.
    out = subprocess.run([exe, "-v", voice, "-s", str(wpm), "-p", str(pitch), "-b", "1", "--stdout", "--stdin"],
                         input=text.encode("utf-8"), capture_output=True, check=False, timeout=120)
    if out.returncode != 0:
        raise TTSError(f"espeak-ng failed: {out.stderr.decode(errors='replace').strip()}")
    from app.audio.wavfile import read_wav

    pcm, _ = read_wav(out.stdout)
    return pcm
