"""`python -m app` entry point.

No subcommand opens the window. Subcommands (`check`, `serve`, `guard`, `history`) never import
Qt, so they run on servers and in CI; each lives in its own part's `command` module and
is imported only when used, which keeps `check` and `--version` fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from app import APP_NAME, __version__

# subcommand -> module providing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "check": ("app.verify.command", "check whether audio says exactly what a transcript says"),
    "serve": ("app.engine.command", "run the local Realtime engine (WebSocket on 127.0.0.1)"),
    "history": ("app.history.command", "list, show and export saved utterances"),
    "guard": ("app.guard.command", "verify (and repair) the audio of any Realtime app, as a proxy on 127.0.0.1"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description=f"{APP_NAME}: translate, speak, and make sure the audio says what the text says.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--self-check", action="store_true",
                        help="exercise every part (Qt, audio, keyring, verifier, TTS, engine) and report")
    parser.add_argument("--json", action="store_true", help="with --self-check: print the report as JSON")
    parser.add_argument("--engine", choices=["auto", "local", "openai", "azure"], default=None,
                        help="provider to start with (default: from settings; local when no key)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # arguments are added lazily in main() once we know which command runs
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Add only the chosen subcommand's arguments, so other parts are never imported.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    if chosen in COMMANDS:
        module = importlib.import_module(COMMANDS[chosen][0])
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        module.add_arguments(subparsers.choices[chosen])
    args = parser.parse_args(argv)
    if args.self_check:
        from app.selfcheck import run_self_check

        return run_self_check(args)
    if args.command:
        return int(importlib.import_module(args._module).run(args) or 0)
    return gui_main(args)


def gui_main(args: argparse.Namespace | None = None) -> int:
    from app.core.warmup import warm_in_background
    from app.ui.launch import run_gui

    warm_in_background()   # the first request must not import on the Qt thread

    return run_gui(args)


if __name__ == "__main__":
    raise SystemExit(main())
