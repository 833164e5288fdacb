"""Drive the real window like a person would and save screenshots.

    xvfb-run -s "-screen 0 1280x900x24" .venv/bin/python bench/screenshots.py [OUTDIR]

Types a phrase, translates it on the local engine, waits for playback and verification, and
saves one PNG per scenario (plain phrase + the four seed cases, fault-injected)."""

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


async def scenario(window, name: str, text: str, metadata: dict | None, out: Path) -> dict:
    window.phrase.setPlainText(text)
    t0 = time.monotonic()
    u = await window.translate_now(text, window.source.code(), window.target.code(), metadata=metadata)
    # let playback run a little so the highlight is visible mid-utterance
    window.replay()
    await asyncio.sleep(1.2)
    path = out / f"{name}.png"
    window.grab().save(str(path))
    flagged = [s.status for s in (u.report.segments if u and u.report else [])]
    return {"name": name, "png": str(path), "seconds": round(time.monotonic() - t0, 2),
            "status": u.status if u else None, "segments": flagged}


async def main(out: Path) -> None:
    from PySide6.QtCore import QSettings

    from app.ui.main_window import MainWindow

    window = MainWindow(qsettings=QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat))
    window.settings.provider = "local"
    window.settings.voice = "alloy"
    window.services.settings = window.settings
    window.resize(1100, 760)
    window.show()
    await asyncio.sleep(0.5)
    results = [await scenario(window, "00-where-is-the-station", "Where is the train station?", None, out)]
    from app.engine import seed_cases

    # the seed cases as they arrive (repair off: the red flags stay), then one repaired
    window.settings.repair_policy = "off"
    await window.reset_connection()
    for i, (cid, case) in enumerate(sorted(seed_cases().items()), 1):
        window.source.set_code("es")
        window.target.set_code("en")
        meta = {"verbatim_fault": json.dumps({"case": cid})}
        results.append(await scenario(window, f"{i:02d}-{cid}", case["transcript"], meta, out))
    window.settings.repair_policy = "automatic"
    await window.reset_connection()
    case = seed_cases()["drifted-truncated-1"]
    results.append(await scenario(window, "05-drifted-truncated-1-repaired", case["transcript"],
                                  {"verbatim_fault": json.dumps({"case": "drifted-truncated-1"})}, out))
    # the repaired answer's original, as Compare plays it
    window.player_bar.compare_button.click()
    await asyncio.sleep(0.5)
    window.grab().save(str(out / "06-compare-original.png"))
    window.player_bar.compare_button.click()
    # an answer cut off mid-stream: what is missing, and Retry
    window.source.set_code("en")
    window.target.set_code("en")
    results.append(await scenario(window, "07-incomplete-dropped",
                                  "The train to the airport leaves from platform four at half past nine.",
                                  {"verbatim_fault": json.dumps({"drop_after_deltas": 3})}, out))
    # a service that cannot be reached: Not connected, in Test connection's words, Open Settings
    import socket

    from app.core.settings import Settings

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    from tests.helpers import SessionSecrets

    window.services.secrets = SessionSecrets()        # never the user's keyring
    window.services.secrets.set("azure", "screenshot-key")
    window.apply_settings(Settings.from_dict({**window.settings.to_dict(), "provider": "azure",
                                              "endpoint": f"https://127.0.0.1:{port}", "model": "dep"}))
    window.clear()
    window.phrase.setPlainText("Where is the train station?")
    await window.translate_now("Where is the train station?", "en", "es")
    await asyncio.sleep(0.5)                             # the layout settles after Stop → Translate
    window.grab().save(str(out / "08-not-connected.png"))
    print(json.dumps(results, indent=2))
    window.close()


if __name__ == "__main__":
    import qasync

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "bench" / "out" / "screens")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VERBATIM_DATA_DIR", str(out / "data"))   # never the user's own history
    from app.ui.launch import make_app

    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(out))
