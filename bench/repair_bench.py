"""Repair and strict mode against the local engine with the seed's faults injected.

    .venv/bin/python bench/repair_bench.py [--n 100] [--strict-n 30]

Realtime audio + automatic repair: share of delivered utterances that verify clean,
attempts per utterance, added latency per strategy. Strict mode (text only, then TTS):
first-audio latency and mismatch rate. Prints one JSON object."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHRASES = [
    "I'm checking. Yes, I found it. Lowering it to minimum. Okay, much better. Now I can barely hear myself.",
    "One moment, brief pause. Yeah, you're right, it's turned off. I didn't know that existed.",
    "Exactly, it used to work automatically before, but since the last update I have to press the button.",
    "Please send it to the support team. That's the best one.",
    "The train leaves at ten. We should be there early. Bring the tickets.",
]


def faults(n: int, seed: int = 1) -> list[tuple[str, dict]]:
    """A reproducible mix: the four seed cases, truncations, drifts, missing audio, clean."""
    from app.engine import seed_cases

    rng = random.Random(seed)
    cases = sorted(seed_cases())
    out = []
    for i in range(n):
        kind = i % 6
        if kind < 2:
            cid = cases[(i // 6 + kind) % len(cases)]
            out.append((seed_cases()[cid]["transcript"], {"case": cid}))
        elif kind == 2:
            text = PHRASES[rng.randrange(len(PHRASES))]
            out.append((text, {"truncate_after": rng.randint(1, 2)}))
        elif kind == 3:
            text = "Exactly, it used to work automatically before. Now it does not."
            lang = rng.choice(["es", "fr", "de", "it", "pt"])
            word = {"es": "Exacto,", "fr": "Exactement,", "de": "Genau,", "it": "Esatto,", "pt": "Exatamente,"}[lang]
            out.append((text, {"drift": [{"sentence": 0, "language": lang, "text": word, "replace": "Exactly,"}]}))
        elif kind == 4:
            out.append((PHRASES[rng.randrange(len(PHRASES))], {"no_audio": True}))
        else:
            out.append((PHRASES[rng.randrange(len(PHRASES))], {}))
    return out


async def run(n: int, strict_n: int, order: tuple[str, ...] = ("revoice", "tts", "patch")) -> dict:
    from app.engine import LocalEngine
    from app.pipeline.translate import Pipeline, PipelineOptions
    from app.realtime import ProviderConfig, RealtimeClient
    from app.repair.repairer import Repairer, RepairOptions
    from app.repair.speech import LocalSpeech
    from app.verify.worker import VerifierWorker

    verifier = VerifierWorker()
    speech = LocalSpeech()
    result: dict = {}
    async with LocalEngine(default_voice="alloy") as eng:
        client = RealtimeClient(ProviderConfig(provider="local", api_key=eng.api_key, websocket_base_url=eng.url))
        p = Pipeline(client, verifier=verifier, speech=speech,
                     options=PipelineOptions(voice="alloy", autoplay=False),
                     repairer=Repairer(RepairOptions(policy="automatic", attempts=2, order=order), speech=speech))
        flagged = clean_final = 0
        attempts = Counter()
        per_strategy = defaultdict(list)
        first_audio = []
        for text, spec in faults(n):
            meta = {"verbatim_fault": json.dumps(spec)} if spec else None
            u = await p.translate(text, "en", "en", metadata=meta)
            if "first_audio_s" in u.timings:
                first_audio.append(u.timings["first_audio_s"])
            if u.original_report is not None and not u.original_report.matches:
                flagged += 1
            attempts[len(u.repairs)] += 1
            for a in u.repairs:
                per_strategy[a.strategy].append(a.elapsed_s)
            if u.report is not None and u.report.matches:
                clean_final += 1
        result["realtime_plus_repair"] = {
            "requests": n, "flagged_before_repair": flagged, "verified_clean_delivered": clean_final,
            "clean_rate": round(clean_final / n, 4),
            "attempts_histogram": dict(sorted(attempts.items())),
            "strategy_added_latency_s": {k: {"median": round(statistics.median(v), 2), "max": round(max(v), 2),
                                             "count": len(v)} for k, v in per_strategy.items()},
            "first_audio_s_median": round(statistics.median(first_audio), 3) if first_audio else None,
        }
        strict = Pipeline(client, verifier=verifier, speech=speech,
                          options=PipelineOptions(voice="alloy", autoplay=False, strict=True))
        mism = 0
        first = []
        for text, spec in faults(strict_n, seed=2):
            meta = {"verbatim_fault": json.dumps(spec)} if spec else None
            u = await strict.translate(text, "en", "en", metadata=meta)
            first.append(u.timings.get("first_audio_s", float("nan")))
            if u.report is None or not u.report.matches:
                mism += 1
        result["strict_mode"] = {"requests": strict_n, "mismatches": mism,
                                 "first_audio_s_median": round(statistics.median(first), 3) if first else None}
        await client.close()
    verifier.close()
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--strict-n", type=int, default=30)
    ap.add_argument("--order", default="revoice,tts,patch",
                    help="repair strategies in order (e.g. tts,patch to measure those two)")
    a = ap.parse_args()
    t0 = time.monotonic()
    out = asyncio.run(run(a.n, a.strict_n, tuple(a.order.split(","))))
    out["order"] = a.order
    out["wall_s"] = round(time.monotonic() - t0, 1)
    print(json.dumps(out, indent=2))
