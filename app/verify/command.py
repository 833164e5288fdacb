"""`python -m app check`: does this audio say exactly what this transcript says?

Exit 0: it matches (segments that only may differ are reported, `uncertain: true`); 1: at
least one segment certainly flagged; 2: bad input (message on stderr), which includes a path
that is not a regular file and a file over the caps below.
Never imports Qt.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.text.terminal import json_line, printable

EXIT_MATCH, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2
# The most `check` reads: 200 MB is over an hour of 24 kHz PCM16 (17 min of 48 kHz stereo);
# 1 MB of transcript is far beyond any spoken answer. Never read without a bound (/dev/zero).
AUDIO_LIMIT, TRANSCRIPT_LIMIT = 200 * 1024 * 1024, 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", metavar="AUDIO", help="WAV file, or raw audio bytes with --format (at most 200 MB)")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--transcript", metavar="TEXT", help="the text the audio should say")
    src.add_argument("--transcript-file", metavar="F", help="read the transcript from a UTF-8 file (at most 1 MB)")
    parser.add_argument("--language", metavar="CODE", default="en",
                        help="language of the transcript (ISO 639-1, default en)")
    parser.add_argument("--format", choices=["wav", "pcm16", "g711_ulaw", "g711_alaw"], default=None,
                        help="audio format (default: wav, or guessed from the file)")
    parser.add_argument("--rate", metavar="HZ", type=int, default=None,
                        help="sample rate of raw audio (default: 24000 for pcm16, 8000 for G.711)")
    parser.add_argument("--source-language", metavar="CODE", default=None,
                        help="language the text was translated from: the first suspect for drifted speech")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--model", metavar="SPEC", default=None,
                        help="speech model: bundled:whisper-base (default), a directory, or a URL")


class BadInput(Exception):
    pass


def _load_audio(path: str, fmt: str | None, rate: int | None):
    import numpy as np

    from app.audio.codecs import decode, get_format
    from app.audio.wavfile import WavError, read_wav

    p = Path(path)
    data = _read_file(path, AUDIO_LIMIT, "audio")
    if fmt is None:
        fmt = "wav" if data[:4] in (b"RIFF", b"RF64") or p.suffix.lower() == ".wav" else None
        if fmt is None:
            raise BadInput(f"{path} is not a WAV file; for raw audio give --format pcm16|g711_ulaw|g711_alaw")
    if fmt == "wav":
        if rate is not None:
            pass  # a WAV states its own rate
        try:
            pcm, sr = read_wav(data)
        except WavError as exc:
            raise BadInput(f"{path}: {exc}") from None
        return pcm, sr
    try:
        af = get_format(fmt)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        raise BadInput(f"{path} is a WAV file but --format {fmt} says raw audio; drop --format")
    sr = rate or af.sample_rate
    if sr < 1000 or sr > 384000:
        raise BadInput(f"implausible --rate {sr}")
    pcm = decode(data, af)
    return np.asarray(pcm, dtype=np.int16), sr


def _read_file(path: str, limit: int, what: str) -> bytes:
    """A regular file's bytes, at most `limit`: devices, FIFOs and folders are refused unread."""
    from app.core.files import NotRegularFile, TooLarge, read_capped

    try:
        return read_capped(path, limit)
    except FileNotFoundError:
        raise BadInput(f"{what} file not found: {path}") from None
    except NotRegularFile:
        kind = "a directory" if Path(path).is_dir() else "not a regular file (a device, FIFO or socket)"
        raise BadInput(f"{what} path is {kind}: {path}; give a file") from None
    except TooLarge:
        raise BadInput(f"{what} file is larger than {limit // (1024 * 1024)} MB, "
                       f"the most check reads: {path}") from None
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None


def _load_transcript(args) -> str:
    if args.transcript_file is not None:
        data = _read_file(args.transcript_file, TRANSCRIPT_LIMIT, "transcript")
        try:
            # newlines as text mode read them before: a CRLF file keeps the same char offsets
            text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            raise BadInput(f"transcript file is not UTF-8 text: {args.transcript_file}") from None
    else:
        text = args.transcript or ""
    from app.text.segments import split_sentences, strip_control_tokens

    if not strip_control_tokens(text).strip() or not split_sentences(strip_control_tokens(text)):
        raise BadInput("the transcript is empty (nothing to check the audio against)")
    return text


def run(args: argparse.Namespace) -> int:
    from app.core.languages import UnknownLanguage, get_language

    try:
        try:
            language = get_language(args.language).code
        except UnknownLanguage as exc:
            raise BadInput(str(exc)) from None
        transcript = _load_transcript(args)
        pcm, rate = _load_audio(args.audio, args.format, args.rate)
    except BadInput as exc:
        print(printable(f"check: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT

    from app.verify.models import ModelError
    from app.verify.verifier import Verifier, VerifyError

    verifier = Verifier(args.model or "bundled:whisper-base")
    try:
        report = verifier.verify(transcript, pcm, rate, language, args.source_language)
    except VerifyError as exc:
        print(printable(f"check: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModelError as exc:
        print(printable(f"check: speech model unavailable: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # never report a crash as "mismatch" (exit 1)
        print(printable(f"check: could not verify the audio: {exc.__class__.__name__}: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT

    if args.json:
        sys.stdout.write(json_line(report.to_dict()) + "\n")
    else:
        _print_summary(report)
    return EXIT_MATCH if report.matches else EXIT_MISMATCH


def _print_summary(report) -> None:
    from app.core.report import describe_segment

    flagged, doubtful = len(report.flagged_segments), len(report.doubtful_segments)
    total = len(report.segments)
    head = "MATCH" if report.matches else f"MISMATCH ({flagged} of {total} segments flagged)"
    if doubtful:
        head += f", {doubtful} may differ (uncertain)"
    print(f"{head} — {report.audio_duration_s:.2f} s of audio, language {report.language}, "
          f"checked in {report.elapsed_s:.2f} s")
    for seg in report.segments:
        mark = "ok " if seg.status == "ok" else ("!! " if seg.flagged else "?  ")
        when = f"{seg.start_s:6.2f}–{seg.end_s:6.2f} s" if seg.start_s is not None else " " * 17
        text = " ".join(seg.text.split())
        if len(text) > 70:
            text = text[:69] + "…"
        line = f"{mark}[{seg.index}] {when}  {text}"
        if seg.differs:
            line += f"  — {seg.status}: {describe_segment(seg, report)}"
        print(printable(line))   # the transcript and what was heard came from outside
