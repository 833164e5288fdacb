"""Export utterances: audio (WAV, FLAC when soundfile is installed), subtitles (SRT, WebVTT)
with one cue per transcript sentence at the times it is heard, and JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.audio.wavfile import write_wav
from app.core.timing import estimate_word_times
from app.core.utterance import Utterance
from app.text.segments import split_sentences, split_words

FORMATS = ("wav", "flac", "srt", "vtt", "json")
DESCRIPTION = {"wav": "Audio", "flac": "Lossless compressed audio", "srt": "Subtitles",
               "vtt": "Web subtitles", "json": "All details (transcript, verdict, timings)"}


def available_formats() -> list[str]:
    """The formats this installation can write (FLAC needs the optional soundfile package)."""
    import importlib.util

    return [f for f in FORMATS if f != "flac" or importlib.util.find_spec("soundfile") is not None]


class ExportError(RuntimeError):
    pass


def cues(u: Utterance) -> list[tuple[float, float, str]]:
    """(start, end, text) per sentence: verified times when known, estimates otherwise.
    Sentences the audio never said are still listed (at the end), marked as not spoken."""
    duration = u.duration_s
    out = []
    if u.report is not None and u.report.segments:
        last_end = 0.0
        for seg in u.report.segments:
            if seg.start_s is not None and seg.end_s is not None:
                out.append((seg.start_s, seg.end_s, seg.text))
                last_end = seg.end_s
            else:
                out.append((last_end, max(last_end + 0.5, duration), f"[not spoken] {seg.text}"))
        return out
    times = estimate_word_times(u.transcript, duration or None)
    words = split_words(u.transcript)
    for s in split_sentences(u.transcript):
        idx = [i for i, w in enumerate(words) if s.start <= w.start < s.end and times[i] is not None]
        if idx:
            out.append((times[idx[0]][0], times[idx[-1]][1], s.text))
    return out


def _stamp(t: float, sep: str) -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(u: Utterance) -> str:
    blocks = [f"{i}\n{_stamp(a, ',')} --> {_stamp(max(b, a + 0.05), ',')}\n{text}\n"
              for i, (a, b, text) in enumerate(cues(u), 1)]
    return "\n".join(blocks)


def to_vtt(u: Utterance) -> str:
    blocks = ["WEBVTT\n"]
    for a, b, text in cues(u):
        blocks.append(f"{_stamp(a, '.')} --> {_stamp(max(b, a + 0.05), '.')}\n{text.replace('-->', '→')}\n")
    return "\n".join(blocks)


def to_json(u: Utterance) -> str:
    return json.dumps({
        "id": u.id, "created_at": u.created_at, "input_text": u.input_text,
        "source_language": u.source_language, "target_language": u.target_language,
        "provider": u.provider, "model": u.model, "voice": u.voice, "audio_format": u.audio_format,
        "transcript": u.transcript, "state": u.state, "status": u.status, "error": u.error,
        "duration_s": round(u.duration_s, 3), "report": u.report.to_dict() if u.report else None,
        "original_report": u.original_report.to_dict() if u.original_report else None,
        "repairs": [a.to_dict() for a in u.repairs], "timings": u.timings,
    }, ensure_ascii=False, indent=2)


def file_name(u: Utterance, fmt: str) -> str:
    stem = re.sub(r"[^\w]+", "-", u.transcript or u.input_text, flags=re.UNICODE).strip("-")[:40] or "utterance"
    return f"{stem}-{u.id[-6:]}.{fmt}"


def export(u: Utterance, fmt: str, out_dir: str | Path) -> Path:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / file_name(u, fmt)
    if fmt in ("wav", "flac") and not len(u.audio):
        raise ExportError("this entry has no audio to export")
    if fmt == "wav":
        write_wav(path, u.audio, u.sample_rate, mode=0o644)
    elif fmt == "flac":
        try:
            import soundfile
        except ImportError as exc:
            raise ExportError("FLAC export needs the soundfile package (pip install soundfile); "
                              "WAV works without it") from exc
        soundfile.write(str(path), u.audio, u.sample_rate, format="FLAC")
    else:
        text = {"srt": to_srt, "vtt": to_vtt, "json": to_json}[fmt](u)
        path.write_text(text, encoding="utf-8")
    return path
