"""Deliberate, deterministic faults, chosen per request through `response.metadata`.

    metadata["verbatim_fault"] = JSON object with any of
      "case": "drifted-1"           reproduce a seed case exactly (its transcript and its audio)
      "truncate_after": 3           speak only the first 3 sentences; the transcript stays whole
      "drift": [{"sentence": 0, "language": "es", "text": "Exacto,", "replace": "Exactly,"}]
                                    speak (part of) a sentence in another language
      "spoken": [["es", "…"], ["en", "…"]]   speak exactly these chunks instead
      "no_audio": true              answer with text only
      "late_deltas": 2              send the last 2 audio deltas after response.done
      "drop_after_deltas": 5        drop the socket (no close frame) after 5 audio deltas
      "delay_ms": 40                pause between deltas ("first_delay_ms" before the first)
      "error": {"code": "rate_limit_exceeded", "message": "…"}   fail the request
      "call_tool": {"name": "get_weather", "arguments": {"city": "Oslo"}}
                                    answer with a call to that function tool (the session or the
                                    response must define it) instead of speech, arguments streamed
                                    as deltas; a string is sent as given, even if not JSON
    metadata["verbatim_seed"] varies chunk sizes reproducibly.
Every value is checked; a bad spec is answered with an `error` event, never ignored."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.core.languages import UnknownLanguage, get_language
from app.resources import MissingResource, seed_cases
from app.text.segments import split_sentences


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    case: str | None = None
    truncate_after: int | None = None
    drift: list[dict[str, Any]] = field(default_factory=list)
    spoken: list[tuple[str, str]] | None = None
    no_audio: bool = False
    late_deltas: int = 0
    drop_after_deltas: int | None = None
    delay_ms: int = 0
    first_delay_ms: int = 0
    error: dict[str, str] | None = None
    call_tool: dict[str, str] | None = None     # {"name": …, "arguments": JSON text}
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if v not in (None, [], False, 0)}
        if self.spoken is not None:
            d["spoken"] = [list(c) for c in self.spoken]
        return d


KNOWN_FIELDS = {"case", "truncate_after", "drift", "spoken", "no_audio", "late_deltas", "drop_after_deltas",
                "delay_ms", "first_delay_ms", "error", "call_tool"}


def parse_fault(metadata: dict[str, Any] | None) -> Fault:
    meta = metadata or {}
    seed = _int(meta.get("verbatim_seed", 0), "verbatim_seed", 0, 2**31)
    raw = meta.get("verbatim_fault")
    if raw in (None, ""):
        return Fault(seed=seed)
    spec = _spec(raw)
    f = Fault(seed=seed)
    if "case" in spec:
        f.case = _case(spec["case"])
    if "truncate_after" in spec:
        f.truncate_after = _int(spec["truncate_after"], "truncate_after", 0, 10_000)
    if "drift" in spec:
        f.drift = _drift(spec["drift"])
    if "spoken" in spec:
        f.spoken = _spoken(spec["spoken"])
    f.no_audio = bool(spec.get("no_audio", False))
    f.late_deltas = _int(spec.get("late_deltas", 0), "late_deltas", 0, 1000)
    if "drop_after_deltas" in spec:
        f.drop_after_deltas = _int(spec["drop_after_deltas"], "drop_after_deltas", 0, 100_000)
    f.delay_ms = _int(spec.get("delay_ms", 0), "delay_ms", 0, 10_000)
    f.first_delay_ms = _int(spec.get("first_delay_ms", 0), "first_delay_ms", 0, 60_000)
    if "error" in spec:
        f.error = _error(spec["error"])
    if "call_tool" in spec:
        f.call_tool = _call_tool(spec["call_tool"])
    return f


def _spec(raw: Any) -> dict[str, Any]:
    """The fault object: JSON text or already a dict, with known fields only."""
    try:
        spec = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise FaultError(f"verbatim_fault is not valid JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise FaultError("verbatim_fault must be a JSON object")
    unknown = set(spec) - KNOWN_FIELDS
    if unknown:
        raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    return spec


def _case(name: Any) -> str:
    try:
        cases = seed_cases()
    except MissingResource as exc:
        raise FaultError(str(exc)) from exc
    if name not in cases:
        raise FaultError(f"unknown seed case {name!r}; known: {', '.join(cases)}")
    return name


def _drift(spans: Any) -> list[dict[str, Any]]:
    if not isinstance(spans, list):
        raise FaultError("drift must be a list")
    for d in spans:
        if not isinstance(d, dict) or "sentence" not in d or "language" not in d:
            raise FaultError("each drift needs 'sentence' and 'language'")
        _int(d["sentence"], "drift.sentence", 0, 10_000)
        _lang(d["language"])
        for k in ("text", "replace"):
            if k in d and not isinstance(d[k], str):
                raise FaultError(f"drift.{k} must be text")
    return spans


def _spoken(chunks: Any) -> list[tuple[str, str]]:
    if not isinstance(chunks, list) or not all(isinstance(c, (list, tuple)) and len(c) == 2 for c in chunks):
        raise FaultError("spoken must be a list of [language, text] pairs")
    return [(_lang(lang), str(text)) for lang, text in chunks]


def _error(err: Any) -> dict[str, str]:
    if not isinstance(err, dict) or "code" not in err:
        raise FaultError("error needs a 'code'")
    return {"code": str(err["code"]), "message": str(err.get("message") or err["code"]),
            "type": str(err.get("type") or "invalid_request_error")}


def _call_tool(spec: Any) -> dict[str, str]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise FaultError("call_tool needs a function 'name'")
    if set(spec) - {"name", "arguments"}:
        raise FaultError("call_tool holds 'name' and 'arguments' only")
    args = spec.get("arguments", {})
    if not isinstance(args, (dict, str)):
        raise FaultError("call_tool.arguments is an object or a JSON string")
    return {"name": spec["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}


@dataclass
class Chunk:
    """One piece of speech the engine will say."""
    text: str
    language: str
    sentence: int | None        # index of the transcript sentence it voices, if any


def plan_speech(transcript: str, language: str, fault: Fault) -> tuple[str, list[Chunk]]:
    """The transcript to send and what to actually speak, in order."""
    if fault.case:
        case = seed_cases()[fault.case]
        return case["transcript"], [Chunk(text, lang, None) for lang, text in case["spoken"]]
    if fault.spoken is not None:
        return transcript, [Chunk(text, lang, None) for lang, text in fault.spoken]
    sentences = split_sentences(transcript)
    chunks = [Chunk(s.text, language, i) for i, s in enumerate(sentences)]
    for d in fault.drift:
        i = int(d["sentence"])
        if i >= len(sentences):
            raise FaultError(f"drift.sentence {i} is past the last sentence ({len(sentences) - 1})")
        lang = _lang(d["language"])
        if "replace" in d and "text" in d:
            j = next((k for k, c in enumerate(chunks) if c.sentence == i and c.language == language
                      and d["replace"] in c.text), None)
            if j is None:
                raise FaultError(f"drift.replace {d['replace']!r} is not in sentence {i}")
            head, _, tail = chunks[j].text.partition(d["replace"])
            parts = [Chunk(head.strip(), language, i)] if head.strip() else []
            parts.append(Chunk(d["text"], lang, i))
            if tail.strip():
                parts.append(Chunk(tail.strip(), language, i))
            chunks[j:j + 1] = parts
            continue
        for c in chunks:
            if c.sentence == i:
                c.text, c.language = d.get("text", c.text), lang
    if fault.truncate_after is not None:
        chunks = [c for c in chunks if c.sentence is None or c.sentence < fault.truncate_after]
    return transcript, chunks


def _int(v: Any, name: str, lo: int, hi: int) -> int:
    try:
        n = int(v)
    except (TypeError, ValueError) as exc:
        raise FaultError(f"{name} must be a whole number") from exc
    if not lo <= n <= hi:
        raise FaultError(f"{name} must be between {lo} and {hi}")
    return n


def _lang(code: Any) -> str:
    try:
        return get_language(str(code)).code
    except UnknownLanguage as exc:
        raise FaultError(f"unknown language {code!r}") from exc
