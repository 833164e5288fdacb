"""`python -m app serve`: run the local engine in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; keep it local)")
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    p.add_argument("--voice", default="alloy", help="default voice (Realtime name or piper:joe / espeak…)")
    p.add_argument("--api-key", action="append", dest="api_keys",
                   help="accept only this key (repeatable); by default any non-empty key is accepted")
    p.add_argument("--tls-cert", help="serve wss:// with this certificate (PEM); needs --tls-key")
    p.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    p.add_argument("--json", action="store_true", help="print the address as one JSON line")


def run(args: argparse.Namespace) -> int:
    from app.core.loopthread import wait_for_stop_signal

    from .server import LocalEngine

    if args.port < 0 or args.port > 65535:
        print("error: --port must be between 0 and 65535", file=sys.stderr)
        return 2

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
        engine = LocalEngine(args.host, args.port, default_voice=args.voice,
                             api_keys=set(args.api_keys) if args.api_keys else None, ssl_context=ssl_context)
        try:
            await engine.start()
        except OSError as exc:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        info = {"url": engine.url, "http": engine.http_url, "translation":
                "available" if engine.translation_available else "unavailable"}
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
