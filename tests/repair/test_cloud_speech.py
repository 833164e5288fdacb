"""Cloud TTS for repair: the SDK's async speech call, raw pcm16 back as int16 samples.
The 'cloud' here is an HTTP server this test starts on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from app.realtime import ProviderConfig
from app.repair.speech import CloudSpeech, SpeechError, cloud_speech_for


@pytest.fixture
def tts_server():
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append((self.path, body))
            if body["input"] == "fail":
                self.send_response(500)
                self.end_headers()
                return
            data = np.array([1, -2, 300], "<i2").tobytes() + b"\x07"   # an odd byte at the end
            self.send_response(200)
            self.send_header("Content-Type", "audio/pcm")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", asked
    server.shutdown()
    server.server_close()


async def test_cloud_speech_returns_the_pcm_samples_it_was_sent(tts_server):
    from openai import AsyncOpenAI

    url, asked = tts_server
    speech = CloudSpeech(AsyncOpenAI(api_key="test-key", base_url=url, max_retries=0))
    pcm = await speech.speak("Good morning.", "en", "verse")
    assert pcm.dtype == np.int16 and list(pcm) == [1, -2, 300]
    path, body = asked[0]
    assert path == "/v1/audio/speech" and body["input"] == "Good morning." and body["voice"] == "verse"
    assert body["response_format"] == "pcm"
    with pytest.raises(SpeechError, match="OpenAI TTS failed"):
        await speech.speak("fail", "en")


def test_cloud_speech_follows_the_provider():
    assert cloud_speech_for(ProviderConfig(provider="local")) is None
    assert cloud_speech_for(ProviderConfig(provider="openai")) is None          # no key: no cloud voice
    assert cloud_speech_for(ProviderConfig(provider="openai", api_key="k")).name == "OpenAI TTS"
    assert cloud_speech_for(ProviderConfig(provider="azure", api_key="k")) is None   # no endpoint
    azure = cloud_speech_for(ProviderConfig(provider="azure", api_key="k", endpoint="https://x.openai.azure.com"))
    assert azure.name == "Azure OpenAI TTS"
