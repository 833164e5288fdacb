"""`python -m app --self-check`: exercise every part a frozen bundle tends to lose and say,
in one line each, what works. Exit 1 if anything essential fails; warnings (no sound card,
no keyring) do not fail because the app has a fallback for each and says so."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass

_QT_APP = None


@dataclass
class Check:
    name: str
    status: str        # ok | warn | fail
    detail: str
    seconds: float


def _run(name: str, fn: Callable[[], tuple[str, str]]) -> Check:
    t0 = time.monotonic()
    try:
        status, detail = fn()
    except Exception as exc:   # every failure is reported, none stops the others
        status, detail = "fail", f"{type(exc).__name__}: {exc}"
        if os.environ.get("VERBATIM_DEBUG"):
            traceback.print_exc()
    return Check(name, status, detail, round(time.monotonic() - t0, 2))


def check_qt() -> tuple[str, str]:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    global _QT_APP   # an unreferenced QApplication would be destroyed at once
    _QT_APP = QApplication.instance() or QApplication(sys.argv[:1])
    name = QGuiApplication.platformName()
    from app.resources import icon_path

    icon = icon_path()
    if icon is None:
        return "fail", f"platform plugin '{name}' loaded, but resources/icons is missing"
    return "ok", f"platform plugin '{name}', icon {icon.name}"


def check_audio() -> tuple[str, str]:
    import sounddevice as sd

    try:
        devices = sd.query_devices()
    except Exception as exc:
        return "warn", f"PortAudio loaded but cannot list devices ({exc}); silent playback will be used"
    outputs = [d for d in devices if d.get("max_output_channels", 0) > 0]
    if not outputs:
        return "warn", f"PortAudio {sd.get_portaudio_version()[1].split(',')[0]}: no output device; silent playback will be used"
    return "ok", f"PortAudio: {len(outputs)} output device(s), default '{sd.query_devices(kind='output')['name']}'"


def check_keyring() -> tuple[str, str]:
    from app.core.secrets import SecretStore

    store = SecretStore()
    if store.persistent:
        return "ok", f"keyring backend {store.backend_name}"
    return "warn", f"no keyring backend ({store.backend_name}); API keys are kept for the session only"


def check_tts() -> tuple[str, str]:
    from app.tts import synthesize

    parts = []
    for voice in ("piper:joe", "espeak"):
        syn = synthesize("Self check.", "en", voice)
        if syn.voice != voice:
            # synthesize() quietly speaks with eSpeak when Piper is gone: a bundle that lost
            # piper-tts or its voice would otherwise pass with the robotic voice
            return "fail", f"Piper is not usable: {voice} fell back to {syn.voice}"
        if syn.duration_s < 0.3:
            return "fail", f"{voice} produced {syn.duration_s:.2f} s of audio"
        parts.append(f"{syn.voice} {syn.duration_s:.1f} s")
    return "ok", ", ".join(parts)


VERIFIER_SAMPLE = ("The train station is on the left, next to the bank.",
                   "Please buy two tickets for the morning train.")


def check_verifier() -> tuple[str, str]:
    """A clean sample must match and a truncated one must be flagged: a verifier that
    always says "match" (or always "mismatch") fails."""
    from app.audio.resample import resample
    from app.tts import synthesize
    from app.verify.verifier import verify

    text = " ".join(VERIFIER_SAMPLE)
    full = synthesize(text, "en", "piper:joe")
    report = verify(text, resample(full.samples, full.sample_rate, 24000), 24000, "en")
    if report.verdict != "match":
        flagged = [s.status for s in report.segments]
        return "fail", f"a clean sample was not verified as matching ({flagged})"
    head = synthesize(VERIFIER_SAMPLE[0], "en", "piper:joe")      # the audio stops after sentence 1
    cut = verify(text, resample(head.samples, head.sample_rate, 24000), 24000, "en")
    statuses = [s.status for s in cut.segments]
    if cut.verdict != "mismatch" or statuses[:1] != ["ok"] or "ok" in statuses[1:] or len(statuses) != 2:
        return "fail", f"a truncated sample was not flagged (verdict {cut.verdict}, segments {statuses})"
    return "ok", (f"{report.engine.get('asr')} {report.engine.get('model')}: clean sample matches, "
                  f"truncated sample flagged {statuses[1]} ({report.elapsed_s + cut.elapsed_s:.2f} s)")


def check_engine() -> tuple[str, str]:
    from app.engine import LocalEngine
    from app.realtime import ProviderConfig, RealtimeClient

    async def go():
        async with LocalEngine(default_voice="verse") as eng:
            client = RealtimeClient(ProviderConfig(provider="local", api_key=eng.api_key, websocket_base_url=eng.url, voice="verse"))
            got = await client.translate_collect("Good morning.", source="en", target="en")
            await client.close()
            return got, eng.translation_available

    got, translation = asyncio.run(go())
    if got.transcript != "Good morning." or len(got.audio) < 12000:
        return "fail", f"unexpected answer {got.transcript!r} with {len(got.audio)} samples"
    return "ok", (f"local engine answered with {len(got.audio) / 24000:.1f} s of audio; "
                  f"translation {'available' if translation else 'unavailable (reads back)'}")


def check_history() -> tuple[str, str]:
    from app.core.utterance import Utterance
    from app.history import HistoryStore

    with tempfile.TemporaryDirectory() as d:
        store = HistoryStore(d)
        u = Utterance("Hola.", "es", "en")
        u.transcript = "Hello."
        u.state = "complete"
        store.save(u)
        back = store.get(u.id)
        store.close()
    if back is None or back.transcript != "Hello.":
        return "fail", "an utterance did not come back from the history store"
    return "ok", "SQLite history store round trip"


CHECKS = [("Qt", check_qt), ("Audio output", check_audio), ("Keyring", check_keyring),
          ("Offline TTS", check_tts), ("Local engine", check_engine), ("Verifier", check_verifier),
          ("History", check_history)]


def run_self_check(args=None) -> int:
    as_json = bool(getattr(args, "json", False))
    results = [_run(name, fn) for name, fn in CHECKS]
    failed = [r for r in results if r.status == "fail"]
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [asdict(r) for r in results]}, indent=2))
    else:
        from app import APP_NAME, __version__

        print(f"{APP_NAME} {__version__} self-check ({'frozen bundle' if getattr(sys, 'frozen', False) else 'source'})")
        mark = {"ok": "✓", "warn": "!", "fail": "✗"}
        for r in results:
            print(f"  {mark[r.status]} {r.name:<13} {r.detail}  [{r.seconds:.2f} s]")
        print("All essential parts work." if not failed else f"{len(failed)} check(s) failed.")
    return 1 if failed else 0
