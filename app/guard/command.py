"""`python -m app guard`: run Verbatim Guard in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need --api-key)")
    p.add_argument("--port", type=int, default=8766, help="port (0 picks a free one; default 8766)")
    p.add_argument("--upstream", required=True,
                   help="the service's Realtime base: wss://api.openai.com/v1, https://NAME.openai.azure.com, "
                        "or ws://127.0.0.1:PORT/v1 for the local engine")
    p.add_argument("--mode", choices=["observe", "repair"], default="observe",
                   help="observe: change nothing, record verdicts; repair: make the audio say the transcript")
    p.add_argument("--hold", action="store_true",
                   help="with --mode repair: hold each sentence's audio until it is verified, so sentences "
                        "spoken in the wrong language are replaced too (the app hears each sentence later)")
    p.add_argument("--api-key", action="append", dest="api_keys",
                   help="Guard's own key (repeatable): clients must send it, and Guard uses the key stored in "
                        "Verbatim's settings for the service")
    p.add_argument("--tls-cert", help="serve wss:// with this certificate (PEM); needs --tls-key")
    p.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    p.add_argument("--language", help="the language answers are in (default: detected per response)")
    p.add_argument("--no-history", action="store_true", help="do not save responses to Verbatim's history")
    p.add_argument("--json", action="store_true",
                   help="print the address as one JSON line, then one JSON line per response")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from app.core.loopthread import wait_for_stop_signal

    from .proxy import Guard, GuardError
    from .records import GuardListener
    from .upstream import Upstream, UpstreamError, is_loopback

    if args.port < 0 or args.port > 65535:
        return _fail("--port must be between 0 and 65535")
    if args.hold and args.mode != "repair":
        return _fail("--hold needs --mode repair")
    if not args.api_keys and not is_loopback(args.host):
        return _fail(f"--host {args.host} is not a loopback address: give --api-key so others need a key")
    try:
        upstream = Upstream.parse(args.upstream)
    except UpstreamError as exc:
        return _fail(str(exc))
    if args.language:
        from app.core.languages import UnknownLanguage, get_language

        try:
            args.language = get_language(args.language).code
        except UnknownLanguage as exc:
            return _fail(str(exc))
    ssl_context = None
    if args.tls_cert or args.tls_key:
        import ssl

        if not (args.tls_cert and args.tls_key):
            return _fail("--tls-cert and --tls-key go together")
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            return _fail(f"cannot load the TLS certificate: {exc}")
    upstream_key = None
    if args.api_keys:
        from app.core.secrets import SecretStore

        upstream_key = SecretStore().get("azure" if upstream.kind == "azure" else "openai")
        if not upstream_key:
            return _fail("with --api-key, Guard sends the service the key stored in Verbatim's settings "
                         "(or OPENAI_API_KEY / AZURE_OPENAI_API_KEY), and there is none")
    history = None
    if not args.no_history:
        from app.history.store import HistoryError, HistoryStore

        try:
            history = HistoryStore()
        except (HistoryError, OSError) as exc:
            return _fail(f"cannot open the history: {exc} (use --no-history)")

    class Printer(GuardListener):
        def on_response(self, r) -> None:
            if args.json:
                print(json.dumps(r.summary(), ensure_ascii=False), flush=True)
                return
            flags = "; ".join(f"sentence {s.index + 1} {s.status}" for s in r.flagged)
            extra = f"  appended: {r.appended_text!r}" if r.appended_text else ""
            print(f"[{r.status}] {r.transcript[:80]!r}{'  ' + flags if flags else ''}{extra}"
                  f"{'  (' + r.error + ')' if r.error else ''}", flush=True)

    async def main() -> int:
        try:
            guard = Guard(args.upstream, host=args.host, port=args.port, mode=args.mode,
                          api_keys=set(args.api_keys or ()), upstream_key=upstream_key, ssl_context=ssl_context,
                          history=history, listener=Printer(), language=args.language, hold_audio=args.hold)
            await guard.start()
        except GuardError as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        info = {"url": guard.url, "http": guard.http_url, "upstream": str(guard.upstream), "mode": guard.mode,
                "hold": guard.hold_audio}
        if args.json:
            print(json.dumps(info), flush=True)
        else:
            print(f"Verbatim Guard ({guard.mode}) on {guard.url}, forwarding to {guard.upstream}", flush=True)
            print("Point your app's Realtime base URL at it. Ctrl+C to stop.", flush=True)
        await wait_for_stop_signal()
        await guard.stop()
        return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    finally:
        if history is not None:
            history.close()
