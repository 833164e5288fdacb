"""Verbatim Guard (no Qt): a verifying Realtime proxy for apps you already have.

    guard = Guard("wss://api.openai.com/v1", mode="repair", listener=my_listener)
    guard.start_in_thread()          # or `await guard.start()` on your own loop
    guard.url                        # what the app uses as its websocket base URL
    guard.stop_thread()              # or `await guard.stop()`

`GuardListener.on_response(GuardResponse)` is called once per audio response with its
verdict (and what was repaired); sessions opening and closing are reported too.
"""

from .proxy import MODES, Guard, GuardError
from .records import GuardListener, GuardResponse, GuardSession
from .upstream import Upstream, UpstreamError

__all__ = ["MODES", "Guard", "GuardError", "GuardListener", "GuardResponse", "GuardSession", "Upstream",
           "UpstreamError"]
