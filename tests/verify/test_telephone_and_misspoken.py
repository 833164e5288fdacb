"""Verdicts on telephone audio (G.711 8 kHz), one-word substitutions and non-English answers.

Real speech (espeak-ng, Piper, Kokoro) through the real recognizer; no mocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from corpus import build

from app.audio.codecs import decode, encode, get_format
from app.audio.resample import resample
from tests.helpers.speech import fresh_espeak

SEED = Path(__file__).resolve().parents[2] / "resources" / "seed-cases.json"
_DATA = json.loads(SEED.read_text())
CASES = _DATA["cases"]
SOURCE = _DATA["source_language"]
CLEAN = ["Please send me the report before lunch.", "We need to buy more coffee for the office.",
         "My brother lives in a small house near the river."]


def telephone(audio: np.ndarray, rate: int, fmt: str) -> tuple[np.ndarray, int]:
    """What a G.711 session delivers: 8 kHz, companded, decoded back to int16."""
    f = get_format(fmt)
    return decode(encode(resample(audio, rate, f.sample_rate), f), f), f.sample_rate


def _pieces(sentences, lang="en"):
    transcript, pieces = "", []
    for s in sentences:
        if transcript:
            transcript += " "
        pieces.append((lang, s, len(transcript)))
        transcript += s
    return transcript, pieces


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_seed_cases_over_g711(verifier, case, fmt):
    # natural voices as in the report (a Realtime voice over a telephone codec): Piper for the
    # English, Kokoro for the Spanish the model drifted into
    audio, _ = build([(lang, text, None) for lang, text in case["spoken"]], case["transcript"],
                     style=("piper:joe", 1.0))
    pcm, rate = telephone(audio, 22050, fmt)
    report = verifier.verify(case["transcript"], pcm, rate, "en", SOURCE)
    # Only what holds on every CPU is asserted. "Okay, much better." over A-law sits on a knife
    # edge (bench/verdict_matrix.py): its Spanish reading clears the drift bar by 0.14 on AVX2
    # and Whisper's ear hears English first on GENERIC, so that sentence may go either way
    # there; every other sentence, and every fault, must come out exactly
    edge = {3} if case["id"] == "truncated-1" and fmt == "g711_alaw" else set()
    got = [(s.index, s.status) for s in report.segments if s.index not in edge]
    want = [(i, e) for i, e in enumerate(case["expected"]) if i not in edge]
    assert got == want, [(s.status, s.confidence, s.heard, s.heard_language) for s in report.segments]
    assert len(report.segments) == len(case["expected"]) and report.verdict == "mismatch"
    for seg in report.segments:
        if seg.flagged and seg.status == "drifted":
            assert seg.heard_language == "es"


@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw"])
@pytest.mark.parametrize("voice", ["espeak", "piper:joe"])
def test_clean_three_sentences_match_in_both_formats(verifier, fmt, voice):
    transcript, pieces = _pieces(CLEAN)
    audio, _ = build(pieces, transcript, style=None if voice == "espeak" else (voice, 1.0))
    if fmt == "pcm16":
        pcm, rate = resample(audio, 22050, 24000), 24000
    else:
        pcm, rate = telephone(audio, 22050, fmt)
    report = verifier.verify(transcript, pcm, rate, "en", SOURCE)
    assert report.verdict == "match", [(s.status, s.heard) for s in report.segments]
    assert all(w.status == "ok" and w.start_s is not None for w in report.words)


@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw"])
def test_one_word_substitution_is_misspoken(verifier, fmt):
    transcript = "The ticket costs fifty euros. Please send me the report before lunch."
    audio, _ = build([("en", "The ticket costs fifteen euros.", None),
                      ("en", "Please send me the report before lunch.", None)], transcript,
                     style=("piper:joe", 1.0))
    pcm, rate = (resample(audio, 22050, 24000), 24000) if fmt == "pcm16" else telephone(audio, 22050, fmt)
    report = verifier.verify(transcript, pcm, rate, "en", SOURCE)
    assert [s.status for s in report.segments] == ["misspoken", "ok"], [
        (s.status, s.heard, s.heard_language) for s in report.segments]
    assert report.segments[0].heard_language is None
    assert [w.text for w in report.words if w.status == "misspoken"] == ["fifty"]


# One word said as another (Kokoro's jm_kumo voice, the user typed English): free decoding
# leaves the word unheard or hears another, the language check then reads the region in
# English more fluently than in the target (evidence over the drift bar, -0.15), and only
# rule 22 (reads_as_spoken: the English reading must read as English to the text detector,
# DRIFT_TEXT 0.3, or Whisper's ear must hear English first at EAR_SURE 0.6) keeps it misspoken.
# Measured over bench/verdict_matrix.py's cells (CT2_FORCE_CPU_ISA AVX2/AVX/GENERIC with
# oneDNN capped alike; CT2_USE_MKL=1, what an Intel CPU runs; ±1 LSB dither seeds 0-2; 1 and 2
# threads gave identical values wherever both ran), first sentence of each case:
#   pt café->papel, μ-law: English "Nice, paper or parouille." (MKL: "paper, parouille"); text 0.266,
#     ear ≤ 0.08, evidence 0.48..2.31 -> misspoken in all 24 cells
#   fr clés->lunettes at 0.9, μ-law: "Melunat ala"; text 0.03, ear ≤ 0.02, evidence
#     -0.07..3.80 -> misspoken in all 12 (one of them by the plainly-misspoken shortcut)
#   fr clés->lunettes at 0.9, pcm16: "Melunat alam"; text 0.21, ear ≤ 0.05, evidence
#     0.36..0.67 -> misspoken, but ok on AVX with dither (the word's likelihood, not rule 22)
# All sit clear of the ear bar and, but for one MKL cell (+0.08), well over the drift bar; the
# English reading is a greedy decode, so a CPU not measured may read one case otherwise: two of
# the three must come out misspoken. With rule 22 removed at least two read as drifted into
# English in every cell, and the test fails (checked on AVX2, AVX, GENERIC and MKL).
_GIBBERISH = [
    ("pt", "Precisamos comprar mais café para o escritório.", "Precisamos comprar mais papel para o escritório.",
     "O trem atrasou de novo hoje de manhã.", 1.0, "g711_ulaw"),
    ("fr", "J'ai oublié mes clés à la maison hier.", "J'ai oublié mes lunettes à la maison hier.",
     "Le train était encore en retard ce matin.", 0.9, "g711_ulaw"),
    ("fr", "J'ai oublié mes clés à la maison hier.", "J'ai oublié mes lunettes à la maison hier.",
     "Le train était encore en retard ce matin.", 0.9, "pcm16"),
]


def test_a_substituted_word_whose_other_language_reading_is_gibberish_is_misspoken(verifier):
    # (the single case this test had, Kokoro's "fünfzehn" for "fünfzig", sat on the line: read
    # "it 5.5.5" in English where it was written, "That's it." (English to the text detector,
    # 0.998) on this AMD EPYC, Whisper's ear on English 0.53-0.66 across CPUs around EAR_SURE,
    # and ±1 LSB of dither turned "Fahrkarte" into a flagged word, widening the region to a
    # reading of "You": drifted in 16 of 24 cells, misspoken in 8)
    firsts = []
    for lang, written, said, second, speed, fmt in _GIBBERISH:
        transcript, _ = _pieces([written, second], lang)
        audio, _ = build([(lang, said, None), (lang, second, None)], transcript, style=("kokoro:jm_kumo", speed))
        pcm, rate = (resample(audio, 22050, 24000), 24000) if fmt == "pcm16" else telephone(audio, 22050, fmt)
        seg = verifier.verify(transcript, pcm, rate, lang, "en").segments[0]
        firsts.append((seg.status, seg.heard, seg.heard_language))
    assert sum(status == "misspoken" and heard is None for status, _, heard in firsts) >= 2, firsts


@pytest.mark.parametrize("lang,sentences", [
    ("es", ["Hoy hace muy buen tiempo.", "Los niños están jugando en el jardín."]),
    ("fr", ["Je vérifie les paramètres maintenant.", "Tu peux baisser un peu la musique?"]),
])
def test_non_english_clean_answer_matches(verifier, lang, sentences):
    # the local engine's non-English voice (Kokoro), as pcm16 and as G.711
    transcript, pieces = _pieces(sentences, lang)
    audio, _ = build(pieces, transcript, style=("kokoro:jm_kumo", 1.0))
    for pcm, rate in [(resample(audio, 22050, 24000), 24000), telephone(audio, 22050, "g711_ulaw")]:
        report = verifier.verify(transcript, pcm, rate, lang, "en")
        assert report.verdict == "match", (rate, [(s.status, s.heard) for s in report.segments])


def test_packaged_tokenizer_encodes_words_as_whisper_writes_them(verifier):
    # the packaged model lost GPT-2's first merge ("Ġ t"): " the" became [" ", "the"]
    tok = verifier.load().tokenizer("en")
    assert len(tok.encode(" the")) == 1 and len(tok.encode(" to")) == 1
    assert tok.decode(tok.encode(" the report")) == " the report"


def test_forced_likelihood_separates_said_from_unsaid_words(verifier):
    from app.verify.verifier import SR

    said = "Please send me the report before lunch."
    audio, _ = build([("en", said, 0)], said, style=("piper:joe", 1.0))
    asr = verifier.load()
    x = resample(audio.astype(np.float32) / 32768.0, 22050, SR)
    enc, n = asr.encode(x)
    words = (said + " We need to buy more coffee.").split()
    scored = asr.force(enc, n, "en", words)
    probs = [f.prob for f in scored]
    assert min(probs[1:7]) >= 0.5, probs          # said (the first word of an utterance dips)
    # never said (the audio ended): a run near zero; a word the text predicts ("to" after
    # "need") may still score on the language model alone
    assert np.mean(probs[7:]) <= 0.15 and sum(p < 0.05 for p in probs[7:]) >= 4, probs
    assert all(f.start <= g.start for f, g in zip(scored[:7], scored[1:7], strict=False))


@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw"])
@pytest.mark.parametrize("voice", ["espeak", "piper:joe"])
def test_a_foreign_address_read_by_an_english_voice_is_not_flagged(verifier, fmt, voice):
    # an English voice reads "soporte @ miempresa.com" its own way and the recognizer spells
    # what it heard ("support at meepersad.com"): no evidence of a slip, so no paid re-voice
    transcript, pieces = _pieces(["Please send it to soporte @ miempresa.com.", "That’s the best one."])
    if voice == "espeak":   # this case sits near the line: speak it from a fresh state
        audio = fresh_espeak([("en", transcript)], pause_s=0, wpm=175)
    else:
        audio, _ = build(pieces, transcript, style=(voice, 1.0))
    pcm, rate = (resample(audio, 22050, 24000), 24000) if fmt == "pcm16" else telephone(audio, 22050, fmt)
    report = verifier.verify(transcript, pcm, rate, "en", SOURCE)
    assert report.verdict == "match", [(s.status, s.heard) for s in report.segments]


def test_a_drift_around_an_address_is_still_flagged(verifier):
    transcript, _ = _pieces(["Please send it to soporte @ miempresa.com.", "That’s the best one."])
    audio, _ = build([("es", "Envíalo por favor a soporte arroba miempresa punto com.", 0),
                      ("en", "That’s the best one.", 43)], transcript)
    report = verifier.verify(transcript, audio, 22050, "en", SOURCE)
    assert report.segments[0].status == "drifted" and report.segments[0].heard_language == "es"
    assert report.segments[1].status == "ok"


def test_a_lead_in_said_in_the_source_language_is_a_drift_even_when_whisper_misses_it(verifier):
    # Piper's English voice says "Danke," for "Thank you,": Whisper's language ID hears no
    # German there and the decoders' comparison is unsure, but free decoding, forced to
    # English, wrote a German word ("Danker") -> the lead-in was said in the source language
    sentences = ["The weather is very nice today.", "I am checking the settings now.",
                 "Thank you, the train was late again this morning."]
    transcript, pieces = _pieces(sentences)
    said = pieces[:2] + [("de", "Danke,", None), ("en", "the train was late again this morning.", None)]
    audio, _ = build(said, transcript, style=("piper:joe", 1.0))
    report = verifier.verify(transcript, resample(audio, 22050, 24000), 24000, "en", "de")
    assert [s.status for s in report.segments] == ["ok", "ok", "drifted"], [
        (s.status, s.heard, s.heard_language) for s in report.segments]
    assert report.segments[2].heard_language == "de"
    words = [w for w in report.words if w.char_start >= report.segments[2].char_start]
    assert words[0].status == "drifted" and all(w.status == "ok" for w in words[2:])   # "the train was…" as written


def test_a_sentence_whisper_translates_back_into_the_target_is_still_a_drift(verifier):
    # English said for the Portuguese sentence (Kokoro at 0.9 speed), over 8 kHz: free decoding, made to write
    # Portuguese, translates it ("Nós precisamos comprar mais café"), Whisper's ear half-hears
    # English (second, 0.35) and the English reading is far more fluent (bench 297)
    written = ["O trem atrasou de novo hoje de manhã.", "Precisamos comprar mais café para o escritório."]
    transcript, _ = _pieces(written, "pt")
    audio, _ = build([("pt", written[0], None), ("en", "We need to buy more coffee for the office.", None)],
                     transcript, style=("kokoro:jm_kumo", 0.9))
    pcm, rate = telephone(audio, 22050, "g711_ulaw")
    report = verifier.verify(transcript, pcm, rate, "pt", "en")
    assert [(s.status, s.heard_language) for s in report.segments] == [("ok", None), ("drifted", "en")], [
        (s.status, s.heard, s.heard_language) for s in report.segments]
