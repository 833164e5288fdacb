"""The transcript's likelihood comes first (docs/verifier.md, rule 13): words scored as written, with their
punctuation, and answers plainly said decided without free decoding.

Real speech (Piper) through the real recognizer; the recognizer is only counted, never faked.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from corpus import build

from app.audio.resample import resample
from app.verify import evidence, judge, language, timing
from app.verify.options import DEFAULT_OPTIONS
from app.verify.voice import SR

TWO = ["Please send me the report before lunch.", "The train was late again this morning."]


def _utterance(sentences, upto=None):
    transcript, pieces = "", []
    for s in sentences:
        if transcript:
            transcript += " "
        pieces.append(("en", s, len(transcript)))
        transcript += s
    audio, marks = build(pieces[:upto], transcript, style=("piper:joe", 1.0))
    return transcript, resample(audio, 22050, 24000), marks


class _Counting:
    """The real recognizer, counting the free decodings a verdict waited for (one started
    ahead on the second worker counts only once its result is asked for)."""

    def __init__(self, verifier, monkeypatch):
        self.decodes = 0
        asr = verifier.load()
        real, real_ahead = asr.decode, asr.decode_ahead

        def decode(*args, **kwargs):
            if not threading.current_thread().name.startswith("verbatim-asr"):
                self.decodes += 1
            return real(*args, **kwargs)

        counting = self

        class Counted:
            def __init__(self, ahead):
                self.ahead = ahead

            def result(self):
                counting.decodes += 1
                return self.ahead.result()

            def cancel(self):
                self.ahead.cancel()

        monkeypatch.setattr(asr, "decode", decode)
        monkeypatch.setattr(asr, "decode_ahead", lambda *a, **k: Counted(real_ahead(*a, **k)))


def test_a_sentence_after_a_full_stop_is_scored_with_it(verifier):
    # Whisper writes "lunch. The": scored without the full stop, "The" fell to ~0.01 in
    # perfectly clean speech and every second sentence looked suspect
    transcript, audio, _ = _utterance(TWO)
    words, _ = verifier._transcript_words(transcript, "en")
    assert [w.written for w in words][6:8] == ["lunch.", "The"]
    asr = verifier.load()
    x = resample(audio.astype(np.float32) / 32768.0, 24000, SR)
    enc, n = asr.encode(x)
    probs = [f.prob for f in asr.force(enc, n, "en", [w.written for w in words])]
    assert probs[7] >= 0.5 and min(probs) >= 0.3, list(zip([w.written for w in words], probs, strict=True))


def test_a_clean_answer_is_decided_without_free_decoding(verifier, monkeypatch):
    counting = _Counting(verifier, monkeypatch)
    transcript, audio, marks = _utterance(TWO)
    report = verifier.verify(transcript, audio, 24000, "en", "es")
    assert report.verdict == "match" and counting.decodes == 0
    # times come from the forced alignment: still in step with the voice's own word marks
    starts = {w.char_start: w.start_s for w in report.words}
    errors = [abs(starts[c] - t) for c, t in marks if starts.get(c) is not None]
    assert len(errors) == len(marks) and np.median(errors) <= 0.08 and max(errors) <= 0.25, errors
    assert all(a.start_s <= b.start_s for a, b in zip(report.words, report.words[1:], strict=False))


def test_the_fast_path_gives_the_full_paths_verdict_and_times(verifier, monkeypatch):
    transcript, audio, _ = _utterance(TWO)
    fast = verifier.verify(transcript, audio, 24000, "en", "es")
    monkeypatch.setattr(judge, "plainly_said", lambda call: False)
    full = verifier.verify(transcript, audio, 24000, "en", "es")
    assert [s.status for s in fast.segments] == [s.status for s in full.segments] == ["ok", "ok"]
    gaps = [abs(a.start_s - b.start_s) for a, b in zip(fast.words, full.words, strict=True)]
    assert max(gaps) <= 0.15, gaps


@pytest.mark.parametrize("upto, expected", [(1, ["ok", "truncated"])])
def test_a_cut_answer_still_gets_free_decoding_and_its_flag(verifier, monkeypatch, upto, expected):
    counting = _Counting(verifier, monkeypatch)
    transcript, audio, _ = _utterance(TWO, upto=upto)
    report = verifier.verify(transcript, audio, 24000, "en", "es")
    assert [s.status for s in report.segments] == expected and counting.decodes >= 1


def _word(text, seg, status="ok", start=None, forced_start=None, forced=0.9):
    from app.text.segments import Span
    from app.verify.normalize import word_tokens

    w = evidence.Word(Span(text, 0, len(text)), seg, word_tokens(text, "pt"), status=status)
    w.start, w.end = start, None if start is None else start + 0.3
    w.forced, w.forced_start = forced, forced_start
    w.forced_end = None if forced_start is None else forced_start + 0.3
    return w


def test_a_foreign_reading_that_only_respells_words_already_said_is_no_drift():
    # the audio stops after "atrasou de": decoded as Spanish the region reads "Atrazouj."
    said = [_word(t, 1) for t in ("O", "trem", "atrasou", "de")]
    cut = [_word(t, 1, status="gap") for t in ("novo", "hoje")]
    assert language.echo("Atrazouj.", said + cut, "pt")
    # a real drift says something the sentence does not have, even next to cognates
    assert not language.echo("O tren llegó tarde otra vez.", said + cut, "pt")
    # and respelling a flagged word is no echo: "Exacto" for the flagged "Exactly"
    flagged = [_word("Exactly", 0, status="sub"), _word("it", 0), _word("used", 0)]
    assert not language.echo("Exacto, it used", flagged, "en")


def test_a_heard_time_far_from_the_forced_alignment_is_replaced():
    # free decoding skipped a drifted sentence and timed "maison" inside it (2.0 s); the forced
    # alignment, which follows the transcript in order, has it where the voice is (4.2 s)
    near = _word("la", 1, start=4.15, forced_start=4.12)
    misplaced = _word("maison", 1, status="sub", start=2.02, forced_start=4.20, forced=0.02)
    timing.retime_misplaced([near, misplaced], DEFAULT_OPTIONS)
    assert near.start == 4.15 and misplaced.start == 4.20


def test_the_language_check_tries_only_languages_an_answer_slips_into(verifier):
    # Kokoro's Japanese voice reading Spanish is "heard" as Japanese: no realtime answer drifts
    # there, so it is not a candidate; the source and the usual languages stay
    call = evidence.Call("", "es", "en", np.zeros(16000, np.float32), np.zeros(100, bool), [], [])
    assert verifier._candidates(call, [("ja", 0.85), ("ko", 0.07)]) == ["es", "en"]
    assert verifier._candidates(call, [("it", 0.6), ("ja", 0.3)]) == ["es", "en", "it"]


def test_decoding_ahead_on_the_second_worker_hears_what_decoding_in_turn_hears(verifier):
    # the verdict must not depend on which worker decoded, nor on the forced pass running meanwhile
    transcript, audio, _ = _utterance(TWO[:1] + ["I am checking the settings now."])
    asr = verifier.load()
    x = resample(audio.astype(np.float32) / 32768.0, 24000, 16000)
    enc, n = asr.encode(x)
    ahead = asr.decode_ahead(enc, n, "en", offset=0.5)
    forced = asr.force(enc, n, "en", transcript.split())
    ahead_result = ahead.result()
    in_turn = asr.decode(enc, n, "en", offset=0.5)
    assert ahead_result.text == in_turn.text and "report" in in_turn.text.lower()
    assert [(w.text, w.start, w.end) for w in ahead_result.words] == [(w.text, w.start, w.end) for w in in_turn.words]
    assert len(forced) == len(transcript.split()) and min(f.prob for f in forced[:3]) > 0.3
