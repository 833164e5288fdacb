"""The Guard view: start Guard in front of the app's local engine, watch an answer pass
through with its verdict, open it in the main window, stop."""

from __future__ import annotations

import socket
import threading

from app.engine import seed_cases
from tests.guard.apps import run_app
from tests.helpers import run, until


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(view, loop, **fields):
    view.port.setValue(fields.get("port", 0))
    if "upstream" in fields:
        view.upstream.setCurrentText(fields["upstream"])
    view.mode.setCurrentIndex(fields.get("mode", 0))
    run(loop, view.start())


def test_an_answer_through_guard_is_listed_with_its_verdict_and_opens_in_the_window(make_window, qtbot, loop):
    w = make_window()
    view = w.open_guard()
    start(view, loop)
    assert view.running and view.error.isHidden(), view.error.text()
    url = view.url.text()
    assert url.startswith("ws://127.0.0.1:") and url == view.guard.url
    assert url in view.snippets.toPlainText()
    assert view.guard.upstream.kind == "local" and view.engine_key == w.services.engine.api_key

    threads = []    # where the view handles Guard's reports: the Qt thread, never Guard's
    view.response_saved.connect(lambda _uid: threads.append(threading.current_thread()))
    case = "truncated-1"
    transcript = seed_cases()[case]["transcript"]
    result = run(loop, run_app(url, fault={"case": case}, fmt="g711_ulaw", key=view.engine_key))
    assert result.types[-1] == "response.done"
    run(loop, until(lambda: view.responses(), timeout=120))
    [item] = view.responses()
    assert threads == [threading.main_thread()]
    assert item.text(1) == "✗ differs"
    assert item.text(2).split()[:3] == transcript.split()[:3]
    assert item.parent().text(2).startswith("session /v1/realtime")

    item.parent().setExpanded(True)
    view.list.setCurrentItem(item)
    u = w.utterance
    assert u is not None and u.id == item.data(0, 256) and u.meta["source"] == "guard"
    assert u.transcript == transcript
    assert not w.flags.isHidden() and w.flags.count() >= 1
    assert w.badge.text() and "✗" in w.badge.text()

    port = view.guard.port
    assert port_open(port)
    run(loop, view.stop())
    assert not view.running and not port_open(port)
    assert view.start_button.isEnabled() and view.url.text() == ""


def test_a_port_in_use_is_reported_in_the_view(make_window, qtbot, loop):
    w = make_window()
    view = w.open_guard()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        start(view, loop, port=taken.getsockname()[1])
    assert not view.running and not view.error.isHidden()
    assert "cannot listen" in view.error.text() and "another port" in view.error.text()
    assert view.start_button.isEnabled()


def test_a_bad_upstream_address_is_reported_in_the_view(make_window, qtbot, loop):
    w = make_window()
    view = w.open_guard()
    start(view, loop, upstream="ftp://example.com")
    assert not view.running and not view.error.isHidden()
    assert "ws(s)://" in view.error.text() and "ftp://example.com" in view.error.text()
    assert "--upstream" not in view.error.text()


def test_closing_the_window_stops_guard(make_window, qtbot, loop):
    w = make_window()
    view = w.open_guard()
    start(view, loop, mode=2)
    assert (view.guard.mode, view.guard.hold_audio) == ("repair", False)
    assert "(repair, append-only)" in view.state.text()
    port = view.guard.port
    assert port_open(port)
    w.close()
    assert not port_open(port)


def test_the_guard_action_is_in_the_tools_menu_with_its_shortcut(make_window, qtbot, loop):
    w = make_window()
    menus = {a.text().replace("&", ""): a.menu() for a in w.menuBar().actions()}
    [action] = [a for a in menus["Tools"].actions() if a.text().replace("&", "") == "Guard…"]
    assert action.shortcut().toString() == "Ctrl+G"
    action.trigger()
    assert w.guard_view.isVisible()


def test_verdict_rows_recolour_when_light_and_dark_switch(app_state, make_window, qtbot, loop):
    import numpy as np

    from app.guard import GuardResponse
    from app.ui import theme

    w = make_window()
    view = w.open_guard()
    w.appearance.set_choice("light")
    for status in ("mismatch", "match"):
        view.add_response(GuardResponse("s1", status, "observe", "Hola.", "Hello.", "pcm16", None,
                                        np.zeros(10, np.float32), 24000, status=status))
    colour = [item.foreground(1).color().name() for item in view.responses()]
    assert colour == [theme.LIGHT.flag_text, theme.LIGHT.ok]
    w.appearance.set_choice("dark")
    colour = [item.foreground(1).color().name() for item in view.responses()]
    assert colour == [theme.DARK.flag_text, theme.DARK.ok]
    assert theme.DARK.flag_text != theme.LIGHT.flag_text


def test_the_guard_view_says_what_guard_is_and_shows_its_snippets_whole(make_window, qtbot, loop):
    w = make_window()
    view = w.open_guard()
    start(view, loop)
    qtbot.wait(50)
    assert view.intro.isVisible() and "between your own Realtime app" in view.intro.text()
    box = view.snippets
    assert view.guard.url in box.toPlainText()
    assert box.horizontalScrollBar().maximum() == 0, "a snippet is cut off at the right"
    assert box.verticalScrollBar().maximum() == 0, "a snippet line is hidden below"
    view.shutdown()
