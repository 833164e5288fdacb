"""The voices Verbatim can speak with offline, and the one entry point `synthesize`."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.languages import get_language
from app.tts import espeak, piper_voice
from app.tts.base import Synthesis, TTSError


@dataclass(frozen=True, slots=True)
class Voice:
    id: str            # "piper:joe", "espeak", "espeak:f3" ...
    label: str
    languages: str     # "en" or "*" for every espeak language
    backend: str       # "piper" | "espeak"
    variant: str = ""  # espeak variant (+f3, +m2 ...)
    pitch: int = 50


VOICES: dict[str, Voice] = {
    v.id: v
    for v in [
        Voice("piper:joe", "Joe (Piper, natural, English only)", "en", "piper"),
        Voice("espeak", "eSpeak NG default", "*", "espeak"),
        Voice("espeak:f3", "eSpeak NG female", "*", "espeak", "+f3", 60),
        Voice("espeak:m3", "eSpeak NG male, deeper", "*", "espeak", "+m3", 40),
        Voice("espeak:f5", "eSpeak NG female, brighter", "*", "espeak", "+f5", 65),
    ]
}

# Realtime API voice names map onto local voices so requests naming them still work.
REALTIME_VOICE_MAP = {
    "alloy": "piper:joe", "ash": "espeak:m3", "ballad": "espeak", "coral": "espeak:f3",
    "echo": "espeak:m3", "sage": "espeak:f5", "shimmer": "espeak:f3", "verse": "espeak",
    "marin": "espeak:f3", "cedar": "piper:joe",
}


def available() -> dict[str, bool]:
    return {"piper": piper_voice.available(), "espeak": espeak.available()}


def resolve(voice_id: str | None, language: str) -> Voice:
    """Pick the voice to use for `language`; a voice that cannot speak it falls back to espeak."""
    vid = REALTIME_VOICE_MAP.get(voice_id or "", voice_id) or "piper:joe"
    voice = VOICES.get(vid, VOICES["espeak"])
    lang = get_language(language).code
    if voice.backend == "piper" and (lang != "en" or not piper_voice.available()):
        voice = VOICES["espeak"]
    return voice


def synthesize(text: str, language: str, voice: str | None = None, *, speed: float = 1.0) -> Synthesis:
    """Speak `text` in `language`. Word marks (when known) index `text`."""
    if not text or not text.strip():
        raise TTSError("nothing to say: the text is empty")
    lang = get_language(language)
    v = resolve(voice, lang.code)
    if v.backend == "piper":
        out = piper_voice.synthesize(text, speed=speed, language=lang.code)
    else:
        out = espeak.synthesize(text, lang.espeak + v.variant, speed=speed, pitch=v.pitch,
                                language=lang.code)
    out.voice = v.id
    return out
