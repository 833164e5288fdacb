"""`python -m app history list|show|export|delete|undelete`."""

from __future__ import annotations

import argparse
import sys
import time

from app.text.terminal import json_line, printable


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", help="history folder (default: the app's)")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="newest first")
    ls.add_argument("--search", "-s", help="words that must appear in the input or the transcript")
    ls.add_argument("--status", choices=["match", "mismatch", "repaired", "verifying", "unverified",
                                         "incomplete", "failed"])
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one entry with its verdict")
    show.add_argument("id")
    ex = sub.add_parser("export", help="write audio, subtitles or JSON")
    ex.add_argument("id", nargs="?")
    ex.add_argument("--all", action="store_true", help="every entry (or those matching --search)")
    ex.add_argument("--search", "-s")
    ex.add_argument("--format", "-f", default="wav", choices=["wav", "flac", "srt", "vtt", "json"])
    ex.add_argument("--out", "-o", default=".", help="folder to write into")
    for name in ("delete", "undelete"):
        d = sub.add_parser(name)
        d.add_argument("id")


def run(args: argparse.Namespace) -> int:
    from .store import HistoryError, HistoryStore

    try:
        store = HistoryStore(args.dir)
    except HistoryError as exc:   # says what it could not do and why
        print(printable(f"error: {exc}"), file=sys.stderr)
        return 2
    except OSError as exc:
        print(printable(f"error: cannot open the history: {exc}"), file=sys.stderr)
        return 2
    if store.warning:
        print(printable(f"warning: {store.warning}"), file=sys.stderr)
    try:
        return _act(args, store)
    except HistoryError as exc:   # busy, read-only, disk full: the message names the cause
        print(printable(f"error: {exc}"), file=sys.stderr)
        return 2
    finally:
        store.close()


def _act(args: argparse.Namespace, store) -> int:
    if args.action == "list":
        return _list(args, store)
    if args.action in ("show", "delete", "undelete"):
        return _one(args, store)
    if args.action == "export":
        return _export(args, store)
    return 2


def _list(args: argparse.Namespace, store) -> int:
    rows = store.list(args.search, limit=args.limit, status=args.status)
    if args.json:
        print(json_line([r.to_dict() for r in rows]))
    else:
        for r in rows:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
            # stored text came from outside: no control sequences, and one row per entry
            text = " ".join(printable(r.transcript or r.input_text).split())[:60]
            print(f"{r.id}  {when}  {r.status:<10} {r.duration_s:5.1f}s  {text}")
        if not rows:
            print("(nothing found)", file=sys.stderr)
    return 0


def _one(args: argparse.Namespace, store) -> int:
    """show, delete or undelete one entry."""
    if args.action == "undelete":
        u, ok = None, store.undelete(args.id)
    else:
        u = store.get(args.id)
        ok = u is not None
    if not ok:
        print(f"error: no history entry with id {printable(args.id)}", file=sys.stderr)
        return 2
    if args.action == "show":
        _show(u)
    elif args.action == "delete":
        store.delete(args.id)
        print(f"deleted {args.id} (undo: python -m app history undelete {args.id})")
    else:
        print(f"restored {args.id}")
    return 0


def _show(u) -> None:
    from app.core.report import describe_segment

    # every line may carry text from outside (the input, the upstream's transcript, what was heard)
    def say(line: str) -> None:
        print(printable(line))

    say(f"{u.id}  {u.status}  {u.source_language}→{u.target_language}  {u.duration_s:.1f} s")
    say(f"input:      {u.input_text}")
    say(f"transcript: {u.transcript}")
    if u.report is not None:
        for s in u.report.segments:
            mark = "ok" if not s.flagged else describe_segment(s, u.report)
            say(f"  [{s.index + 1}] {mark}: {s.text}")
    for a in u.repairs:
        say(f"  repair {a.number}: {a.strategy} → {a.verdict} ({a.elapsed_s:.1f} s)")


def _export(args: argparse.Namespace, store) -> int:
    from .export import ExportError, ExportWriteError, export

    if args.all:
        ids = [r.id for r in store.list(args.search, limit=1_000_000)]
    elif args.id:
        ids = [args.id]
    else:
        print("error: give an id or --all", file=sys.stderr)
        return 2
    written = 0
    for uid in ids:
        u = store.get(uid)
        if u is None:
            print(f"error: no history entry with id {printable(uid)}", file=sys.stderr)
            return 2
        try:
            print(printable(export(u, args.format, args.out)))
            written += 1
        except ExportWriteError as exc:   # full disk, unwritable folder, symlink: the rest would fail too
            print(printable(f"error: {uid}: {exc}"), file=sys.stderr)
            return 2
        except ExportError as exc:
            print(printable(f"error: {uid}: {exc}"), file=sys.stderr)
            if not args.all:
                return 2
    return 0 if written or not ids else 2
