"""The voices Verbatim can speak with offline, and the one entry point `synthesize`."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.languages import get_language
from app.tts import espeak, kokoro_voice, piper_voice
from app.tts.base import Synthesis, TTSError


@dataclass(frozen=True, slots=True)
class Voice:
    id: str            # "piper:joe", "espeak", "espeak:f3" ...
    label: str
    languages: str     # "en" or "*" for every espeak language
    backend: str       # "piper" | "kokoro" | "espeak"
    variant: str = ""  # espeak variant (+f3, +m2 ...)
    pitch: int = 50


VOICES: dict[str, Voice] = {
    v.id: v
    for v in [
        Voice("piper:joe", "Joe (Piper, natural, English only)", "en", "piper"),
        Voice("kokoro:jm_kumo", "Kumo (Kokoro, natural, es/fr/de/it/pt)", "en es fr de it pt", "kokoro", "jm_kumo"),
        Voice("kokoro:jf_gongitsune", "Gongitsune (Kokoro, natural, es/fr/de/it/pt)", "en es fr de it pt",
              "kokoro", "jf_gongitsune"),
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


# ... and for languages Piper does not speak, the natural names onto Kokoro (the rest keep
# their eSpeak NG variant: fast and deterministic, what the engine's tests use)
REALTIME_VOICE_OTHER = {**REALTIME_VOICE_MAP, "alloy": "kokoro:jm_kumo", "cedar": "kokoro:jm_kumo",
                        "coral": "kokoro:jf_gongitsune", "marin": "kokoro:jf_gongitsune"}


def available() -> dict[str, bool]:
    return {"piper": piper_voice.available(), "kokoro": kokoro_voice.available(),
            "espeak": espeak.available()}


def resolve(voice_id: str | None, language: str) -> Voice:
    """Pick the voice to use for `language`: Piper speaks English; the default (Piper) voice
    asked for another language gets Kokoro where it speaks it; espeak is the fallback."""
    lang = get_language(language).code
    table = REALTIME_VOICE_MAP if lang == "en" else REALTIME_VOICE_OTHER
    vid = table.get(voice_id or "", voice_id) or "piper:joe"
    voice = VOICES.get(vid, VOICES["espeak"])
    if voice.backend == "piper" and lang != "en":
        voice = VOICES["kokoro:jm_kumo"]
    if voice.backend == "piper" and not piper_voice.available():
        voice = VOICES["espeak"]
    if voice.backend == "kokoro" and (lang not in kokoro_voice.LANGS or not kokoro_voice.available()):
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
    elif v.backend == "kokoro":
        try:
            out = kokoro_voice.synthesize(text, lang.code, v.variant, speed=speed)
        except TTSError:   # model parts missing or broken: still speak
            v = VOICES["espeak"]
            out = espeak.synthesize(text, lang.espeak, speed=speed, pitch=v.pitch, language=lang.code)
    else:
        out = espeak.synthesize(text, lang.espeak + v.variant, speed=speed, pitch=v.pitch,
                                language=lang.code)
    out.voice = v.id
    return out
