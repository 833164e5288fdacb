"""What Verbatim Guard adds to an app's Realtime traffic, against the local engine.

    PYTHONPATH=$PWD .venv/bin/python bench/guard_bench.py [--n 8] [--sessions 20] [--idle 100]

- first audio byte: time from `response.create` to the first audio delta at the app,
  direct to the engine vs through Guard (observe, repair, repair --append-only); the
  difference is Guard's;
- before `response.done`: time from the engine sending `response.done` to the app
  receiving it, for a truncated ~7 s answer (repair appends the missing sentence), a clean
  one and (default repair) a drifted one whose first word is Spanish (replaced), in repair
  mode (the default, held, and --append-only; observe forwards at once);
- the engine paces its audio (`--pace-ms`, default 4x real time like the services) so
  streaming verification can work as it would against them;
- throughput: 20 sessions each sending requests back to back for a while, direct, through
  Guard forwarding only, and through Guard observing (every answer verified, sharing the
  2 cores with the engine): responses/s and audio seconds/s delivered;
- memory per session: RSS growth with `--idle` idle sessions open, divided by their count.
The engine runs in the same process (its TTS competes for the 2 cores), so throughput is a
floor. Prints one JSON object."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "sk-bench"
CLEAN = ("The train leaves at ten in the morning. We should be there a little early. "
         "Bring the tickets and your passport.")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


async def one_request(base_url: str, engine, *, text: str, fault: dict | None, voice: str = "alloy",
                      fmt: str = "g711_ulaw") -> dict:
    from openai import AsyncOpenAI

    meta = {"verbatim_source": "en", "verbatim_target": "en", "verbatim_mode": "read"}
    if fault:
        meta["verbatim_fault"] = json.dumps(fault)
    ga = {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"}}[fmt]
    client = AsyncOpenAI(api_key=KEY, websocket_base_url=base_url)
    out = {"audio_bytes": 0}
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["audio"],
                                           "audio": {"output": {"format": ga, "voice": voice}}})
        t0 = time.monotonic()
        await conn.response.create(response={"conversation": "none", "output_modalities": ["audio"],
                                             "metadata": meta, "input": [{"type": "message", "role": "user",
                                             "content": [{"type": "input_text", "text": text}]}]})
        async for ev in conn:
            if ev.type == "response.output_audio.delta":
                if "first_audio_s" not in out:
                    out["first_audio_s"] = time.monotonic() - t0
                out["audio_bytes"] += len(ev.delta) * 3 // 4
            elif ev.type == "response.done":
                now = time.monotonic()
                out["done_s"] = now - t0
                out["done_delay_s"] = now - engine.done_at.get(ev.response.id, now)
                break
            elif ev.type == "error":
                raise RuntimeError(ev.error.message)
    return out


def med(xs: list[float]) -> float:
    return round(statistics.median(xs), 4) if xs else float("nan")


async def settled(guard, count: int) -> None:
    """Wait for Guard's verdicts, so one request's verification does not slow the next one."""
    while len(guard.responses) < count:
        await asyncio.sleep(0.02)


async def start(args):
    """The engine (recording when it sends each `response.done`), the verifier, one Guard per mode."""
    from app.engine import LocalEngine
    from app.guard import Guard
    from app.verify.worker import VerifierWorker

    # room for the idle sessions of the memory figure (the engine bounds its sessions)
    engine = LocalEngine(default_voice="verse", api_keys={KEY}, max_sessions=args.idle + args.sessions + 8,
                         max_sessions_per_client=args.idle + args.sessions + 8)   # one key: one client
    engine.done_at = {}

    def on_event(ev):
        if ev["type"] == "response.done":
            engine.done_at[ev["response"]["id"]] = time.monotonic()

    engine.on_event = on_event
    await engine.start()
    worker = VerifierWorker()
    await asyncio.wrap_future(worker.warm())
    guards = {"observe": await Guard(engine.url, mode="observe", verifier=worker).start(),
              # the default repair: held audio, drift replaced too
              "repair": await Guard(engine.url, mode="repair", verifier=worker, language="en").start(),
              "repair_append": await Guard(engine.url, mode="repair", verifier=worker, hold_audio=False).start()}
    plain = await Guard(engine.url, mode="observe", verify=False).start()   # forwarding alone
    return engine, worker, guards, plain


async def first_audio(args, engine, guards, pace) -> dict:
    routes = {"direct": engine.url, **{k: g.url for k, g in guards.items()}}
    for url in routes.values():      # warm every path (TTS caches, piper load, lingua, Whisper)
        await one_request(url, engine, text=CLEAN, fault=None)
        await one_request(url, engine, text="x", fault={"case": "truncated-1"})
    await asyncio.sleep(2)
    first: dict[str, list[float]] = {k: [] for k in routes}
    for _ in range(args.n):
        for name, url in routes.items():
            guard = guards.get(name)
            count = len(guard.responses) + 1 if guard else 0
            r = await one_request(url, engine, text=CLEAN, fault=pace or None)
            first[name].append(r["first_audio_s"])
            if guard:
                await settled(guard, count)
    return {"first_audio_ms": {k: round(med(v) * 1000, 1) for k, v in first.items()},
            "extra_first_audio_ms": {k: round((med(first[k]) - med(first["direct"])) * 1000, 1) for k in guards}}


async def before_done(args, engine, guards, pace) -> dict:
    delays: dict[str, list[float]] = {}
    firsts: dict[str, list[float]] = {}
    audio_s = {}
    changed: dict[str, int] = {}       # clean answers Guard voiced something for (false alarms)
    repaired: dict[str, int] = {}
    runs = [("repair_append_truncated", "repair_append", "x", {"case": "truncated-1"}),
            ("repair_append_clean", "repair_append", CLEAN, None),
            ("repair_truncated", "repair", "x", {"case": "truncated-1"}), ("repair_clean", "repair", CLEAN, None),
            ("repair_drifted", "repair", "x", {"case": "drifted-1"}), ("observe_clean", "observe", CLEAN, None)]
    for _ in range(args.n):
        for name, gname, text, fault in runs:
            guard = guards[gname]
            count = len(guard.responses) + 1
            r = await one_request(guard.url, engine, text=text, fault={**(fault or {}), **pace} or None)
            delays.setdefault(name, []).append(r["done_delay_s"])
            firsts.setdefault(name, []).append(r["first_audio_s"])
            audio_s[name] = r["audio_bytes"] / 8000
            await settled(guard, count)     # the record's own verification done: next one starts fresh
            last = guard.responses[-1]
            if fault is None and last.appended_text:
                changed[name] = changed.get(name, 0) + 1
            if fault is not None and last.status == "repaired":
                repaired[name] = repaired.get(name, 0) + 1
            await asyncio.sleep(0.2)
    return {"extra_before_done_s": {k: {"median": med(v), "max": round(max(v), 4)} for k, v in delays.items()},
            "first_audio_s": {k: med(v) for k, v in firsts.items()},
            "answer_audio_s": {k: round(v, 2) for k, v in audio_s.items()},
            "clean_answers_changed": changed, "faulty_answers_repaired": repaired}


async def throughput(args, engine, guards, plain) -> dict:
    """Sessions x back-to-back requests, direct, forwarding only, observing (every answer verified)."""
    out = {}
    for name, url in (("direct", engine.url), ("observe_unverified", plain.url), ("observe", guards["observe"].url)):
        t0 = time.monotonic()
        done = 0
        audio = 0.0

        async def session(i: int, url: str = url, t0: float = t0) -> None:
            nonlocal done, audio
            while time.monotonic() - t0 < args.seconds:
                r = await one_request(url, engine, text=f"Session {i} says hello. It works.", fault=None,
                                      voice="verse", fmt="pcm16")
                done += 1
                audio += r["audio_bytes"] / 48000

        await asyncio.gather(*[session(i) for i in range(args.sessions)])
        wall = time.monotonic() - t0
        out[f"throughput_{name}"] = {"sessions": args.sessions, "responses_per_s": round(done / wall, 2),
                                     "audio_s_per_s": round(audio / wall, 2)}
    await asyncio.sleep(3)
    return out


async def memory(args, guard) -> dict:
    """RSS per idle session (client + Guard's two sockets + the engine's session: a ceiling)."""
    from websockets.asyncio.client import connect

    before = rss_mb()
    conns = [await connect(guard.url + "/realtime?model=gpt-realtime",
                           additional_headers={"Authorization": f"Bearer {KEY}"}) for _ in range(args.idle)]
    for c in conns:
        await c.recv()
    await asyncio.sleep(0.5)
    after = rss_mb()
    for c in conns:
        await c.close()
    return {"memory_per_idle_session_kb": round((after - before) * 1024 / args.idle, 1),
            "note_memory": "includes the client's and the engine's side of each session, all in this process",
            "tap_per_response_kb_per_audio_s": {"pcm16": 48.0, "g711": 8.0}}


async def main(args) -> dict:
    engine, worker, guards, plain = await start(args)
    pace = {"delay_ms": args.pace_ms} if args.pace_ms else {}
    result: dict = {"n": args.n, "pace_ms_per_0.2s_delta": args.pace_ms}
    result.update(await first_audio(args, engine, guards, pace))
    result.update(await before_done(args, engine, guards, pace))
    if args.seconds > 0:
        result.update(await throughput(args, engine, guards, plain))
    if args.idle > 0:
        result.update(await memory(args, guards["observe"]))
    result["observe_verdicts_skipped_busy"] = sum(1 for r in guards["observe"].responses
                                                  if r.error == "the verifier was busy")
    for g in (*guards.values(), plain):
        await g.stop()
    await engine.stop()
    worker.close()
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="requests per measurement")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20, help="how long the throughput run lasts")
    ap.add_argument("--idle", type=int, default=100, help="idle sessions for the memory figure")
    ap.add_argument("--pace-ms", type=int, default=50,
                    help="engine pause between 0.2 s audio deltas (50: 4x real time, as the services stream; 0: burst)")
    a = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(main(a)), indent=2))
