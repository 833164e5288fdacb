"""RSS growth of `python -m app serve` under issue 24's memory probe: N times a response to
64 user messages of 20 k characters each, cancelled at its first audio delta.

    PYTHONPATH=$PWD .venv/bin/python bench/serve_memory_bench.py [--n 30] [--items 64] [--chars 20000]

Before the byte budgets (app/engine/truth.py, session.MAX_KEPT_AUDIO) and piecewise synthesis
(answering.SYNTHESIS_PIECE_CHARS) the probe grew serve by about 540 MB. Prints one JSON
object: RSS of the serve process after a warm-up response, after the N responses, and after
the socket closed. The speech cache (speech.CACHE_BYTES, 64 MB) and the ground truth kept
(truth.TRUTH_TOTAL_BYTES, 64 MB) fill first, so growth levels off; each response takes about
a minute (256 k transcript deltas before the first audio)."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench-serve-memory"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def until(ws, marker: bytes) -> bytes:
    """Skip messages (unparsed: there are hundreds of thousands of text deltas) up to one with `marker`."""
    while True:
        msg = await asyncio.wait_for(ws.recv(decode=False), 600)
        if marker in msg:
            return msg


async def probe(url: str, n: int, items: int, chars: int) -> list[float]:
    import websockets

    text = ("word " * (chars // 5)).strip()
    message = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    create = json.dumps({"type": "response.create", "response": {
        "conversation": "none", "metadata": {"verbatim_source": "en", "verbatim_target": "en"},
        "input": [message] * items}})
    times = []
    async with websockets.connect(url + "/realtime?model=gpt-realtime", max_size=None,
                                  additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
        await until(ws, b"session.created")
        for _ in range(n):
            t0 = time.monotonic()
            await ws.send(create)
            await until(ws, b'"response.output_audio.delta"')
            await ws.send(json.dumps({"type": "response.cancel"}))
            await until(ws, b'"response.done"')
            times.append(time.monotonic() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--items", type=int, default=64)
    ap.add_argument("--chars", type=int, default=20_000)
    args = ap.parse_args()
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", "0", "--json", "--voice", "verse",
                             "--api-key", KEY], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = json.loads(proc.stdout.readline())["url"]
        asyncio.run(probe(url, 1, 1, 2_000))   # warm-up: one-time imports and voices are not growth
        before = rss_mb(proc.pid)
        times = asyncio.run(probe(url, args.n, args.items, args.chars))
        after = rss_mb(proc.pid)
        time.sleep(2.0)     # the session is closed: its state goes with it
        closed = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    print(json.dumps({"probe": f"{args.n} x ({args.items} x {args.chars} chars, cancel at first audio)",
                      "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
                      "rss_after_close_mb": round(closed, 1), "growth_mb": round(after - before, 1),
                      "growth_after_close_mb": round(closed - before, 1),
                      "seconds_per_response": round(sum(times) / len(times), 2)}))


if __name__ == "__main__":
    main()
