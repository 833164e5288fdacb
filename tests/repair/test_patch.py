"""The patch strategy splices exact speech into the original audio at the right places."""

import asyncio

import numpy as np

from app.audio.resample import resample
from app.core.report import Report, SegmentResult, WordResult
from app.repair.patch import flagged_fraction, patch_audio
from app.repair.speech import RATE, LocalSpeech
from app.text import split_sentences, split_words
from app.tts import synthesize


class CountingSpeech(LocalSpeech):
    def __init__(self):
        self.calls = []
        self.spoken = []      # what each call returned: espeak-ng's length varies a little per call

    async def speak(self, text, language, voice=None):
        self.calls.append(text)
        out = await super().speak(text, language, voice)
        self.spoken.append(out)
        return out


def speak(text, lang="en"):
    s = synthesize(text, lang, "espeak")
    return resample(s.samples, s.sample_rate, RATE)


def report_for(transcript, statuses, times, duration):
    segs = split_sentences(transcript)
    seg_results = [SegmentResult(i, s.text, s.start, s.end, st, *(times[i] or (None, None)))
                   for i, (s, st) in enumerate(zip(segs, statuses, strict=False))]
    words = []
    for i, s in enumerate(segs):
        for w in split_words(transcript, s.start, s.end):
            status = "ok" if statuses[i] == "ok" else ("missing" if times[i] is None else "drifted")
            words.append(WordResult(w.text, w.start, w.end, status))
    verdict = "match" if all(st == "ok" for st in statuses) else "mismatch"
    return Report(verdict, "en", duration, seg_results, words)


def test_missing_last_sentence_is_appended_after_the_spoken_part():
    transcript = "One moment, brief pause. I did not know that existed."
    first = speak("One moment, brief pause.")
    original = np.concatenate([first, np.zeros(RATE // 2, np.int16)])   # trailing silence
    end1 = len(first) / RATE
    report = report_for(transcript, ["ok", "truncated"], [(0.0, end1), None], len(original) / RATE)
    speech = CountingSpeech()
    out = asyncio.run(patch_audio(original, report, transcript, speech, "en", "espeak"))
    assert speech.calls == ["I did not know that existed."]
    second = speech.spoken[0]           # the very audio the patch spliced in
    # original speech kept, its trailing silence dropped, new sentence added after a short gap
    # first + 40 ms margin + gap + second + gap; the 0.5 s trailing silence is gone
    assert abs(len(out) - (len(first) + len(second) + 0.28 * RATE)) < 0.03 * RATE
    assert np.array_equal(out[1000:len(first) - 1000], first[1000:len(first) - 1000])


def test_drifted_sentence_span_is_replaced_and_the_rest_kept():
    transcript = "Exactly, it works. That is the best one."
    drift = speak("Exacto, funciona.", "es")
    tail = speak("That is the best one.")
    original = np.concatenate([drift, np.zeros(2400, np.int16), tail])
    d = len(drift) / RATE
    report = report_for(transcript, ["drifted", "ok"], [(0.0, d), (d + 0.1, len(original) / RATE)],
                        len(original) / RATE)
    speech = CountingSpeech()
    out = asyncio.run(patch_audio(original, report, transcript, speech, "en", "espeak"))
    assert speech.calls == ["Exactly, it works."]
    # the untouched tail is still at the end of the new audio
    assert np.array_equal(out[-len(tail) + 2000:], tail[2000:])
    assert flagged_fraction(report) == 3 / 8


def test_no_clicks_at_the_joins():
    transcript = "Hello there. Goodbye now."
    first = speak("Hello there.")
    report = report_for(transcript, ["ok", "truncated"], [(0.0, len(first) / RATE), None], len(first) / RATE)
    out = asyncio.run(patch_audio(first, report, transcript, LocalSpeech(), "en", "espeak"))
    jumps = np.abs(np.diff(out.astype(np.int32)))
    assert jumps.max() < 20000
