from PySide6.QtCore import Qt

from app.history import HistoryStore
from app.ui.history_panel import HistoryPanel

from .test_store import utterance


def test_panel_lists_filters_selects_and_undoes_a_delete(qtbot, tmp_path):
    store = HistoryStore(tmp_path)
    a = utterance("Where is the station?", "¿Dónde está la estación?")
    b = utterance("Thank you very much.", "Muchas gracias.")
    store.save(a)
    store.save(b)
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    assert panel.ids() == [b.id, a.id]
    with qtbot.waitSignal(panel.utterance_selected) as sel:
        panel.list.setCurrentRow(1)
    assert sel.args == [a.id]
    with qtbot.waitSignal(panel.replay_requested) as rep:
        qtbot.keyClick(panel, Qt.Key.Key_Return)
    assert rep.args == [a.id]
    panel.search.setText("gracias")
    qtbot.waitUntil(lambda: panel.ids() == [b.id], timeout=2000)
    panel.search.clear()
    qtbot.waitUntil(lambda: len(panel.ids()) == 2, timeout=2000)
    panel.select(a.id)
    qtbot.keyClick(panel, Qt.Key.Key_Delete)
    assert panel.ids() == [b.id] and panel.undo_bar.isVisibleTo(panel)
    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    assert set(panel.ids()) == {a.id, b.id} and panel.current_id() == a.id


def test_panel_exports_the_selected_entry(qtbot, tmp_path):
    store = HistoryStore(tmp_path / "h")
    u = utterance()
    store.save(u)
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    out = panel.export_dialog(u.id, path=str(tmp_path / "mine.vtt"))
    assert out and (tmp_path / "mine.vtt").read_text().startswith("WEBVTT")


def test_panel_on_a_read_only_history_says_so_and_a_delete_is_refused_not_crashing(qtbot, tmp_path):
    store = HistoryStore(tmp_path)
    u = utterance()
    store.save(u)
    store.close()
    ro = HistoryStore(tmp_path, read_only=True)
    panel = HistoryPanel(ro)
    qtbot.addWidget(panel)
    assert panel.notice.isVisibleTo(panel) and "read-only" in panel.notice.text()
    panel.select(u.id)
    qtbot.keyClick(panel, Qt.Key.Key_Delete)
    assert panel.ids() == [u.id] and not panel.undo_bar.isVisibleTo(panel)
    assert "read-only" in panel.notice.text() and "delete" in panel.notice.text()
