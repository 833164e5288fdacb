"""`python -m app guard`: run Verbatim Guard in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

REPAIR_HELP = (
    "observe (default): change nothing, record verdicts. repair: make the audio say the transcript: "
    "each sentence's audio is held until it is verified, sentences spoken in the wrong language or "
    "with other words are spoken anew, missing tail sentences are appended; the app hears the first "
    "sentence once it is judged (about 1.5-2 s later than without Guard on 2 cores), later sentences arrive ahead "
    "of playback while the service streams faster than real time. Add --append-only for live audio "
    "(no added latency) where only missing tail sentences are appended and drift is recorded, not replaced")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need --api-key)")
    p.add_argument("--port", type=int, default=8766, help="port (0 picks a free one; default 8766)")
    p.add_argument("--upstream", required=True,
                   help="the service's Realtime base: wss://api.openai.com/v1, https://NAME.openai.azure.com, "
                        "or ws://127.0.0.1:PORT/v1 for the local engine")
    p.add_argument("--mode", choices=["observe", "repair"], default="observe", help=REPAIR_HELP)
    p.add_argument("--append-only", action="store_true",
                   help="with --mode repair: stream audio live and only append missing tail sentences "
                        "(lowest latency; sentences in the wrong language stay as they are)")
    # before replacing became the default, --hold asked for it; still accepted
    p.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--verdict-events", action="store_true",
                   help="also send the app one `verbatim.verdict` event per response, after its "
                        "`response.done` (not a service event type: only for apps that ignore unknown types)")
    p.add_argument("--api-key", action="append", dest="api_keys",
                   help="Guard's own key (repeatable): clients must send it, and Guard uses the key stored in "
                        "Verbatim's settings for the service")
    p.add_argument("--upstream-timeout", type=float, default=8.0, metavar="SECONDS",
                   help="how long Guard waits for the service's handshake before answering 502 (default 8, "
                        "below the 10 s many apps wait for theirs)")
    p.add_argument("--max-sessions", type=int, default=100, metavar="N",
                   help="sessions Guard relays at once (default 100; beyond it: 503)")
    p.add_argument("--per-client", type=int, default=16, metavar="N",
                   help="sessions one client may hold at once (default 16; beyond it: 429 with Retry-After). "
                        "A client is the key it presents, or its address when keyless; a tenth of the "
                        "sessions is kept for clients that hold none")
    p.add_argument("--trusted-proxy", action="append", dest="trusted_proxies", metavar="ADDR",
                   help="a reverse proxy in front of Guard (address or network, repeatable): only from it is "
                        "X-Forwarded-For believed when telling clients apart")
    p.add_argument("--idle-timeout", type=float, default=900.0, metavar="SECONDS",
                   help="close a session after this long with no event either way (default 900 = 15 min; "
                        "close code 1001, reason \"idle for N s\")")
    p.add_argument("--handshake-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="a client's WebSocket handshake must finish within this (default 10; raised above "
                        "--upstream-timeout when needed, so the client still sees Guard's 502)")
    p.add_argument("--response-mb", type=float, default=8.0, metavar="MB",
                   help="audio Guard keeps of one answer to check and repair it (default 8, ~170 s of 24 kHz "
                        "pcm16); a longer answer passes through unchanged and is recorded unverified")
    p.add_argument("--connection-mb", type=float, default=24.0, metavar="MB",
                   help="audio Guard keeps of all open answers of one connection (default 24)")
    p.add_argument("--tls-cert", help="serve wss:// with this certificate (PEM); needs --tls-key")
    p.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    p.add_argument("--language", help="the language answers are in (default: detected per response)")
    p.add_argument("--no-history", action="store_true", help="do not save responses to Verbatim's history")
    p.add_argument("--json", action="store_true",
                   help="print the address as one JSON line, then one JSON line per response")


class _Bad(Exception):
    """A bad argument or setting: its message is for the user, the exit code is 2."""


def _fail(message: str) -> int:
    from app.text.terminal import printable

    print(printable(f"error: {message}"), file=sys.stderr)
    return 2


def _check_arguments(args: argparse.Namespace):
    """The parsed upstream, or _Bad."""
    from .upstream import MIN_REMOTE_KEY, Upstream, UpstreamError, is_loopback

    if args.port < 0 or args.port > 65535:
        raise _Bad("--port must be between 0 and 65535")
    if args.append_only and args.hold:
        raise _Bad("--hold and --append-only contradict each other")
    for flag, given in (("--append-only", args.append_only), ("--hold", args.hold)):
        if given and args.mode != "repair":
            raise _Bad(f"{flag} needs --mode repair")
    if not args.api_keys and not is_loopback(args.host):
        raise _Bad(f"--host {args.host} is not a loopback address: give --api-key so others need a key")
    if not is_loopback(args.host) and any(len(k) < MIN_REMOTE_KEY for k in args.api_keys):
        raise _Bad(f"--api-key must be at least {MIN_REMOTE_KEY} characters with --host {args.host}: others "
                   "can reach Guard there and guess a short key (e.g. python -c \"import secrets; "
                   "print(secrets.token_urlsafe(24))\")")
    if args.max_sessions < 1 or args.per_client < 1:
        raise _Bad("--max-sessions and --per-client must be at least 1")
    if args.response_mb <= 0 or args.connection_mb < args.response_mb:
        raise _Bad("--response-mb must be more than 0 and at most --connection-mb")
    if args.idle_timeout <= 0 or args.handshake_timeout <= 0:
        raise _Bad("--idle-timeout and --handshake-timeout must be more than 0 seconds")
    if not 0 < args.upstream_timeout <= 300:
        raise _Bad("--upstream-timeout must be between 0 and 300 seconds")
    try:
        upstream = Upstream.parse(args.upstream)
    except UpstreamError as exc:
        raise _Bad(str(exc)) from None
    if args.language:
        from app.core.languages import UnknownLanguage, get_language

        try:
            args.language = get_language(args.language).code
        except UnknownLanguage as exc:
            raise _Bad(str(exc)) from None
    return upstream


def _tls_context(args: argparse.Namespace):
    if not (args.tls_cert or args.tls_key):
        return None
    import ssl

    if not (args.tls_cert and args.tls_key):
        raise _Bad("--tls-cert and --tls-key go together")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise _Bad(f"cannot load the TLS certificate: {exc}") from None
    return ctx


def _upstream_key(args: argparse.Namespace, upstream) -> str | None:
    if not args.api_keys:
        return None     # each client's own key is passed on
    from app.core.secrets import SecretStore

    key = SecretStore().get("azure" if upstream.kind == "azure" else "openai")
    if not key:
        raise _Bad("with --api-key, Guard sends the service the key stored in Verbatim's settings "
                   "(or OPENAI_API_KEY / AZURE_OPENAI_API_KEY), and there is none")
    return key


def _open_history(args: argparse.Namespace):
    if args.no_history:
        return None
    from app.history.store import HistoryError, HistoryStore

    try:
        return HistoryStore()
    except (HistoryError, OSError) as exc:
        raise _Bad(f"cannot open the history: {exc} (use --no-history)") from None


def _printer(as_json: bool):
    from app.text.terminal import json_line, printable

    from .records import GuardListener

    class Printer(GuardListener):
        def on_response(self, r) -> None:
            if as_json:
                print(json_line(r.summary()), flush=True)
                return
            flags = "; ".join(f"sentence {s.index + 1} {s.status}" for s in r.flagged)
            extra = f"  voiced: {r.appended_text!r}" if r.appended_text else ""
            # the transcript and the error came from upstream
            print(printable(f"[{r.status}] {r.transcript[:80]!r}{'  ' + flags if flags else ''}{extra}"
                            f"{'  (' + r.error + ')' if r.error else ''}"), flush=True)

    return Printer()


async def _serve(args: argparse.Namespace, **kw) -> int:
    from app.core.loopthread import wait_for_stop_signal

    from .proxy import Guard, GuardError

    try:
        guard = Guard(args.upstream, host=args.host, port=args.port, mode=args.mode,
                      api_keys=set(args.api_keys or ()), listener=_printer(args.json), language=args.language,
                      hold_audio=not args.append_only, verdict_events=args.verdict_events,
                      upstream_timeout=args.upstream_timeout, max_sessions=args.max_sessions,
                      per_client=args.per_client, trusted_proxies=args.trusted_proxies or (),
                      idle_timeout=args.idle_timeout, handshake_timeout=args.handshake_timeout,
                      response_bytes=int(args.response_mb * 1e6),
                      connection_bytes=int(args.connection_mb * 1e6), **kw)
        await guard.start()
    except GuardError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    info = {"url": guard.url, "http": guard.http_url, "upstream": str(guard.upstream), "mode": guard.mode,
            "repair": guard.repair, "hold": guard.hold_audio, "verdict_events": guard.verdict_events}
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        how = f"{guard.mode}, {guard.repair}" if guard.repair else guard.mode
        print(f"Verbatim Guard ({how}) on {guard.url}, forwarding to {guard.upstream}", flush=True)
        print("Point your app's Realtime base URL at it. Ctrl+C to stop.", flush=True)
    await wait_for_stop_signal()
    await guard.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    from app.diagnostics.logs import console_logging

    console_logging()    # warnings on stderr, with keys and URL passwords redacted
    history = None
    try:
        upstream = _check_arguments(args)
        ssl_context = _tls_context(args)
        upstream_key = _upstream_key(args, upstream)
        history = _open_history(args)
        return asyncio.run(_serve(args, upstream_key=upstream_key, ssl_context=ssl_context, history=history))
    except _Bad as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 0
    finally:
        if history is not None:
            history.close()
