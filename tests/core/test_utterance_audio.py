import numpy as np

from app.core.utterance import Utterance


def chunk(start, n):
    return (np.arange(start, start + n) % 30000).astype(np.int16)


def test_append_audio_keeps_every_sample_in_order():
    u = Utterance("Hi", "en", "es")
    want = []
    pos = 0
    for n in [1, 2400, 0, 7, 48000, 13]:
        u.append_audio(chunk(pos, n))
        want.append(chunk(pos, n))
        pos += n
        assert np.array_equal(u.audio, np.concatenate(want))
    assert u.audio.dtype == np.int16 and abs(u.duration_s - pos / 24000) < 1e-9


def test_append_audio_does_not_copy_what_is_already_there():
    u = Utterance("Hi", "en", "es")
    u.append_audio(chunk(0, 100))
    base = u.audio.base
    for i in range(50):                      # well within the room the first append made
        u.append_audio(chunk(100 + 10 * i, 10))
    assert u.audio.base is base


def test_views_taken_earlier_keep_their_contents():
    u = Utterance("Hi", "en", "es")
    u.append_audio(chunk(0, 10))
    early = u.audio
    u.append_audio(chunk(10, 10))
    assert np.array_equal(early, chunk(0, 10))
    u.audio = u.audio[:5]                    # someone truncates: the next append must not scribble
    u.append_audio(np.full(3, -1, np.int16))
    assert np.array_equal(early, chunk(0, 10))
    assert list(u.audio) == [0, 1, 2, 3, 4, -1, -1, -1]


def test_assigned_audio_is_extended_not_replaced():
    u = Utterance("Hi", "en", "es")
    u.audio = chunk(0, 4)
    u.append_audio(chunk(4, 4))
    assert list(u.audio) == list(range(8))
    u.audio = np.zeros(0, np.int16)
    u.append_audio(chunk(9, 1))
    assert list(u.audio) == [9]
