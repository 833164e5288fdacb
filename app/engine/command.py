"""`python -m app serve`: run the local engine in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; any other address needs --api-key)")
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    p.add_argument("--voice", default="alloy", help="default voice (Realtime name or piper:joe / espeak…)")
    p.add_argument("--api-key", action="append", dest="api_keys",
                   help="accept only this key (repeatable); by default a random key is made for this run "
                        "and printed once to stderr")
    p.add_argument("--tls-cert", help="serve wss:// with this certificate (PEM); needs --tls-key")
    p.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    p.add_argument("--json", action="store_true", help="print the address as one JSON line")
    p.add_argument("--max-sessions-per-client", type=int, default=None,
                   help="open sessions one client (its key, or its address when keyless) may hold (default 16)")
    p.add_argument("--idle-timeout", type=float, default=None,
                   help="close a session with no event in either direction for this many seconds (default 900)")


def _argument_problem(args: argparse.Namespace, keys: list[str], loopback: bool) -> str:
    """What is wrong with the command line ("" when nothing is)."""
    from app.core.backoff import MIN_REMOTE_KEY

    if args.port < 0 or args.port > 65535:
        return "--port must be between 0 and 65535"
    if any(not k for k in keys):
        return "--api-key must not be empty"
    if not loopback and not keys:
        return (f"--host {args.host} lets other machines connect; choose the key they must send "
                "with --api-key (or keep the default --host 127.0.0.1)")
    if not loopback and any(len(k) < MIN_REMOTE_KEY for k in keys):
        return f"--api-key must be at least {MIN_REMOTE_KEY} characters when --host lets other machines connect"
    if (args.max_sessions_per_client is not None and args.max_sessions_per_client < 1) or \
            (args.idle_timeout is not None and not args.idle_timeout > 0):
        return "--max-sessions-per-client and --idle-timeout must be positive"
    return ""


def run(args: argparse.Namespace) -> int:
    from app.core.loopthread import wait_for_stop_signal
    from app.core.net import is_loopback
    from app.diagnostics.logs import console_logging

    from .server import LocalEngine, new_api_key

    console_logging()    # warnings on stderr, with keys and URL passwords redacted

    keys = [k.strip() for k in args.api_keys or []]
    problem = _argument_problem(args, keys, is_loopback(args.host))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    generated = not keys
    if generated:
        keys = [new_api_key()]

    ssl_context = None
    if args.tls_cert or args.tls_key:
        import ssl

        if not (args.tls_cert and args.tls_key):
            print("error: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            print(f"error: cannot load the TLS certificate: {exc}", file=sys.stderr)
            return 2

    async def main() -> int:
        limits = {k: v for k, v in (("max_sessions_per_client", args.max_sessions_per_client),
                                    ("idle_timeout", args.idle_timeout)) if v is not None}
        engine = LocalEngine(args.host, args.port, default_voice=args.voice, api_keys=keys,
                             ssl_context=ssl_context, **limits)
        try:
            await engine.start()
        except OSError as exc:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        info = {"url": engine.url, "http": engine.http_url, "translation":
                "available" if engine.translation_available else "unavailable"}
        if generated:   # shown once, on stderr only; never in the JSON on stdout
            print(f"API key for this run: {engine.api_key}\n"
                  f"  e.g. AsyncOpenAI(api_key=<that key>, websocket_base_url=\"{engine.url}\")",
                  file=sys.stderr, flush=True)
        if args.json:
            print(json.dumps(info), flush=True)
        else:
            print(f"Verbatim local engine on {engine.url}  (websocket_base_url for the openai SDK)", flush=True)
            if not engine.translation_available:
                print("No offline translator installed: text is read back in its own language.", flush=True)
            print("Ctrl+C to stop.", flush=True)
        await wait_for_stop_signal()
        await engine.stop()
        return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
