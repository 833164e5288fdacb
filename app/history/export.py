"""Export utterances: audio (WAV, FLAC when soundfile is installed), subtitles (SRT, WebVTT)
with one cue per transcript sentence at the times it is heard, and JSON."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from app.audio.wavfile import wav_bytes
from app.core.files import SymlinkTarget, write_private
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


class ExportWriteError(ExportError):
    """The file could not be written (full disk, unwritable folder, symlink at the target);
    nothing was left behind."""


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
    """Write `u` into `out_dir` under its suggested name (see `export_file`)."""
    fmt = _check_format(fmt)
    out = Path(out_dir)
    try:
        # folders it creates are private too (0700 whatever the umask): the exports are
        created = not out.exists()
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        if created:
            out.chmod(0o700)
    except OSError as exc:
        raise ExportWriteError(f"cannot create the folder {out}: {_reason(exc)}") from exc
    return export_file(u, fmt, out / file_name(u, fmt))


def export_file(u: Utterance, fmt: str, path: str | Path) -> Path:
    """Write `u` to `path` as a private (0600) file, atomically. A symlink at `path` is refused
    (writing through it would overwrite another file); any OSError becomes an
    ExportWriteError with a one-line message and leaves no partial or temp file."""
    fmt = _check_format(fmt)
    path = Path(path)
    data = _encode(u, fmt)
    try:
        write_private(path, data)
    except SymlinkTarget:
        raise ExportWriteError(f"{path} is a symbolic link; not writing through it "
                               "(remove it or choose another name)") from None
    except OSError as exc:
        raise ExportWriteError(f"cannot write {path}: {_reason(exc)}") from exc
    return path


def _check_format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


def _encode(u: Utterance, fmt: str) -> bytes:
    """The whole file in memory: nothing touches the disk until it is complete."""
    if fmt in ("wav", "flac") and not len(u.audio):
        raise ExportError("this entry has no audio to export")
    if fmt == "wav":
        return wav_bytes(u.audio, u.sample_rate)
    if fmt == "flac":
        try:
            import soundfile
        except ImportError as exc:
            raise ExportError("FLAC export needs the soundfile package (pip install soundfile); "
                              "WAV works without it") from exc
        buf = io.BytesIO()
        soundfile.write(buf, u.audio, u.sample_rate, format="FLAC")
        return buf.getvalue()
    return {"srt": to_srt, "vtt": to_vtt, "json": to_json}[fmt](u).encode("utf-8")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
