from __future__ import annotations

import numpy as np

from app.core.utterance import Utterance


def utterance(text="Where is the station?", input_text="¿Dónde está la estación?", seconds=1.0):
    """A complete es→en answer with a second of tone as its audio, ready to save in history."""
    u = Utterance(input_text, "es", "en", provider="local", voice="verse")
    u.transcript = text
    u.audio = (np.sin(np.arange(int(24000 * seconds)) / 7) * 5000).astype(np.int16)
    u.state = "complete"
    return u
