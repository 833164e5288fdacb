"""Guard's memory with many long answers open at once (issue 24, "Bounds").

A scripted upstream on 127.0.0.1 opens N responses on one connection and streams S seconds
of 24 kHz pcm16 to each, interleaved, through Guard (observe mode, no verifier) in a child
process; the app reads everything. Prints Guard's RSS before, with all answers open, after
they are done, and after the connection closed.

    python bench/guard_memory.py [--responses 40] [--seconds 300] [--response-bytes B --connection-bytes B]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHUNK = b"\1\0" * 24000          # one second of 24 kHz pcm16


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(upstream: str, budgets: dict) -> None:
    sys.path.insert(0, str(Path.cwd()))
    from app.guard import Guard

    async def main():
        guard = await Guard(upstream, verify=False, port=0, **budgets).start()
        print(guard.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)   # until the parent is done
        await guard.stop()

    asyncio.run(main())


async def parent(args) -> None:
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    delta = base64.b64encode(CHUNK).decode()
    rids = [f"resp_{i}" for i in range(args.responses)]
    phase = asyncio.Event()

    async def upstream(ws):
        await ws.recv()          # the app's first event
        for rid in rids:
            await ws.send(json.dumps({"type": "response.created", "response": {"id": rid}}))
        for _ in range(args.seconds):
            for rid in rids:
                await ws.send(json.dumps({"type": "response.audio.delta", "response_id": rid, "item_id": "i" + rid,
                                          "output_index": 0, "content_index": 0, "delta": delta}))
        await ws.send(json.dumps({"type": "test.open"}))
        await phase.wait()
        for rid in rids:
            await ws.send(json.dumps({"type": "response.audio_transcript.done", "response_id": rid,
                                      "item_id": "i" + rid, "transcript": "A long answer."}))
            await ws.send(json.dumps({"type": "response.done", "response": {"id": rid, "status": "completed"}}))
        await ws.send(json.dumps({"type": "test.done"}))
        async for _ in ws:
            pass

    async with serve(upstream, "127.0.0.1", 0, max_size=2 ** 24) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        budgets = {k: v for k, v in (("response_bytes", args.response_bytes),
                                     ("connection_bytes", args.connection_bytes)) if v is not None}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", f"ws://127.0.0.1:{port}/v1", json.dumps(budgets),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(Path.cwd()))
        guard_port = int((await proc.stdout.readline()).decode())
        await asyncio.sleep(1)
        figures = {"start": rss_mb(proc.pid)}
        t0 = time.monotonic()
        async with connect(f"ws://127.0.0.1:{guard_port}/v1/realtime?model=m", max_size=2 ** 24) as ws:
            await ws.send(json.dumps({"type": "session.update", "session": {}}))
            async for msg in ws:
                if '"test.open"' in msg:
                    break
            await asyncio.sleep(0.5)
            figures["open"] = rss_mb(proc.pid)
            phase.set()
            async for msg in ws:
                if '"test.done"' in msg:
                    break
            await asyncio.sleep(1.0)
            figures["done"] = rss_mb(proc.pid)
        await asyncio.sleep(1.0)
        figures["closed"] = rss_mb(proc.pid)
        proc.stdin.close()
        await proc.wait()
    streamed = args.responses * args.seconds * len(CHUNK) / 1e6
    print(f"{args.responses} responses x {args.seconds} s of 24 kHz pcm16 ({streamed:.1f} MB of audio) "
          f"in {time.monotonic() - t0:.0f} s; budgets {budgets or 'Guard defaults'}")
    s = figures["start"]
    for k, v in figures.items():
        print(f"  Guard RSS {k:>6}: {v:7.1f} MB  ({v - s:+.1f} MB)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], json.loads(sys.argv[3]))
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--responses", type=int, default=40)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--response-bytes", type=int)
    ap.add_argument("--connection-bytes", type=int)
    asyncio.run(parent(ap.parse_args()))
