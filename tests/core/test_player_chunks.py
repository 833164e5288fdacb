"""The player keeps streamed audio as chunks: positions, seeks and reads across chunk
boundaries, appends while playing, and an audio callback that never waits on a copy."""

import threading

import numpy as np

from app.audio import player as player_mod
from app.audio.player import ManualSink, Player


class RecordingSink(ManualSink):
    """ManualSink that keeps every frame the player hands over (and each block's size)."""

    def __init__(self, sample_rate=24000):
        super().__init__(sample_rate)
        self.blocks: list[np.ndarray] = []

    def start(self, fill):
        def record(buf, frames):
            fill(buf, frames)
            self.blocks.append(buf[:frames].copy())
        super().start(record)

    def heard(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.float32)


def ramp(start, n):
    """Distinct int16 sample values, so any gap or reordering shows in the output."""
    return ((np.arange(start, start + n) % 20000) - 10000).astype(np.int16)


def as_float(pcm):
    return pcm.astype(np.float32) / 32768.0


def test_streamed_chunks_play_back_in_order_with_no_gaps():
    sink = RecordingSink(24000)
    p = Player(sink)
    p.load(None, 24000, streaming=True)
    p.play()
    sent = []
    pos = 0
    for size in [7, 1000, 333, 2400, 1, 4800, 91]:   # block size is 240: reads straddle chunks
        sent.append(ramp(pos, size))
        p.append(sent[-1])
        pos += size
    p.finish()
    sink.advance(1.0)
    heard = sink.heard()
    real = np.concatenate(sent)
    assert p.state == "ended"
    assert np.array_equal(heard[:len(real)], as_float(real))
    assert not heard[len(real):].any()            # after the end only silence
    assert abs(p.duration_s - len(real) / 24000) < 1e-9


def test_seek_lands_inside_and_across_chunk_boundaries():
    sink = RecordingSink(24000)
    p = Player(sink)
    p.load(None, 24000, streaming=True)
    for start in range(0, 24000, 1000):            # 24 chunks of 1000 frames
        p.append(ramp(start, 1000))
    p.finish()
    whole = as_float(ramp(0, 24000))
    for target in [0.0, 1000 / 24000, 1990 / 24000, 12345 / 24000, 0.99]:
        p.pause()
        p.seek(target)
        sink.blocks.clear()
        p.play()
        sink.advance(0.05)                         # 1200 frames: crosses at least one boundary
        got = sink.heard()
        at = int(target * 24000)
        want = whole[at:at + 1200]
        assert np.array_equal(got[:len(want)], want), target
    p.seek(5.0)                                    # beyond the end clamps to the end
    assert p.position_s == p.duration_s


def test_appends_while_playing_keep_the_clock_and_order():
    sink = RecordingSink(24000)
    p = Player(sink)
    p.load(ramp(0, 2400), 24000, streaming=True)
    p.play()
    pos = 2400
    for _ in range(20):
        sink.advance(0.05)                         # plays 1200 frames per step, 2400 arrive
        p.append(ramp(pos, 2400))
        pos += 2400
    p.finish()
    assert p.stats.underruns == 0
    assert abs(p.position_s - 1.0) < 0.02
    sink.advance(3.0)
    assert p.state == "ended"
    assert np.array_equal(sink.heard()[:pos], as_float(ramp(0, pos)))


def test_resampled_stream_keeps_its_length_across_chunks():
    sink = ManualSink(48000)
    p = Player(sink)
    p.load(None, 24000, streaming=True)
    for i in range(10):
        p.append(ramp(i * 2400, 2400))
    p.finish()
    assert abs(p.duration_s - 1.0) < 0.002


def test_audio_callback_does_not_wait_for_a_conversion_in_progress(monkeypatch):
    """An append converting a large chunk must not hold the lock the callback needs."""
    sink = RecordingSink(24000)
    p = Player(sink)
    p.load(ramp(0, 4800), 24000, streaming=True)
    p.play()
    entered, release = threading.Event(), threading.Event()
    real_convert = player_mod._Track.convert

    def slow_convert(self, pcm, last=False):
        if len(pcm) > 100000:              # the large append stalls mid-conversion
            entered.set()
            assert release.wait(10)
        return real_convert(self, pcm, last)

    monkeypatch.setattr(player_mod._Track, "convert", slow_convert)
    big = ramp(4800, 24000 * 60)
    appender = threading.Thread(target=p.append, args=(big,))
    appender.start()
    assert entered.wait(5)
    # the callback runs while the appender is stuck: it must not block
    cb = threading.Thread(target=sink.advance, args=(0.1,))
    cb.start()
    cb.join(2)
    blocked = cb.is_alive()
    release.set()
    appender.join(10)
    cb.join(5)
    assert not blocked, "the audio callback waited on an append in progress"
    p.finish()
    sink.advance(0.2)
    heard = sink.heard()
    want = as_float(np.concatenate([ramp(0, 4800), big]))
    assert np.array_equal(heard, want[:len(heard)])   # nothing skipped, nothing reordered


def test_threaded_appends_during_playback_arrive_whole():
    sink = RecordingSink(24000)
    p = Player(sink)
    p.load(None, 24000, streaming=True)
    p.play()
    total = 24000 * 3
    step = 480

    def feed():
        for start in range(0, total, step):
            p.append(ramp(start, step))
        p.finish()

    t = threading.Thread(target=feed)
    t.start()
    for _ in range(400):
        sink.advance(0.01)
        if p.state == "ended":
            break
    t.join(10)
    sink.advance(4.0)
    heard = sink.heard()
    # underruns insert silence between real frames; dropping it must give the exact stream
    real = heard[heard != 0]
    want = as_float(ramp(0, total))
    assert np.array_equal(real, want[want != 0])


def test_track_keeps_two_bytes_a_frame_and_plays_float_input_too():
    sink = RecordingSink(48000)
    p = Player(sink)
    p.load(ramp(0, 24000), 24000)                    # 1 s, resampled to 48 kHz
    track = p._track
    assert track.frames == 48000
    assert sum(c.nbytes for c in track._chunks) == 2 * track.frames   # int16, not float32
    x = np.sin(np.arange(4800) * 0.01).astype(np.float32) * 0.5
    sink2 = RecordingSink(24000)
    q = Player(sink2)
    q.load(x, 24000)
    q.play()
    sink2.advance(0.25)
    assert np.max(np.abs(sink2.heard()[:4800] - x)) <= 1 / 32768
