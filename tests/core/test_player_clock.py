import numpy as np

from app.audio.player import ManualSink, Player, SilentOutput, open_output


def tone(seconds, rate=24000):
    return (np.sin(np.arange(int(seconds * rate)) * 0.05) * 8000).astype(np.int16)


def test_clock_follows_consumed_frames_not_arrivals():
    sink = ManualSink(48000)
    p = Player(sink)
    p.load(tone(0.5), 24000, streaming=True)
    p.play()
    sink.advance(0.3)
    assert abs(p.position_s - 0.3) < 0.02
    sink.advance(0.5)          # only 0.5 s had arrived: the clock waits (underrun)
    assert p.state == "buffering"
    assert p.position_s < 0.5 and p.stats.underruns > 0
    p.append(tone(0.5))
    p.finish()
    sink.advance(0.2)
    assert p.state == "playing" and 0.6 < p.position_s < 0.75
    sink.advance(1.0)
    assert p.state == "ended" and abs(p.position_s - 1.0) < 0.03


def test_output_latency_is_subtracted():
    sink = ManualSink(24000)
    sink.latency_s = 0.1
    p = Player(sink)
    p.load(tone(1.0), 24000)
    p.play()
    sink.advance(0.5)
    assert abs(p.position_s - 0.4) < 0.02


def test_pause_freezes_where_the_listener_is_and_seek_moves():
    sink = ManualSink(24000)
    p = Player(sink)
    p.load(tone(2.0), 24000)
    p.play()
    sink.advance(0.5)
    p.pause()
    at = p.position_s
    sink.advance(0.5)
    assert p.position_s == at and p.state == "paused"
    p.seek(1.5)
    p.play()
    sink.advance(0.2)
    assert abs(p.position_s - 1.7) < 0.02


def test_replay_after_end_starts_over():
    sink = ManualSink(24000)
    p = Player(sink)
    p.load(tone(0.3), 24000)
    p.play()
    sink.advance(0.5)
    assert p.state == "ended"
    p.play()
    sink.advance(0.1)
    assert p.state == "playing" and p.position_s < 0.15


def test_first_delta_to_device_is_measured():
    sink = ManualSink(24000)
    p = Player(sink)
    p.load(None, 24000, streaming=True)
    p.play()
    p.append(tone(0.1))
    sink.advance(0.02)
    assert p.stats.first_delta_to_device_s is not None and p.stats.first_delta_to_device_s >= 0


def test_silent_output_moves_in_real_time_and_says_why(monkeypatch):
    monkeypatch.setenv("VERBATIM_AUDIO_OUTPUT", "silent")
    out = open_output()
    assert isinstance(out, SilentOutput) and not out.available and "disabled" in out.reason
    p = Player(out)
    p.load(tone(1.0), 24000)
    p.play()
    import time
    time.sleep(0.3)
    pos = p.position_s
    p.close()
    assert 0.15 < pos < 0.6


def test_without_a_device_auto_falls_back_to_silent(monkeypatch):
    import sounddevice as sd

    def no_device(*a, **k):
        raise sd.PortAudioError("Error querying device -1")
    monkeypatch.setattr(sd, "query_devices", no_device)
    out = open_output("auto")
    assert isinstance(out, SilentOutput) and "unavailable" in out.reason
