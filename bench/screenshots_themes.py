"""Screenshots of the window in light and dark, the first-run hint, and a failed Test connection.

    xvfb-run -a -s "-screen 0 1280x900x24" /work/main/.venv/bin/python bench/screenshots_themes.py [OUTDIR]

Runs on the local engine (no key, no network): translates a phrase the audio says in full
(green) and a seed case whose audio drops its last sentence (red), each shown mid-playback
with the word being heard highlighted; then the same in dark. Prints one JSON line per PNG."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VERBATIM_AUDIO_OUTPUT", "silent")

OK_PHRASE = "Where is the train station? I would like to buy a ticket."
FLAGGED_CASE = "truncated-1"


def no_keyring():
    """Keys for this run only: never the machine's keyring (and none is stored: a first run)."""
    from app.core.secrets import SecretStore

    class NoKeyring(SecretStore):
        @staticmethod
        def _probe():
            return "screenshots", False

    return NoKeyring()


def shot(widget, out: Path, name: str, **facts) -> dict:
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    row = {"png": str(path), **facts}
    print(json.dumps(row), flush=True)
    return row


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


async def translate(window, text: str, source: str, target: str, metadata=None):
    window.source.set_code(source)
    window.target.set_code(target)
    window.phrase.setPlainText(text)
    t0 = time.monotonic()
    u = await window.translate_now(text, source, target, metadata=metadata)
    for _ in range(600):            # the report lands after the answer is done
        if u is None or u.report is not None or u.status in ("unverified", "failed"):
            break
        await asyncio.sleep(0.1)
    return u, round(time.monotonic() - t0, 2)


async def mid_playback(window, seconds: float = 1.4) -> None:
    window.replay()
    await asyncio.sleep(seconds)
    window.player.pause()           # keep the highlight where it is for the picture
    await settle(0.2)


async def failed_test_connection(parent, out: Path, name: str) -> dict:
    import socket

    from app.core.settings import Settings
    from app.ui.settings_dialog import SettingsDialog

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]         # nothing listens there once released
    dlg = SettingsDialog(Settings(provider="azure", model="my-realtime"), no_keyring(), parent)
    dlg.endpoint.setText(f"http://127.0.0.1:{port}")
    dlg.key.setText("sk-screenshot-not-a-real-key-0000")
    dlg.show()
    dlg.test_button.click()
    for _ in range(200):
        if dlg.last_test is not None:
            break
        await asyncio.sleep(0.1)
    await settle()
    row = shot(dlg, out, name, kind=dlg.last_test.kind if dlg.last_test else None)
    dlg.close()
    return row


async def main(out: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.core.settings import Settings
    from app.engine import seed_cases
    from app.pipeline.services import Services
    from app.ui import appearance
    from app.ui.main_window import MainWindow

    qs = QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat)
    qs.clear()                              # a first launch every run
    settings = Settings(provider="local", voice="alloy", repair_policy="off")
    window = MainWindow(services=Services(settings, no_keyring()), qsettings=qs)
    window.settings = settings
    window.resize(1180, 760)
    window.show()
    await settle(1.0)
    shot(window, out, "first-run-hint-light", hint=window.first_run_hint.isVisible())
    appearance.install(QApplication.instance(), "dark")
    await settle()
    shot(window, out, "first-run-hint-dark", hint=window.first_run_hint.isVisible())
    appearance.install(QApplication.instance(), "light")
    window.first_run_hint.dismiss()

    u_ok, secs = await translate(window, OK_PHRASE, "en", "en")
    await mid_playback(window)
    shot(window, out, "light-ok", status=u_ok.status if u_ok else None, seconds=secs)

    case = seed_cases()[FLAGGED_CASE]
    u_bad, secs = await translate(window, case["transcript"], "es", "en",
                                  {"verbatim_fault": json.dumps({"case": FLAGGED_CASE})})
    await mid_playback(window)
    shot(window, out, "light-flagged", status=u_bad.status if u_bad else None, seconds=secs,
         segments=[s.status for s in u_bad.report.segments] if u_bad and u_bad.report else None)
    await failed_test_connection(window, out, "settings-test-failed-light")

    appearance.install(QApplication.instance(), "dark")
    await settle()
    await mid_playback(window)
    shot(window, out, "dark-flagged", status=u_bad.status if u_bad else None)
    await failed_test_connection(window, out, "settings-test-failed-dark")
    if u_ok is not None:
        window.source.set_code(u_ok.source_language)   # the pickers as that entry had them
        window.target.set_code(u_ok.target_language)
        window.open_from_history(u_ok.id)
        await mid_playback(window)
        shot(window, out, "dark-ok", status=u_ok.status)
    window.close()


if __name__ == "__main__":
    import qasync

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/wt/shots")
    out.mkdir(parents=True, exist_ok=True)
    if "VERBATIM_DATA_DIR" not in os.environ:      # never the user's own history; a fresh one per run
        import shutil

        shutil.rmtree(out / "data", ignore_errors=True)
        os.environ["VERBATIM_DATA_DIR"] = str(out / "data")
    from app.ui.launch import make_app

    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(out))
