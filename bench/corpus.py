"""A labeled corpus of spoken utterances (no network, deterministic).

Each utterance has a transcript (target language), audio that says it — or says it
with faults (truncated, drifted to another language, both, one word replaced by another
word of the same language) — the expected status of every transcript sentence, and the
voice's own word marks where it reports them (Piper, espeak-ng; Kokoro reports none).
Voices: Piper (English), Kokoro (natural-ish, all six languages) and eSpeak NG.
Used by `bench/verify_bench.py` and by `tests/verify`.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.languages import get_language
from app.tts import espeak
from app.tts.base import Synthesis, TTSError, WordMark

RATE = 22050
PAUSE_S = 0.25

# Parallel sentences: the same thing in each language (so a drift says the same content
# in the "source" language, like a Realtime model falling back to the input language).
PARALLEL: list[dict[str, str]] = [
    {"en": "I am checking the settings now.", "es": "Estoy revisando la configuración ahora.",
     "fr": "Je vérifie les paramètres maintenant.", "de": "Ich prüfe jetzt die Einstellungen.",
     "it": "Sto controllando le impostazioni adesso.", "pt": "Estou verificando as configurações agora."},
    {"en": "The meeting starts at nine tomorrow morning.", "es": "La reunión empieza mañana a las nueve.",
     "fr": "La réunion commence demain à neuf heures.", "de": "Das Treffen beginnt morgen um neun Uhr.",
     "it": "La riunione inizia domani alle nove.", "pt": "A reunião começa amanhã às nove horas."},
    {"en": "Please send me the report before lunch.", "es": "Por favor, envíame el informe antes del almuerzo.",
     "fr": "Envoie-moi le rapport avant le déjeuner, s'il te plaît.", "de": "Bitte schick mir den Bericht vor dem Mittagessen.",
     "it": "Per favore, mandami il rapporto prima di pranzo.", "pt": "Por favor, me envie o relatório antes do almoço."},
    {"en": "The weather is very nice today.", "es": "Hoy hace muy buen tiempo.",
     "fr": "Il fait très beau aujourd'hui.", "de": "Das Wetter ist heute sehr schön.",
     "it": "Oggi il tempo è molto bello.", "pt": "O tempo está muito bom hoje."},
    {"en": "We need to buy more coffee for the office.", "es": "Necesitamos comprar más café para la oficina.",
     "fr": "Nous devons acheter plus de café pour le bureau.", "de": "Wir müssen mehr Kaffee für das Büro kaufen.",
     "it": "Dobbiamo comprare più caffè per l'ufficio.", "pt": "Precisamos comprar mais café para o escritório."},
    {"en": "My brother lives in a small house near the river.", "es": "Mi hermano vive en una casa pequeña cerca del río.",
     "fr": "Mon frère habite dans une petite maison près de la rivière.", "de": "Mein Bruder wohnt in einem kleinen Haus am Fluss.",
     "it": "Mio fratello vive in una piccola casa vicino al fiume.", "pt": "Meu irmão mora numa casa pequena perto do rio."},
    {"en": "The train was late again this morning.", "es": "El tren llegó tarde otra vez esta mañana.",
     "fr": "Le train était encore en retard ce matin.", "de": "Der Zug hatte heute Morgen wieder Verspätung.",
     "it": "Il treno era di nuovo in ritardo stamattina.", "pt": "O trem atrasou de novo hoje de manhã."},
    {"en": "Can you turn the music down a little?", "es": "¿Puedes bajar un poco la música?",
     "fr": "Tu peux baisser un peu la musique?", "de": "Kannst du die Musik etwas leiser machen?",
     "it": "Puoi abbassare un po' la musica?", "pt": "Você pode abaixar um pouco a música?"},
    {"en": "I forgot my keys at home yesterday.", "es": "Ayer olvidé mis llaves en casa.",
     "fr": "J'ai oublié mes clés à la maison hier.", "de": "Ich habe gestern meine Schlüssel zu Hause vergessen.",
     "it": "Ieri ho dimenticato le chiavi a casa.", "pt": "Ontem esqueci minhas chaves em casa."},
    {"en": "The children are playing in the garden.", "es": "Los niños están jugando en el jardín.",
     "fr": "Les enfants jouent dans le jardin.", "de": "Die Kinder spielen im Garten.",
     "it": "I bambini stanno giocando in giardino.", "pt": "As crianças estão brincando no jardim."},
    {"en": "This restaurant serves excellent fresh fish.", "es": "Este restaurante sirve un pescado fresco excelente.",
     "fr": "Ce restaurant sert un excellent poisson frais.", "de": "Dieses Restaurant serviert ausgezeichneten frischen Fisch.",
     "it": "Questo ristorante serve ottimo pesce fresco.", "pt": "Este restaurante serve um peixe fresco excelente."},
    {"en": "We will travel to the mountains next summer.", "es": "Viajaremos a las montañas el próximo verano.",
     "fr": "Nous irons à la montagne l'été prochain.", "de": "Nächsten Sommer reisen wir in die Berge.",
     "it": "La prossima estate andremo in montagna.", "pt": "No próximo verão vamos viajar para as montanhas."},
    {"en": "The ticket costs fifty euros.", "es": "El billete cuesta cincuenta euros.",
     "fr": "Le billet coûte cinquante euros.", "de": "Die Fahrkarte kostet fünfzig Euro.",
     "it": "Il biglietto costa cinquanta euro.", "pt": "O bilhete custa cinquenta euros."},
]
# One word spoken as another word of the same language (what the transcript says -> what the
# audio says): the `misspoken` case ("fifteen" spoken for "fifty").
MISSPEAK: dict[str, dict[str, str]] = {
    "en": {"nine": "five", "lunch": "dinner", "coffee": "paper", "brother": "sister", "late": "early",
           "keys": "shoes", "children": "students", "fish": "chicken", "mountains": "beaches",
           "music": "radio", "fifty": "fifteen", "settings": "messages"},
    "es": {"nueve": "cinco", "almuerzo": "desayuno", "café": "papel", "hermano": "primo", "tarde": "temprano",
           "llaves": "gafas", "niños": "perros", "pescado": "pollo", "montañas": "playas", "música": "radio",
           "cincuenta": "quince", "configuración": "contraseña"},
    "fr": {"neuf": "cinq", "déjeuner": "dîner", "café": "papier", "frère": "cousin", "retard": "avance",
           "clés": "lunettes", "enfants": "chiens", "poisson": "poulet", "montagne": "plage",
           "musique": "radio", "cinquante": "quinze", "paramètres": "messages"},
    "de": {"neun": "fünf", "Mittagessen": "Abendessen", "Kaffee": "Papier", "Bruder": "Onkel",
           "Schlüssel": "Brille", "Kinder": "Hunde", "Fisch": "Salat", "Berge": "Stadt", "Musik": "Heizung",
           "fünfzig": "fünfzehn", "Einstellungen": "Nachrichten"},
    "it": {"nove": "cinque", "pranzo": "cena", "caffè": "carta", "fratello": "cugino", "ritardo": "anticipo",
           "chiavi": "occhiali", "bambini": "cani", "pesce": "pollo", "montagna": "spiaggia",
           "musica": "radio", "cinquanta": "quindici", "impostazioni": "notizie"},
    "pt": {"nove": "cinco", "almoço": "jantar", "café": "papel", "irmão": "primo", "chaves": "óculos",
           "crianças": "pessoas", "peixe": "frango", "montanhas": "praias", "música": "rádio",
           "cinquenta": "quinze", "configurações": "mensagens"},
}
# Openers: a first word that drifts (the seed's "Exacto, it used to work…")
OPENERS: list[dict[str, str]] = [
    {"en": "Exactly,", "es": "Exacto,", "fr": "Exactement,", "de": "Genau,", "it": "Esatto,", "pt": "Exatamente,"},
    {"en": "Of course,", "es": "Por supuesto,", "fr": "Bien sûr,", "de": "Natürlich,", "it": "Certo,", "pt": "Claro,"},
    {"en": "Unfortunately,", "es": "Desafortunadamente,", "fr": "Malheureusement,", "de": "Leider,",
     "it": "Purtroppo,", "pt": "Infelizmente,"},
    {"en": "Thank you,", "es": "Gracias,", "fr": "Merci,", "de": "Danke,", "it": "Grazie,", "pt": "Obrigado,"},
]
ESPEAK_VOICE = {"fr": "fr"}   # the library has no "fr-fr" voice name on some systems


# Voice/speed styles for the benchmark: natural voices (Piper for English, Kokoro for every
# language) and eSpeak NG variants, at three speaking rates.
STYLES = [("piper:joe", 1.0), ("espeak", 1.0), ("espeak:f3", 1.15), ("piper:joe", 0.9), ("espeak:m3", 0.9)]
STYLES_BY_LANG = {
    "en": [("piper:joe", 1.0), ("kokoro:jf_gongitsune", 1.0), ("espeak", 1.0), ("piper:joe", 0.9),
           ("espeak:f3", 1.15)],
    "*": [("kokoro:jm_kumo", 1.0), ("kokoro:jf_gongitsune", 1.0), ("espeak", 1.0), ("kokoro:jm_kumo", 0.9),
          ("espeak:m3", 0.9)],
}
NATURAL = ("piper", "kokoro")
_CACHE = Path(os.environ.get("VERBATIM_CORPUS_CACHE", "/tmp/verbatim-corpus-cache"))


def _cached(key: str, make):
    """Synthesis cached on disk (natural voices cost ~0.7 s per second of speech here)."""
    path = _CACHE / (hashlib.sha1(key.encode()).hexdigest() + ".npz")
    try:
        with np.load(path) as z:
            marks = [WordMark(int(a), int(b), float(c), float(d)) for a, b, c, d in z["marks"]]
            return Synthesis(z["samples"], int(z["rate"]), marks or None, voice=str(z["voice"]))
    except (OSError, KeyError, ValueError):
        pass
    out = make()
    _CACHE.mkdir(parents=True, exist_ok=True)
    marks = np.array([[w.char_start, w.char_end, w.start_s, w.end_s] for w in out.words or []],
                     dtype=np.float64).reshape(-1, 4)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, samples=out.samples, rate=out.sample_rate, marks=marks, voice=out.voice)
    os.replace(tmp, path)
    return out


def speak(text: str, lang: str, style: tuple[str, float] | None = None) -> Synthesis:
    """Speech for `text` in `lang` at 22.05 kHz with word marks; espeak-ng unless a style says."""
    if style is not None:
        from app.audio.resample import resample
        from app.tts import synthesize

        voice, speed = style
        out = _cached(f"{lang}|{voice}|{speed}|{text}",
                      lambda: synthesize(text, lang, voice, speed=speed))   # Piper: English only
        if out.sample_rate != RATE:
            out = Synthesis(resample(out.samples, out.sample_rate, RATE), RATE, out.words, voice=out.voice,
                            language=lang)
        return out
    voice = ESPEAK_VOICE.get(lang, get_language(lang).espeak)
    try:
        return espeak.synthesize(text, voice, language=lang)
    except TTSError:
        return espeak.synthesize(text, lang, language=lang)


@dataclass
class Utterance:
    id: str
    kind: str                      # clean | truncated | drifted | both | misspoken
    language: str
    transcript: str
    audio: np.ndarray
    rate: int
    expected: list[str]            # status per transcript sentence
    marks: list[tuple[int, float]] = field(default_factory=list)  # (transcript char_start, start_s)
    drift_language: str | None = None
    voice: str = "espeak"


def build(pieces: list[tuple[str, str, int | None]], transcript: str,
          pause_s: float = PAUSE_S, style: tuple[str, float] | None = None) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Concatenate speech for (lang, text, transcript offset or None) with pauses.

    Word marks are returned for pieces whose text sits in the transcript at the offset.
    """
    chunks: list[np.ndarray] = []
    marks: list[tuple[int, float]] = []
    t = 0.0
    for lang, text, offset in pieces:
        s = speak(text, lang, style)
        if offset is not None and s.words:
            for w in s.words:
                marks.append((offset + w.char_start, t + w.start_s))
        chunks.append(s.samples)
        t += len(s.samples) / RATE
        gap = np.zeros(int(pause_s * RATE), np.int16)
        chunks.append(gap)
        t += len(gap) / RATE
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16), marks


def _join(sentences: list[str]) -> tuple[str, list[int]]:
    offs, text = [], ""
    for s in sentences:
        if text:
            text += " "
        offs.append(len(text))
        text += s
    return text, offs


def make_utterance(rng: random.Random, kind: str, target: str, drift: str | None,
                   uid: str, n_sentences: int | None = None, style: tuple[str, float] | None = None) -> Utterance:
    n = n_sentences or rng.choice([2, 2, 3])
    idx = rng.sample(range(len(PARALLEL)), n)
    sents = [PARALLEL[i][target] for i in idx]
    expected = ["ok"] * n
    said = list(sents)     # what the audio says for each sentence (misspoken: one word differs)
    if kind == "misspoken":
        subs = MISSPEAK[target]
        able = [k for k in range(n) if any(w.strip(".,?!¿¡") in subs for w in sents[k].split())]
        if not able:
            k = rng.randrange(n)
            idx[k] = len(PARALLEL) - 1 if len(PARALLEL) - 1 not in idx else idx[k]
            sents[k] = said[k] = PARALLEL[idx[k]][target]
            able = [k]
        k = rng.choice(able)
        words = sents[k].split()
        choices = [i for i, w in enumerate(words) if w.strip(".,?!¿¡") in subs]
        wi = rng.choice(choices)
        bare = words[wi].strip(".,?!¿¡")
        words[wi] = words[wi].replace(bare, subs[bare])
        said[k] = " ".join(words)
        expected[k] = "misspoken"
    drift_style = rng.choice(["sentence", "opener"]) if kind in ("drifted", "both") else None
    opener = rng.choice(OPENERS) if drift_style == "opener" else None
    drift_at = None
    if kind in ("drifted", "both"):
        drift_at = rng.randrange(0, n - 1) if kind == "both" else rng.randrange(0, n)
        if opener is not None:
            body = sents[drift_at]
            body = body[0].lower() + body[1:] if target != "de" else body
            sents[drift_at] = f"{opener[target]} {body}"
        expected[drift_at] = "drifted"
    transcript, offs = _join(sents)
    pieces: list[tuple[str, str, int | None]] = []
    cut_from = n
    if kind in ("truncated", "both"):
        lo = (drift_at + 1) if drift_at is not None else 1
        cut_from = rng.randrange(lo, n) if lo < n else n
        for k in range(cut_from, n):
            expected[k] = "truncated"
    partial_words = None
    if kind == "truncated" and rng.random() < 0.4:
        partial_words = True   # the last spoken sentence is cut after half its words
    for k in range(n):
        if k >= cut_from:
            break
        if k == drift_at and drift is not None:
            if opener is not None:
                rest = sents[k][len(opener[target]) + 1:]
                pieces.append((drift, opener[drift], None))
                pieces.append((target, rest, offs[k] + len(opener[target]) + 1))
            else:
                pieces.append((drift, PARALLEL[idx[k]][drift], None))
        else:
            pieces.append((target, said[k], offs[k] if said[k] == sents[k] else None))
    if partial_words and cut_from < n:
        # speak the first half of the first missing sentence: its tail is missing -> truncated
        words = sents[cut_from].split()
        half = " ".join(words[: max(1, len(words) // 2)])
        pieces.append((target, half, offs[cut_from]))
    audio, marks = build(pieces, transcript, style=style)
    return Utterance(uid, kind, target, transcript, audio, RATE, expected, marks, drift,
                     style[0] if style else "espeak")


TARGETS = ("en", "es", "fr", "de", "it", "pt")
KINDS = ("clean", "truncated", "drifted", "both", "misspoken")
# what a target drifts into: the source language the user typed in
DRIFTS = {"en": ["es", "fr", "de", "it", "pt"], "es": ["en", "en", "it"], "fr": ["en", "en", "es"],
          "de": ["en", "en", "fr"], "it": ["en", "en", "es"], "pt": ["en", "en", "es"]}


def make_corpus(n: int = 40, seed: int = 7, voices: str = "mixed") -> list[Utterance]:
    """n utterances: every block of 30 has each kind (clean, truncated, drifted, both,
    misspoken) once for each target (en, es, fr, de, it, pt). `voices`: "mixed" cycles
    natural voices and eSpeak NG (STYLES_BY_LANG); "espeak" uses eSpeak NG only."""
    rng = random.Random(seed)
    out = []
    k = 0
    while len(out) < n:
        kind = KINDS[k % len(KINDS)]
        target = TARGETS[(k // len(KINDS)) % len(TARGETS)]
        block = k // (len(KINDS) * len(TARGETS))
        drifts = DRIFTS[target]
        drift = drifts[(block + k) % len(drifts)] if kind in ("drifted", "both") else None
        styles = STYLES_BY_LANG.get(target, STYLES_BY_LANG["*"])
        style = styles[(block + k // len(KINDS)) % len(styles)] if voices == "mixed" else None
        uid = f"{k:03d}-{kind}-{target}" + (f"-{drift}" if drift else "")
        out.append(make_utterance(rng, kind, target, drift, uid, style=style))
        k += 1
    return out


def long_utterance(seconds: float = 60.0, language: str = "en") -> Utterance:
    """Clean speech of about `seconds` (for the real-time factor)."""
    sents, total = [], 0.0
    i = 0
    while total < seconds:
        s = PARALLEL[i % len(PARALLEL)][language]
        sents.append(s)
        total += len(s) * 0.075 + PAUSE_S
        i += 1
    transcript, offs = _join(sents)
    audio, marks = build([(language, s, o) for s, o in zip(sents, offs, strict=False)], transcript)
    while len(audio) / RATE < seconds * 0.95 and i < 200:
        s = PARALLEL[i % len(PARALLEL)][language]
        sents.append(s)
        i += 1
        transcript, offs = _join(sents)
        audio, marks = build([(language, s, o) for s, o in zip(sents, offs, strict=False)], transcript)
    return Utterance("long", "clean", language, transcript, audio, RATE, ["ok"] * len(sents), marks)
