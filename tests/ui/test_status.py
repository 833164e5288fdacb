"""One status vocabulary: Utterance.status is a Status, and one table says how each reads
in the badge, the history list and the flags; the player says whether its clock runs."""

import numpy as np

from app.audio.player import ManualSink, Player
from app.core.utterance import Status, Utterance
from app.ui import theme
from app.ui.history_panel import HistoryPanel


def test_every_status_has_a_glyph_badge_and_history_word():
    for status in Status:
        look = theme.look(status)
        assert look.glyph and look.badge and look.label and look.style, status
    for phase in ("connecting", "repairing", "stopped"):
        assert theme.look(phase).glyph and theme.look(phase).badge
    for seg in ("truncated", "drifted", "misspoken"):
        assert theme.look(seg).glyph and theme.look(seg).label


def test_utterance_status_is_the_enum_and_still_reads_as_its_word():
    u = Utterance(input_text="x", source_language="en", target_language="en")
    assert u.status is Status.STREAMING and u.status == "streaming" and f"{u.status}" == "streaming"
    u.state = "complete"
    assert u.status is Status.VERIFYING
    u.meta["unverified"] = "stopped"
    assert u.status is Status.UNVERIFIED
    u.state = "failed"
    assert u.status is Status.FAILED


def test_history_rows_use_the_table(qtbot, tmp_path):
    from app.history import HistoryStore

    store = HistoryStore(tmp_path / "h")
    u = Utterance(input_text="Hola.", source_language="es", target_language="en", transcript="Hello.",
                  state="complete", meta={"unverified": "stopped"})
    store.save(u)
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    row = panel.list.item(0).text()
    assert row.startswith(theme.look(Status.UNVERIFIED).glyph) and "· not verified ·" in row
    store.close()


def test_player_is_active_while_playing_or_buffering_only():
    sink = ManualSink()
    p = Player(sink)
    assert not p.is_active
    p.load(np.zeros(2400, np.int16), 24000, streaming=True)
    p.play()
    assert p.is_active and p.state in ("playing", "buffering")
    p.pause()
    assert not p.is_active and p.state == "paused"


def test_the_result_pane_restyles_in_the_colours_in_use(qtbot):
    from app.ui.result_pane import ResultPane

    pane = ResultPane()
    qtbot.addWidget(pane)
    pane.set_badge("stopped", "Stopped")
    assert theme.LIGHT.warn in pane.badge.styleSheet()
    try:
        theme.set_colors(theme.DARK)            # what a switch to the dark palette does
        pane.restyle()
        assert theme.DARK.warn in pane.badge.styleSheet() and theme.DARK.flag_text in pane.legend.text()
    finally:
        theme.set_colors(theme.LIGHT)
