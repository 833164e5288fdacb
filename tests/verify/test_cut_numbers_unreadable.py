"""A sentence cut half-way, numbers written in words, and voices the recognizer cannot read.

Real speech (Kokoro, eSpeak NG) through the real recognizer, as pcm16 and G.711; no mocks.
"""

from __future__ import annotations

import pytest
from corpus import build

from app.audio.codecs import decode, encode, get_format
from app.audio.resample import resample
from app.verify.normalize import word_tokens


def _as(audio, fmt: str):
    if fmt == "pcm16":
        return resample(audio, 22050, 24000), 24000
    f = get_format(fmt)
    return decode(encode(resample(audio, 22050, f.sample_rate), f), f), f.sample_rate


@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw"])
def test_a_sentence_cut_half_way_is_truncated_not_misspoken(verifier, fmt):
    # the audio stops after "Ayer olvidé mis": free decoding hears "Ayer obvide mis." and the
    # written "llaves en casa" score ~0 with no voice left to say them -> cut, not misspoken
    first, second = "Estoy revisando la configuración ahora.", "Ayer olvidé mis llaves en casa."
    transcript = f"{first} {second}"
    audio, _ = build([("es", first, 0), ("es", "Ayer olvidé mis", len(first) + 1)], transcript,
                     style=("kokoro:jf_gongitsune", 1.0))
    pcm, rate = _as(audio, fmt)
    report = verifier.verify(transcript, pcm, rate, "es", "en")
    assert [s.status for s in report.segments] == ["ok", "truncated"], [
        (s.status, s.heard) for s in report.segments]
    assert [w.text for w in report.words if w.status == "missing"][-2:] == ["en", "casa"]


@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw"])
@pytest.mark.parametrize("lang,source,first,second,said", [
    ("pt", "es", "Este restaurante serve um peixe fresco excelente.", "O trem atrasou de novo hoje de manhã.",
     "O trem atrasou de"),
    ("fr", "de", "Ce restaurant sert un excellent poisson frais.", "J'ai oublié mes clés à la maison hier.",
     "J'ai oublié mes clés"),
])
def test_the_last_words_before_a_cut_are_not_a_drift(verifier, fmt, lang, source, first, second, said):
    # the last syllables before the audio stops decode as anything ("atrasou de" as Spanish
    # "Hazouji", "oublié mes clés" as German): only Whisper's language ID hearing that
    # language there makes them a drift; here it does not, so the sentence is cut
    transcript = f"{first} {second}"
    audio, _ = build([(lang, first, 0), (lang, said, len(first) + 1)], transcript, style=("kokoro:jm_kumo", 1.0))
    pcm, rate = _as(audio, fmt)
    report = verifier.verify(transcript, pcm, rate, lang, source)
    assert [s.status for s in report.segments] == ["ok", "truncated"], [
        (s.status, s.heard, s.heard_language) for s in report.segments]


def test_number_words_normalise_like_the_digits_whisper_writes():
    assert word_tokens("cinquenta", "pt") == word_tokens("50", "pt") == ["50"]


@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw"])
def test_a_number_said_in_words_is_not_flagged(verifier, fmt):
    # Whisper writes "50" and scores the written "cinquenta" near 0; as "50" it scores well
    sentences = ["Precisamos comprar mais café para o escritório.", "O bilhete custa cinquenta euros."]
    transcript = " ".join(sentences)
    audio, _ = build([("pt", sentences[0], 0), ("pt", sentences[1], len(sentences[0]) + 1)], transcript,
                     style=("kokoro:jm_kumo", 1.0))
    pcm, rate = _as(audio, fmt)
    report = verifier.verify(transcript, pcm, rate, "pt", "es")
    assert report.verdict == "match", [(s.status, s.heard, s.heard_language) for s in report.segments]


def test_a_different_number_is_still_misspoken(verifier):
    # the digits pass must not excuse a number heard as another number: "15" heard for
    # "fifty" scores 0.26 as "50" (0.04 as written), which would read as a mishearing
    sentences = ["I am checking the settings now.", "The meeting starts at nine tomorrow morning.",
                 "The ticket costs fifty euros."]
    transcript = " ".join(sentences)
    said = sentences[:2] + ["The ticket costs fifteen euros."]
    audio, _ = build([("en", s, None) for s in said], transcript, style=("espeak", 1.0))
    pcm, rate = _as(audio, "pcm16")
    report = verifier.verify(transcript, pcm, rate, "en", "de")
    assert [s.status for s in report.segments] == ["ok", "ok", "misspoken"], [
        (s.status, s.heard) for s in report.segments]


def test_a_voice_the_recognizer_cannot_read_is_not_called_misspoken(verifier):
    # eSpeak Portuguese over G.711: "me envie o relatório" heard "mim, eu era", no two written
    # words in a row score well and the language ID names no other usual language: the voice
    # cannot be read, which is no evidence that a word was replaced
    sentences = ["A reunião começa amanhã às nove horas.", "Por favor, me envie o relatório antes do almoço."]
    transcript = " ".join(sentences)
    audio, _ = build([("pt", sentences[0], 0), ("pt", sentences[1], len(sentences[0]) + 1)], transcript,
                     style=("espeak:m3", 0.9))
    pcm, rate = _as(audio, "g711_ulaw")
    report = verifier.verify(transcript, pcm, rate, "pt", "de")
    assert report.verdict == "match", [(s.status, s.heard, s.heard_language) for s in report.segments]


def test_an_unreadable_drift_into_the_source_language_is_still_drifted(verifier):
    # the same rule must not hide a drift: Italian text, the first sentence spoken in Spanish
    # (the source language), the rest cut; Whisper's language ID calls it Latin
    sentences = ["Ieri ho dimenticato le chiavi a casa.", "Questo ristorante serve ottimo pesce fresco.",
                 "Il treno era di nuovo in ritardo stamattina."]
    transcript = " ".join(sentences)
    audio, _ = build([("es", "Ayer olvidé mis llaves en casa.", None)], transcript, style=("kokoro:jm_kumo", 1.0))
    pcm, rate = _as(audio, "pcm16")
    report = verifier.verify(transcript, pcm, rate, "it", "es")
    assert [s.status for s in report.segments] == ["drifted", "truncated", "truncated"]
    assert report.segments[0].heard_language == "es"


@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw"])
def test_an_answer_said_wholly_in_the_source_language_is_drifted_not_missing(verifier, fmt):
    # the whole audio is the first sentence in English, for a Portuguese transcript: no word
    # matches, but the voice is saying something -> the first sentence was said another way
    # (drifted), and only the second is missing
    sentences = ["Estou verificando as configurações agora.", "O tempo está muito bom hoje."]
    transcript = " ".join(sentences)
    audio, _ = build([("en", "I am checking the settings now.", None)], transcript, style=("kokoro:jm_kumo", 1.0))
    pcm, rate = _as(audio, fmt)
    report = verifier.verify(transcript, pcm, rate, "pt", "en")
    assert [s.status for s in report.segments] == ["drifted", "truncated"], [
        (s.status, s.heard, s.heard_language) for s in report.segments]
    assert report.segments[0].heard_language == "en"
