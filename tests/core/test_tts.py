import numpy as np
import pytest

from app.text import split_words
from app.tts import TTSError, synthesize


def voiced_fraction(samples, rate, t0, t1):
    seg = samples[int(t0 * rate):int(t1 * rate)].astype(float)
    return float(np.sqrt(np.mean(seg ** 2))) if len(seg) else 0.0


@pytest.mark.parametrize("lang,voice", [("en", "espeak"), ("es", "espeak"), ("de", "espeak:m3")])
def test_espeak_speaks_with_word_marks_inside_the_audio(lang, voice):
    text = {"en": "Yes, I found it.", "es": "Envíalo por favor.", "de": "Guten Morgen, Welt."}[lang]
    s = synthesize(text, lang, voice)
    assert s.sample_rate == 22050 and 0.5 < s.duration_s < 5
    assert s.words, "espeak-ng should report word boundaries"
    starts = [w.start_s for w in s.words]
    assert starts == sorted(starts) and starts[-1] < s.duration_s
    for w in s.words:
        assert 0 <= w.char_start < w.char_end <= len(text)
        assert voiced_fraction(s.samples, s.sample_rate, w.start_s, w.end_s) > 300  # speech, not silence


def test_piper_voice_gives_one_mark_per_word():
    text = "I'm checking. Yes, I found it."
    s = synthesize(text, "en", "piper:joe")
    assert s.voice == "piper:joe" and s.duration_s > 1.0
    assert s.words is not None and len(s.words) == len(split_words(text))
    assert [text[w.char_start:w.char_end] for w in s.words] == [w.text for w in split_words(text)]


def test_other_languages_get_kokoro_and_espeak_stays_the_fallback():
    from app.tts.voices import resolve

    # the default (Piper) voice and Realtime voice names speak es/fr/de/it/pt with Kokoro
    s = synthesize("Hola, buenos días.", "es", "piper:joe")
    assert s.voice == "kokoro:jm_kumo" and s.sample_rate == 24000 and s.duration_s > 0.5
    assert np.sqrt(np.mean(s.samples.astype(float) ** 2)) > 300      # speech, not silence
    assert resolve("coral", "fr").id == "kokoro:jf_gongitsune"
    assert resolve(None, "en").id == "piper:joe"                      # Piper stays English
    assert resolve("espeak", "es").id == "espeak"                     # chosen espeak stays espeak
    assert resolve("piper:joe", "nl").id == "espeak"                  # languages Kokoro lacks
    assert resolve("kokoro:jm_kumo", "nl").id == "espeak"


def test_empty_text_and_unknown_language_are_refused():
    with pytest.raises(TTSError):
        synthesize("   ", "en")
    with pytest.raises(ValueError):
        synthesize("hello", "xx")


def test_resampled_synthesis_keeps_word_times():
    s = synthesize("Good morning.", "en", "espeak")
    r = s.at_rate(24000)
    assert r.sample_rate == 24000 and abs(r.duration_s - s.duration_s) < 0.01 and r.words == s.words
