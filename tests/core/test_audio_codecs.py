import numpy as np
import pytest

from app.audio import codecs
from app.audio.resample import resample
from app.audio.wavfile import WavError, read_wav, wav_bytes, write_wav


def sine(n=8000, rate=8000, freq=440.0, amp=12000):
    return (np.sin(2 * np.pi * freq * np.arange(n) / rate) * amp).astype(np.int16)


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw"])
def test_g711_round_trip_is_close(fmt):
    x = sine()
    y = codecs.decode(codecs.encode(x, fmt), fmt)
    assert y.dtype == np.int16 and len(y) == len(x)
    err = np.abs(y.astype(int) - x.astype(int))
    # G.711 is logarithmic: error grows with amplitude but stays within a few percent
    assert np.max(err) <= 0.04 * np.max(np.abs(x)) + 16


def test_g711_tables_match_known_values():
    # ITU-T G.711: 0xFF is +0 in mu-law, 0xD5 is the smallest positive A-law step
    assert codecs.ULAW_TO_PCM[0xFF] == 0
    assert codecs.ULAW_TO_PCM[0x80] == 32124 and codecs.ULAW_TO_PCM[0x00] == -32124
    assert codecs.ALAW_TO_PCM[0xD5] == 8 and codecs.ALAW_TO_PCM[0x55] == -8


def test_pcm16_decode_tolerates_odd_byte_count():
    assert list(codecs.decode(b"\x01\x00\x02", "pcm16")) == [1]


def test_format_names_accept_ga_and_beta_spellings():
    assert codecs.get_format("audio/pcmu") is codecs.G711_ULAW
    assert codecs.get_format("pcm16").sample_rate == 24000
    with pytest.raises(ValueError):
        codecs.get_format("mp3")


def test_resample_keeps_duration_and_pitch():
    x = sine(24000, 24000, 300)
    y = resample(x, 24000, 16000)
    assert abs(len(y) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(y.astype(float)))
    assert abs(np.argmax(spectrum) * 16000 / len(y) - 300) < 3


def test_wav_round_trip_and_atomic_write(tmp_path):
    x = sine(2400, 24000)
    p = tmp_path / "a.wav"
    write_wav(p, x, 24000)
    y, rate = read_wav(p)
    assert rate == 24000 and np.array_equal(x, y)
    assert oct(p.stat().st_mode & 0o777) == "0o600"
    assert [f.name for f in tmp_path.iterdir()] == ["a.wav"]  # no temp file left behind


def _wav(tag, bits, channels, rate, payload):
    import struct
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits)
    body = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def test_reads_float_stereo_ulaw_and_24bit():
    f = np.array([[0.5, -0.5], [0.25, 0.25]], np.float32)
    pcm, rate = read_wav(_wav(3, 32, 2, 16000, f.tobytes()))
    assert rate == 16000 and list(pcm) == [0, 8192]
    mu = codecs.encode(sine(80), "g711_ulaw")
    pcm, _ = read_wav(_wav(7, 8, 1, 8000, mu))
    assert np.array_equal(pcm, codecs.decode(mu, "g711_ulaw"))
    b24 = b"\x00\x00\x40" + b"\x00\x00\xc0"   # +0.5, -0.5
    pcm, _ = read_wav(_wav(1, 24, 1, 8000, b24))
    assert list(pcm) == [16384, -16384]


@pytest.mark.parametrize("tag,bits,payload", [
    (1, 8, np.array([192, 64], np.uint8).tobytes()),
    (1, 16, np.array([16384, -16384], "<i2").tobytes()),
    (1, 32, np.array([1 << 30, -(1 << 30)], "<i4").tobytes()),
    (3, 64, np.array([0.5, -0.5], "<f8").tobytes()),
])
def test_every_pcm_and_float_width_reads_as_the_same_samples(tag, bits, payload):
    pcm, rate = read_wav(_wav(tag, bits, 1, 8000, payload))
    assert rate == 8000 and list(pcm) == [16384, -16384]


def test_alaw_and_unsupported_encodings():
    a = codecs.encode(sine(80), "g711_alaw")
    pcm, _ = read_wav(_wav(6, 8, 1, 8000, a))
    assert np.array_equal(pcm, codecs.decode(a, "g711_alaw"))
    with pytest.raises(WavError, match="unsupported WAV encoding"):
        read_wav(_wav(3, 16, 1, 8000, b"\0\0"))


@pytest.mark.parametrize("data,msg", [(b"hello", "not a WAV"), (b"RIFF\0\0\0\0WAVEdata\0\0\0\0", "no format")])
def test_bad_wav_gives_clear_error(data, msg):
    with pytest.raises(WavError, match=msg):
        read_wav(data)


def test_wav_bytes_header_is_valid_for_stdlib_wave():
    import io
    import wave
    with wave.open(io.BytesIO(wav_bytes(sine(100), 8000))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, 100)
